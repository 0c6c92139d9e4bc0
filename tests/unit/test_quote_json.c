/*
 * test_quote_json.c - quote_json and quote_yaml (lib/quote.h) on hostile and random strings: JSON read
 * back by a decoder of RFC 8259's string rules, YAML read back by libyaml itself, which camlab's specs
 * are read with (camlab init writes names read from a model file into a spec).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/quote.h"
#include "lib/strbuf.h"
#include "tests/tap.h"

static void put_utf8(struct strbuf *sb, unsigned long cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (int)(0xc0 | cp >> 6));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (int)(0xe0 | cp >> 12));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (int)(0xf0 | cp >> 18));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

/* A JSON string literal (RFC 8259) back to its UTF-8 text: 0, or -1 if it is not one. */
static int json_decode(const char *s, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p++ != '"')
		return -1;
	for (; *p != '"'; p++) {
		if (!*p || *p < 0x20)
			return -1; /* unterminated, or a raw control character */
		if (*p != '\\') {
			strbuf_addch(out, *p);
			continue;
		}
		switch (*++p) {
		case '"':
		case '\\':
		case '/':
			strbuf_addch(out, *p);
			break;
		case 'n':
			strbuf_addch(out, '\n');
			break;
		case 'r':
			strbuf_addch(out, '\r');
			break;
		case 't':
			strbuf_addch(out, '\t');
			break;
		case 'b':
			strbuf_addch(out, '\b');
			break;
		case 'f':
			strbuf_addch(out, '\f');
			break;
		case 'u': {
			char hex[5] = { 0 };
			unsigned long cp;
			memcpy(hex, p + 1, 4);
			if (strspn(hex, "0123456789abcdefABCDEF") != 4)
				return -1;
			cp = strtoul(hex, NULL, 16);
			if (cp >= 0xd800 && cp <= 0xdfff)
				return -1; /* quote_json never needs surrogates: it writes UTF-8 */
			put_utf8(out, cp);
			p += 4;
			break;
		}
		default:
			return -1;
		}
	}
	return p[1] ? -1 : 0;
}

/* s with every byte that is not part of valid UTF-8 replaced by U+FFFD: what JSON can carry of s */
static void utf8_clean(const char *s, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = 0, i;
		unsigned long cp = 0;
		if (*p < 0x80)
			n = 1, cp = *p;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 2, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 3, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 4, cp = *p & 0x07;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (n == 3 && cp < 0x800)
			n = 0;
		if (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
			n = 0;
		if (cp >= 0xd800 && cp <= 0xdfff)
			n = 0;
		if (!n) {
			strbuf_addstr(out, "\xef\xbf\xbd");
			p++;
		} else {
			strbuf_add(out, p, (size_t)n);
			p += n;
		}
	}
}

/* "k: QUOTED\n" read by libyaml: the scalar's value into out, 0, or -1 if libyaml refuses it. */
static int yaml_read(const char *quoted, struct strbuf *out)
{
	struct strbuf doc = STRBUF_INIT;
	yaml_parser_t parser;
	yaml_event_t ev;
	int scalars = 0, ret = -1;

	strbuf_addf(&doc, "k: %s  # a comment\n", quoted);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)doc.buf, doc.len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev))
			break;
		if (ev.type == YAML_SCALAR_EVENT && scalars++ == 1)
			strbuf_add(out, ev.data.scalar.value, ev.data.scalar.length);
		if (ev.type == YAML_STREAM_END_EVENT) {
			ret = scalars == 2 ? 0 : -1;
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	strbuf_release(&doc);
	return ret;
}

static const char *const hostile[] = {
	"plain",
	"",
	"a\"b\\c",
	"line\nbreak\r\ttab",
	"\x01\x1f\x7f ctrl",
	"</script><b>&amp;",
	"caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80",
	"\xe2\x80\xa8sep\xe2\x80\xa9para\xc2\x85nel",
	"\xc2\x80\xc2\x9f c1 \xef\xbb\xbf bom",
	"bad \xff\xfe utf8 \xc0\xaf overlong \xed\xa0\x80 surrogate \xe2\x82",
	"# not a comment: 'quotes' and \"doubles\" {a: [b]} *alias &anchor !tag %dir @x `y`",
	"\\u0041 \\n not escapes",
};

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static unsigned next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32);
}

