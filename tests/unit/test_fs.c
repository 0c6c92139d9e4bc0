/*
 * test_fs.c - lib/fs.h's read_file: the whole file with its NUL bytes, appended to what the buffer
 * holds; a file over the cap refused before it is read past the cap (an endless /dev/zero too); a
 * missing file and a folder refused; every error naming the file, with errno saying which it was and
 * the buffer as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strbuf.h"
#include "tests/tap.h"

static char dir[64];

/* read_file(path, max) appended to "old:", with the error it said into *msg and its errno. */
static int try_read(const char *path, size_t max, struct strbuf *out, struct strbuf *msg, int *err)
{
	int ret;

	strbuf_reset(out);
	strbuf_addstr(out, "old:");
	strbuf_reset(msg);
	error_capture(msg);
	errno = 0;
	ret = read_file(path, max, out);
	*err = errno;
	error_capture(NULL);
	if (msg->len && msg->buf[msg->len - 1] == '\n') /* one TAP line per test */
		msg->buf[--msg->len] = '\0';
	return ret;
}

int main(void)
{
	static const char bytes[] = "a\0b\nc"; /* 5 bytes, one of them NUL */
	struct strbuf out = STRBUF_INIT, msg = STRBUF_INIT, path = STRBUF_INIT;
	int err, ret;

	snprintf(dir, sizeof(dir), "/tmp/camlab-test-fs-XXXXXX");
	if (!mkdtemp(dir))
		skip_all("cannot make a temporary folder");
	strbuf_addf(&path, "%s/five", dir);
	if (write_file(path.buf, bytes, 5) < 0)
		skip_all("cannot write a temporary file");

	ret = try_read(path.buf, 0, &out, &msg, &err);
	ok(ret == 0 && out.len == 9 && !memcmp(out.buf, "old:a\0b\nc", 10),
	   "the whole file, NULs and all, after what the buffer held, NUL-terminated (no cap)");
	ret = try_read(path.buf, 5, &out, &msg, &err);
	ok(ret == 0 && out.len == 9, "a file of exactly the cap is read");
	ret = try_read(path.buf, 4, &out, &msg, &err);
	ok(ret < 0 && err == EFBIG && out.len == 4 &&
		   !strcmp(out.buf, "old:") && strstr(msg.buf, path.buf) && strstr(msg.buf, "larger than 4 bytes"),
	   "a file over the cap: EFBIG, the buffer as it was, an error naming the file (%s)", msg.buf);
	ret = try_read("/dev/zero", 100000, &out, &msg, &err);
	ok(ret < 0 && err == EFBIG && out.len == 4 &&
		   out.alloc < 200000,
	   "an endless file is refused at the cap, without reading on");
	ret = try_read("/nonexistent/camlab-spec.yaml", 0, &out, &msg, &err);
	ok(ret < 0 && err == ENOENT &&
		   !strcmp(out.buf, "old:") && strstr(msg.buf, "'/nonexistent/camlab-spec.yaml'"),
	   "a missing file: ENOENT and an error naming it (%s)", msg.buf);
	ret = try_read(dir, 0, &out, &msg, &err);
	ok(ret < 0 && err == EISDIR && !strcmp(out.buf, "old:") &&
		   strstr(msg.buf, dir) && strstr(msg.buf, "folder"),
	   "a folder: EISDIR and an error naming it (%s)", msg.buf);

	unlink(path.buf);
	rmdir(dir);
	strbuf_release(&out);
	strbuf_release(&msg);
	strbuf_release(&path);
	return done_testing();
}
