/*
 * mutate.h - seeded random edits of a buffer, for the tests that feed camlab's readers broken input
 * (test_yaml_mutate: specs; test_readers: images, datasets, model metadata). A few edits each, so that
 * most mutants are nearly valid and reach deep into a parser; the seed repeats a failure. Header-only,
 * as tap.h: each test is its own program.
 */
#ifndef TESTS_MUTATE_H
#define TESTS_MUTATE_H

#include <string.h>

#include "lib/strbuf.h"

static unsigned long long mutate_rng = 42;

/* The next number of a 64-bit LCG (its upper bits), reproducible from mutate_rng on every machine. */
static unsigned mutate_next(void)
{
	mutate_rng = mutate_rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(mutate_rng >> 33);
}

enum mutate_kind {
	MUTATE_TEXT,  /* tokens replaced or inserted, runs deleted, lines repeated */
	MUTATE_BINARY /* also random bytes and flipped bits, and runs copied elsewhere: headers break */
};

enum mutate_op { OP_SET, OP_DELETE, OP_INSERT, OP_LINE, OP_FLIP, OP_COPY };

/* 1 to 4 edits of sb; tokens (n of them) are what replaced and inserted bytes are drawn from. */
static void mutate(struct strbuf *sb, const char *tokens, size_t n, enum mutate_kind kind)
{
	static const enum mutate_op text[] = { OP_SET, OP_DELETE, OP_INSERT, OP_LINE };
	static const enum mutate_op binary[] = { OP_SET, OP_FLIP, OP_DELETE, OP_INSERT, OP_COPY };
	int k, edits = 1 + (int)(mutate_next() % 4);

	for (k = 0; k < edits; k++) {
		size_t at = sb->len ? mutate_next() % sb->len : 0, len, s, e;
		struct strbuf t = STRBUF_INIT;
		enum mutate_op op = kind == MUTATE_TEXT ? text[mutate_next() % 4] : binary[mutate_next() % 5];

		switch (op) {
		case OP_SET:
			if (sb->len)
				sb->buf[at] = kind == MUTATE_BINARY && mutate_next() % 2
						      ? (char)mutate_next()
						      : tokens[mutate_next() % n];
			break;
		case OP_FLIP:
			if (sb->len)
				sb->buf[at] ^= (char)(1 << (mutate_next() % 8));
			break;
		case OP_DELETE:
			len = 1 + mutate_next() % 8;
			if (at + len > sb->len)
				len = sb->len - at;
			memmove(sb->buf + at, sb->buf + at + len, sb->len - at - len);
			sb->len -= len;
			sb->buf[sb->len] = '\0';
			break;
		case OP_INSERT:
			strbuf_add(&t, sb->buf, at);
			strbuf_addch(&t, tokens[mutate_next() % n]);
			strbuf_add(&t, sb->buf + at, sb->len - at);
			break;
		case OP_LINE: /* the line at `at` repeated after itself */
			for (s = at; s && sb->buf[s - 1] != '\n'; s--)
				;
			for (e = at; e < sb->len && sb->buf[e] != '\n'; e++)
				;
			strbuf_add(&t, sb->buf, e);
			strbuf_addch(&t, '\n');
			strbuf_add(&t, sb->buf + s, sb->len - s);
			break;
		case OP_COPY: /* a run copied to a random place */
			len = 1 + mutate_next() % 16;
			if (at + len > sb->len)
				len = sb->len - at;
			strbuf_add(&t, sb->buf, sb->len ? mutate_next() % sb->len : 0);
			strbuf_add(&t, sb->buf + at, len);
			strbuf_add(&t, sb->buf + t.len - len, sb->len - (t.len - len));
			break;
		}
		if (t.alloc) { /* the edit built a new buffer */
			strbuf_release(sb);
			*sb = t;
		}
	}
}

#endif