static int valid_utf8(const char *s)
{
	struct strbuf c = STRBUF_INIT;
	int same;
	utf8_clean(s, &c);
	same = !strcmp(c.buf, s);
	strbuf_release(&c);
	return same;
}

int main(void)
{
	struct strbuf q = STRBUF_INIT, back = STRBUF_INIT, want = STRBUF_INIT;
	size_t i;
	int j, bad_json = 0, bad_yaml = 0, yaml_read_ok = 0;

	strbuf_reset(&q);
	quote_json(&q, "a\"b\\c\nd\x01");
	ok(!strcmp(q.buf, "\"a\\\"b\\\\c\\nd\\u0001\""),
	   "quote_json escapes quote, backslash, newline, control: %s", q.buf);
	strbuf_reset(&q);
	quote_json(&q, "x\xffy");
	ok(!strcmp(q.buf, "\"x\\ufffdy\""), "quote_json writes an invalid byte as U+FFFD: %s", q.buf);
	strbuf_reset(&q);
	quote_yaml(&q, "a\"b\\c\nd");
	ok(!strcmp(q.buf, "\"a\\\"b\\\\c\\nd\""), "quote_yaml escapes quote, backslash, newline: %s", q.buf);

	for (i = 0; i < sizeof(hostile) / sizeof(*hostile); i++) {
		const char *s = hostile[i];
		strbuf_reset(&q);
		strbuf_reset(&back);
		strbuf_reset(&want);
		quote_json(&q, s);
		utf8_clean(s, &want);
		ok(json_decode(q.buf, &back) == 0 && !strcmp(back.buf, want.buf) && !strchr(q.buf, '\n'),
		   "JSON reads back hostile name %zu: %s", i, q.buf);
		strbuf_reset(&q);
		strbuf_reset(&back);
		quote_yaml(&q, s);
		if (valid_utf8(s))
			ok(yaml_read(q.buf, &back) == 0 && back.len == strlen(s) &&
				   !memcmp(back.buf, s, back.len) && !strchr(q.buf, '\n'),
			   "libyaml reads back hostile name %zu: %s", i, q.buf);
		else
			ok(yaml_read(q.buf, &back) == 0 && !strchr(q.buf, '\n'),
			   "libyaml reads the non-UTF-8 hostile name %zu as one scalar: %s", i, q.buf);
	}

	/* random strings, biased toward what needs quoting */
	for (j = 0; j < 3000; j++) {
		char s[24];
		int n = (int)(next() % 23), k;
		for (k = 0; k < n; k++) {
			static const char special[] = "\"\\\n\r\t\x01\x7f'#:{}[]&*!|>%@` ";
			unsigned r = next() % 4;
			if (r == 0)
				s[k] = special[next() % (sizeof(special) - 1)];
			else if (r == 1)
				s[k] = (char)(0x80 + next() % 128);
			else
				s[k] = (char)(0x20 + next() % 95);
		}
		s[n] = 0;
		strbuf_reset(&q);
		strbuf_reset(&back);
		strbuf_reset(&want);
		quote_json(&q, s);
		utf8_clean(s, &want);
		if (json_decode(q.buf, &back) < 0 || strcmp(back.buf, want.buf))
			bad_json++;
		strbuf_reset(&q);
		strbuf_reset(&back);
		quote_yaml(&q, s);
		if (yaml_read(q.buf, &back) < 0)
			bad_yaml++;
		else if (valid_utf8(s) && (back.len != (size_t)n || memcmp(back.buf, s, back.len)))
			bad_yaml++;
		else
			yaml_read_ok++;
	}
	ok(!bad_json, "3000 random strings: JSON reads each back (%d not)", bad_json);
	ok(!bad_yaml && yaml_read_ok == 3000,
	   "3000 random strings: libyaml reads each as one scalar, the text back where it is UTF-8 (%d not)",
	   bad_yaml);

	strbuf_release(&q);
	strbuf_release(&back);
	strbuf_release(&want);
	return done_testing();
}
