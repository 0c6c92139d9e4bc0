/*
 * fuzz_quote.c - libFuzzer target for lib/quote.h: the input, up to its first NUL, is a name; each
 * quoting function's output must decode back to the name's text with nothing left that its target
 * would read as markup or code (tests/unit/quote_decode.h). That the real gnuplot and pdflatex run
 * nothing is checked by tests/unit/test_quote.c and t55, which can see marker files; a fuzz target
 * cannot watch the processes an interpreter starts. Not part of the CMake build; tests/fuzz/build.sh
 * compiles it with clang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "tests/unit/quote_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	enum target t;

	memcpy(s, data, size);
	s[size] = '\0';
	for (t = 0; t < NR_TARGETS; t++) {
		struct strbuf q = STRBUF_INIT;
		int rc = quote_check(t, s, &q);
		if (rc) {
			fprintf(stderr, "%s: %s\n", target_name[t],
				rc == -1 ? "markup left" : "text changed");
			abort();
		}
		strbuf_release(&q);
	}
	free(s);
	return 0;
}
