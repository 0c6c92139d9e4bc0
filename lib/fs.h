/*
 * fs.h - small file-system helpers the commands share.
 */
#ifndef LIB_FS_H
#define LIB_FS_H

#include <stddef.h>

struct strbuf;

/* Create dir and every missing parent, like mkdir -p. 0, or -1 after an error naming the folder. */
int mkdir_p(const char *dir);

/* Write len bytes of buf to path, replacing it. 0, or -1 after an error naming the file and why. */
int write_file(const char *path, const void *buf, size_t len);

/*
 * Append the whole of the file at path to out (out->len grows by its size; the bytes may hold NULs, and
 * out stays NUL-terminated), refusing a file of more than max bytes (0: no cap) before reading past it,
 * so that a hostile or mistaken path (a device, a huge file) costs at most max + 1 bytes of memory.
 * Returns 0, or -1 after an error naming the file and why, with out as it was and errno saying what
 * failed, for callers that word their own message (quiet error() first): the system's errno when the
 * file cannot be opened or read, EISDIR for a folder, EFBIG for a file over max.
 */
int read_file(const char *path, size_t max, struct strbuf *out);

/* The running executable's absolute path (the caller frees it), or NULL if the system cannot say. */
char *self_path(void);

#endif
