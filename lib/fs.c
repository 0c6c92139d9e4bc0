/*
 * fs.c - file-system helpers (see fs.h).
 */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "strbuf.h"

int mkdir_p(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = dir;
	int ret = 0;

	while (1) {
		p = strchr(p + 1, '/');
		strbuf_reset(&sb);
		if (p)
			strbuf_add(&sb, dir, (size_t)(p - dir));
		else
			strbuf_addstr(&sb, dir);
		if (sb.len && mkdir(sb.buf, 0777) < 0 && errno != EEXIST) {
			ret = error("cannot create '%s': %s", sb.buf, strerror(errno));
			break;
		}
		if (!p)
			break;
	}
	strbuf_release(&sb);
	return ret;
}

int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return error("cannot write '%s': %s", path, strerror(errno));
	ok = fwrite(buf, 1, len, f) == len;
	if (fclose(f) || !ok)
		return error("cannot write '%s': %s", path, strerror(errno));
	return 0;
}

char *self_path(void)
{
	return realpath("/proc/self/exe", NULL);
}
