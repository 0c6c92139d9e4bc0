/*
 * fs.h - small file-system helpers the commands share.
 */
#ifndef LIB_FS_H
#define LIB_FS_H

#include <stddef.h>

/* Create dir and every missing parent, like mkdir -p. 0, or -1 after an error naming the folder. */
int mkdir_p(const char *dir);

/* Write len bytes of buf to path, replacing it. 0, or -1 after an error naming the file and why. */
int write_file(const char *path, const void *buf, size_t len);

/* The running executable's absolute path (the caller frees it), or NULL if the system cannot say. */
char *self_path(void);

#endif
