# lib.sh - a small TAP library for camlab's shell tests, after git's t/test-lib.sh.
#
# Source it from a test script run in the repository root. It sets CAMLAB (the binary), SHARED, PY (the
# python the tests compare with: $CAMLAB_PYTHON, default /usr/bin/python3), TMP (removed at exit), and
# provides:
#   test_expect_success NAME 'commands'   ok if the commands succeed
#   test_skip NAME REASON                 a test that cannot run here, reported as skipped
#   test_ok STATUS NAME                   a test whose commands already ran: ok if STATUS is 0
#   test_fails_with NAME PATTERN CMD...   ok if CMD fails cleanly (status < 128), PATTERN in its stderr
#   test_must_fail CMD...                 succeeds if CMD exits non-zero without crashing (status < 128)
#   test_grep PATTERN FILE                grep -E with the file shown on failure
#   skip_all REASON                       the whole file cannot run here
#   need_built PROGRAM                    bail out (prove fails, stops) unless PROGRAM, a part of the build, is there
#   need_python MODULE...                 skip_all unless $PY imports every MODULE (none: just runs)
#   have_cuda                             true when camlab sees a CUDA device (`camlab version`)
#   test_done                             prints the plan; the exit status says whether all passed
BUILD=${CAMLAB_BUILD:-build}
CAMLAB=$PWD/$BUILD/camlab
SHARED=$PWD/../shared
PY=${CAMLAB_PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
test_count=0
test_failed=0

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

# A program of camlab's own build that is missing is no reason to skip: a skip reads as a pass, and a
# suite run before the build (or after a failed one) would pass with nothing tested. "Bail out!" makes
# prove fail and stop at once, with what to do. (Skips are for what the machine lacks: data, python, GPU.)
need_built() {
	[ -x "$1" ] && return 0
	echo "Bail out! ${1#"$PWD"/} is not built: run tools/setup (or cmake --build ${BUILD})"
	exit 1
}

need_built "$CAMLAB"

need_python() {
	command -v "$PY" >/dev/null 2>&1 || skip_all "no python at $PY (set CAMLAB_PYTHON)"
	[ $# -eq 0 ] && return 0
	mods=$(echo "$*" | tr ' ' ',')
	"$PY" -c "import $mods" 2>/dev/null || skip_all "$PY lacks one of: $* (set CAMLAB_PYTHON)"
}

# The number of CUDA devices camlab's libtorch sees, asked once ("cuda devices: N" in `camlab version`).
cuda_count=
have_cuda() {
	if [ -z "$cuda_count" ]; then
		cuda_count=$("$CAMLAB" version 2>/dev/null | sed -n 's/^cuda devices: *\([0-9][0-9]*\)$/\1/p')
		cuda_count=${cuda_count:-0}
	fi
	[ "$cuda_count" -gt 0 ]
}

test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TMP/.out" 2>&1; then
		echo "ok $test_count - $1"
	else
		echo "not ok $test_count - $1"
		# on stderr, which prove shows without -v: what CI prints of a failure is all that is kept of it
		sed 's/^/#   /' "$TMP/.out" | tail -n 25 >&2
		test_failed=$((test_failed + 1))
	fi
}

test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count # SKIP $1: $2"
}

test_ok() {
	test_count=$((test_count + 1))
	if [ "$1" = 0 ]; then
		echo "ok $test_count - $2"
	else
		echo "not ok $test_count - $2"
		test_failed=$((test_failed + 1))
	fi
}

test_fails_with() {
	name=$1 pat=$2
	shift 2
	"$@" >"$TMP/.fails.out" 2>"$TMP/.fails.err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$pat" "$TMP/.fails.err"; then
		test_ok 0 "$name"
	else
		test_ok 1 "$name"
		echo "#   status $rc, stderr: $(cat "$TMP/.fails.err")"
	fi
}

test_must_fail() {
	"$@"
	status=$?
	if [ $status -eq 0 ]; then
		echo "test_must_fail: command succeeded: $*"
		return 1
	elif [ $status -ge 128 ]; then
		echo "test_must_fail: command died with status $status: $*"
		return 1
	fi
	return 0
}

test_grep() {
	grep -E -- "$1" "$2" >/dev/null || {
		echo "no match for '$1' in $2:"
		cat "$2"
		return 1
	}
}

# The results in FILE, a Python check's TAP ("ok N - name", "not ok N - name", "1..N"; any other line
# is printed as it is), counted as this file's own tests, after the shell's.
test_relay() {
	sed "s/^ok [0-9]*/ok/; s/^not ok [0-9]*/not ok/; /^1\.\./d" "$1" >"$1.relay"
	while read -r line; do
		case $line in
		"ok "*) test_ok 0 "${line#ok - }" ;;
		"not ok "*) test_ok 1 "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$1.relay"
}

test_done() {
	echo "1..$test_count"
	[ $test_failed -eq 0 ]
}
