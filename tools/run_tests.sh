#!/bin/sh
# run_tests.sh - runs camlab's TAP tests (tests/t*.t), with prove where it is installed, else on its own,
# for machines without prove (a borrowed GPU machine, say):
#
#   tools/run_tests.sh [TEST.t ...]          default: every tests/t*.t, in order
#   CAMLAB_BUILD=build-gpu CAMLAB_PYTHON=python3 JOBS=8 tools/run_tests.sh tests/t47-gpu.t tests/t2*.t
#
# Test files are named relative to the current folder or to the repository root. Every file runs under
# `timeout $TEST_TIMEOUT` (300 seconds). Without prove (or with PROVE=no), JOBS files run at once
# (default 2); each file's line is printed as it ends:
#   t30: ok 14/14             t47: skipped (no CUDA device ...)           FAILED t21: 2 of 9 failed
# then the failing tests' lines with their diagnostics, and a total. TEST_LOGS=DIR keeps each file's
# whole output in DIR/<file>.log. The exit status is non-zero when anything failed.
# CAMLAB_BUILD, CAMLAB_PYTHON and the tests' other knobs (tests/lib.sh, tests/t47-gpu.t) pass through.

# --one FILE LOGDIR: run one test file, write LOGDIR/NAME.log and LOGDIR/NAME.res, print its line.
if [ "$1" = --one ]; then
	f=$2 logs=$3
	name=$(basename "$f" .t)
	short=${name%%-*}
	log=$logs/$name.log
	if command -v timeout >/dev/null 2>&1; then
		timeout "${TEST_TIMEOUT:-300}" sh "$f" >"$log" 2>&1 </dev/null
	else
		sh "$f" >"$log" 2>&1 </dev/null
	fi
	rc=$?
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	nok=$(grep -c '^ok ' "$log")
	nnot=$(grep -c '^not ok' "$log")
	nskip=$(grep -c '^ok [0-9]* # SKIP' "$log")
	if [ "$plan" = 0 ] && [ $rc -eq 0 ] && [ $nnot -eq 0 ]; then
		why=$(sed -n 's/^1\.\.0 # SKIP *//p' "$log" | head -n 1)
		line="$short: skipped (${why:-no reason given})"
		res=skip
	elif [ $rc -eq 0 ] && [ $nnot -eq 0 ] && [ -n "$plan" ] && [ "$nok" -eq "$plan" ]; then
		line="$short: ok $nok/$plan"
		[ "$nskip" -gt 0 ] && line="$line ($nskip skipped)"
		res=ok
	else
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			why="timed out after ${TEST_TIMEOUT:-300} s"
		elif [ $nnot -gt 0 ]; then
			why="$nnot of $((nok + nnot)) failed"
		elif [ -z "$plan" ]; then
			why="no plan (it stopped early?)"
		elif [ "$nok" -ne "$plan" ]; then
			why="planned $plan, $nok ran"
		else
			why="exit status $rc"
		fi
		[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && why="$why, exit status $rc"
		line="FAILED $short: $why"
		res=fail
	fi
	echo "$res" >"$logs/$name.res"
	echo "$line"
	exit 0
fi

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
# Files named from here keep working after the cd to the root.
n=$#
for f in "$@"; do
	if [ -f "$f" ]; then
		case $f in /*) ;; *) [ "$PWD" = "$root" ] || f=$PWD/$f ;; esac
	elif [ ! -f "$root/$f" ]; then
		echo "run_tests.sh: no test file '$f'" >&2
		exit 2
	fi
	set -- "$@" "$f"
done
shift $n
cd "$root" || exit 2
BUILD=${CAMLAB_BUILD:-build}
[ $# -gt 0 ] || set -- tests/t*.t
if [ -x "$BUILD/camlab" ]; then
	"$BUILD/camlab" version | sed 's/^/# /'
else
	echo "# warning: $BUILD/camlab is not built (CAMLAB_BUILD=$BUILD): most tests will skip"
fi
echo "# python: ${CAMLAB_PYTHON:-/usr/bin/python3}; $# test file(s)"
JOBS=${JOBS:-2}

if [ "${PROVE:-yes}" != no ] && command -v prove >/dev/null 2>&1; then
	# --exec: each file through sh under a timeout; --failures --comments: the failing tests' lines
	# and every diagnostic.
	if command -v timeout >/dev/null 2>&1; then
		exec prove -j"$JOBS" --failures --comments --exec "timeout ${TEST_TIMEOUT:-300} sh" "$@"
	fi
	exec prove -j"$JOBS" --failures --comments --exec sh "$@"
fi

if [ -n "$TEST_LOGS" ]; then
	logs=$TEST_LOGS
	mkdir -p "$logs" || exit 2
else
	logs=$(mktemp -d) || exit 2
	trap 'rm -rf "$logs"' EXIT
fi
start=$(date +%s)
printf '%s\n' "$@" | xargs -P "$JOBS" -I{} sh "$self" --one {} "$logs"

nfail=0 nok=0 nskip=0
for f in "$@"; do
	name=$(basename "$f" .t)
	res=$(cat "$logs/$name.res" 2>/dev/null)
	case $res in
	ok) nok=$((nok + 1)) ;;
	skip) nskip=$((nskip + 1)) ;;
	*)
		nfail=$((nfail + 1))
		echo
		echo "=== $f"
		if grep -q '^not ok' "$logs/$name.log"; then
			# the failing tests and the diagnostic lines after each
			awk '/^not ok/ { show = 1; print; next } /^ok / || /^1\.\./ { show = 0; next } show' "$logs/$name.log"
		else
			tail -n 20 "$logs/$name.log"
		fi
		;;
	esac
done
echo
echo "$# file(s) in $(($(date +%s) - start)) s: $nok passed, $nskip skipped, $nfail failed"
[ -n "$TEST_LOGS" ] && echo "logs in $TEST_LOGS"
[ $nfail -eq 0 ]
