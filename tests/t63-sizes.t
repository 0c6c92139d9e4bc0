#!/bin/sh
# t63-sizes.t - keeps camlab's code in pieces a reader can hold: no C file above 900 lines and no function
# above 120 (from its opening brace at the start of a line to its closing one), so that a module grown
# too big is split by concern and a long function into named steps. The libtorch shim (cam/torch_shim.cpp,
# one file by design: the only C++) and tests/ are not held to it. Each offender is named.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

MAX_LINES=900
MAX_FUNCTION=120

# Files over a limit, not yet split: skipped, with the reason. To be removed when split (the test says
# so of a file listed here that no longer needs it).
ALLOW="
"

# sizes FILE...: a line per offence, "FILE: N lines" or "FILE:LINE: NAME() is N lines". A function is
# what lies between a "{" and a "}" at the start of a line (the project's style for function bodies);
# its name is the identifier before the first "(" of the last line above the "{" that starts with a
# letter (the first line of a signature split over several).
sizes() {
	awk -v max_lines="$MAX_LINES" -v max_fn="$MAX_FUNCTION" '
	FNR == 1 { if (prev_file != "" && last > max_lines) print prev_file ": " last " lines"
		   prev_file = FILENAME; sig = ""; start = 0 }
	{ last = FNR }
	/^\{/ && !start { start = FNR; name = sig; next }
	/^\}/ && start {
		n = FNR - start + 1
		if (n > max_fn) {
			if (match(name, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/))
				name = substr(name, RSTART, RLENGTH - 1)
			sub(/[ \t]+$/, "", name)
			print FILENAME ":" start ": " name "() is " n " lines"
		}
		start = 0
		next
	}
	/^[A-Za-z_]/ && !start { sig = $0 }
	END { if (prev_file != "" && last > max_lines) print prev_file ": " last " lines" }
	' "$@"
}

allowed() {
	printf '%s\n' "$ALLOW" | awk -v f="$1" '$1 == f { found = 1 } END { exit !found }'
}

# The checker itself must see an offence: a file one line too long, a function one line too long.
awk 'BEGIN { for (i = 0; i < 901; i++) print "/* filler */" }' >"$TMP/long.c"
{
	echo "static int"
	echo "too_long(int x)"
	echo "{"
	awk 'BEGIN { for (i = 0; i < 119; i++) print "\tx++;" }'
	echo "}"
	echo "int fine(void)"
	echo "{"
	echo "	return 0;"
	echo "}"
} >"$TMP/fn.c"
sizes "$TMP/long.c" "$TMP/fn.c" >"$TMP/self" 2>&1
test_expect_success 'the check names a file above the limit' "test_grep '^$TMP/long.c: 901 lines\$' '$TMP/self'"
test_expect_success 'the check names a function above the limit, by name' \
	"test_grep '^$TMP/fn.c:3: too_long\\(\\) is 121 lines\$' '$TMP/self' && ! grep -q fine '$TMP/self'"

files=$(find lib cam dsl interp store reports tools bench stdlib -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) \
	! -path cam/torch_shim.cpp 2>/dev/null | LC_ALL=C sort)
: >"$TMP/offences"
for f in $files; do
	if allowed "$f"; then
		if [ -n "$(sizes "$f")" ]; then
			test_skip "$f within the limits" "$(printf '%s\n' "$ALLOW" | awk -v f="$f" '$1 == f { $1 = ""; print substr($0, 2) }')"
		else
			echo "# $f is within the limits now: remove it from the allow-list of $0"
		fi
		continue
	fi
	sizes "$f" >>"$TMP/offences"
done
test_expect_success "no C file above $MAX_LINES lines, no function above $MAX_FUNCTION (but the allow-list)" \
	"[ ! -s '$TMP/offences' ] || { cat '$TMP/offences'; false; }"
test_done
