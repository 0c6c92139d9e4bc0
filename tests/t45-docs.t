#!/bin/sh
# t45-docs.t - every example in the documentation runs: the shell commands of docs/tutorial.md in order
# (in a copy of experiments/, with --limit 2 added to `camlab run`), its YAML spec, the complete
# example of docs/language.md, and `camlab help` shows the documents.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

mkdir -p $TMP/repo && cp -r experiments docs $TMP/repo/ && ln -s "$SHARED" $TMP/shared
mkdir -p $TMP/bin && ln -s "$CAMLAB" $TMP/bin/camlab

# blocks LANG FILE: print each ```LANG block of FILE, blocks separated by a line "@@@"
blocks() {
	awk -v lang="$1" '$0 == "```" lang { on = 1; next } /^```/ && on { on = 0; print "@@@"; next } on' "$2"
}

test_expect_success 'the tutorial has its examples' "
	blocks sh docs/tutorial.md >$TMP/cmds && blocks yaml docs/tutorial.md >$TMP/spec &&
	test \$(grep -c '^camlab ' $TMP/cmds) -ge 8 && test_grep '^name: my_study' $TMP/spec
"

test_expect_success 'the commands of the tutorial run in order' "
	sed '/^@@@\$/d' $TMP/spec >$TMP/repo/experiments/my_study.yaml &&
	cd $TMP/repo && export PATH=$TMP/bin:\$PATH &&
	grep -v '^@@@\$' $TMP/cmds | sed 's/^camlab run /camlab run --limit 2 /' >$TMP/script.all &&
	if [ -d $SHARED/models ]; then cp $TMP/script.all $TMP/script; else
		echo '# no ../shared: its commands are not run:' && grep 'experiments/shared/' $TMP/script.all &&
		grep -v 'experiments/shared/' $TMP/script.all >$TMP/script; fi &&
	while read -r line; do
		echo \"\$ \$line\"; sh -c \"\$line\" >$TMP/out 2>&1 || { cat $TMP/out; exit 1; }; tail -n 3 $TMP/out
	done <$TMP/script
"

test_expect_success 'the tutorial study ran its Lua method' "
	sqlite3 $TMP/repo/out/my_study/results.sqlite \"SELECT count(*) FROM runs WHERE method = 'positive_shapley'\" | test_grep '^2\$' /dev/stdin
"

test_expect_success 'the complete example of the language reference is a valid spec' "
	mkdir -p $TMP/lang && ln -s $PWD/experiments/models $TMP/lang/models &&
	blocks yaml docs/language.md | awk '/^@@@\$/ { exit } { print }' >$TMP/lang/example.yaml &&
	test_grep '^name: quickstart' $TMP/lang/example.yaml &&
	$CAMLAB check $TMP/lang/example.yaml
"

test_expect_success 'camlab help shows the documents and the lists' "
	$CAMLAB help tutorial | cmp - docs/tutorial.md &&
	$CAMLAB help language | cmp - docs/language.md &&
	$CAMLAB help methods | test_grep '^shapleycam +ShapleyCAM' /dev/stdin &&
	$CAMLAB help metrics | test_grep '^  adcc' /dev/stdin &&
	test_must_fail $CAMLAB help tutorail 2>$TMP/err && test_grep \"did you mean 'tutorial'\" $TMP/err
"

test_done
