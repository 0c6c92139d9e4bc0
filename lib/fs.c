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

int read_file(const char *path, size_t max, struct strbuf *out)
{
	size_t old = out->len, got;
	char buf[8192];
	struct stat st;
	FILE *f = fopen(path, "rb");
	int err = 0;

	if (!f) {
		err = errno;
		error("cannot open '%s': %s", path, strerror(err));
		errno = err;
		return -1;
	}
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		fclose(f);
		error("cannot read '%s': it is a folder", path);
		errno = EISDIR;
		return -1;
	}
	errno = 0;
	while (!err && (got = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (max && out->len - old + got > max) {
			error("'%s' is larger than %zu bytes", path, max);
			err = EFBIG;
		} else {
			strbuf_add(out, buf, got);
		}
	}
	if (!err && ferror(f)) {
		err = errno ? errno : EIO;
		error("cannot read '%s': %s", path, strerror(err));
	}
	fclose(f);
	if (err) {
		out->len = old; /* the caller's bytes, as they were */
		out->buf[old] = '\0';
		errno = err;
		return -1;
	}
	return 0;
}

char *self_path(void)
{
	return realpath("/proc/self/exe", NULL);
}
