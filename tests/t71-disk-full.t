#!/bin/sh
# t71-disk-full.t - a results database that cannot take a batch (a full disk) stops the run at that
# batch: a non-zero exit naming the folder and how to resume, whole batches only in the database, and
# a resumed run, once there is space, ends with the CSV files of an uninterrupted run. Always with
# CAMLAB_TEST_DB_PAGES (SQLite's max_page_count, a real SQLITE_FULL); on a real full tmpfs where mount
# is allowed (root with CAP_SYS_ADMIN, as in CI).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

spec() { # spec NAME OUTPUT
	cat >"$TMP/$1.yaml" <<EOS
name: full
output: $2
batch: 5
models:
  - name: fashion
    file: $PWD/experiments/models/fashion_mnist_cnn.pt
    layers: {pre_gap: features.block5}
data: {path: $FM, limit: 60}
methods: [gradcam, xgradcam]
utilities: [rest]
metrics: [ad, com]
EOS
}
rows() { sqlite3 "$1/results.sqlite" 'SELECT count(*) FROM images' 2>/dev/null || echo 0; }
# whole batches of 5 images for each run, and no run done
whole_batches() {
	sqlite3 "$1/results.sqlite" "SELECT count(*) FROM runs WHERE state = 'done'
		OR (SELECT count(*) FROM images WHERE run_key = key) % 5 != 0" >$TMP/bad &&
	test "$(cat $TMP/bad)" -eq 0 &&
	test "$(sqlite3 "$1/results.sqlite" 'PRAGMA integrity_check')" = ok
}
same_csv() {
	cmp $TMP/clean/images.csv "$1/images.csv" && cmp $TMP/clean/aggregates.csv "$1/aggregates.csv"
}

spec clean "$TMP/clean"
test_expect_success 'an uninterrupted run' "
	$CAMLAB run --no-progress $TMP/clean.yaml 2>$TMP/clean.log &&
	test \$(rows $TMP/clean) -eq 120
"

spec pages "$TMP/pages"
test_expect_success 'a database full after a few pages stops the run at once, exit 1, saying how to resume' "
	CAMLAB_TEST_DB_PAGES=3 test_must_fail $CAMLAB run --no-progress $TMP/pages.yaml 2>$TMP/pages.log &&
	cat $TMP/pages.log &&
	test_grep 'database or disk is full' $TMP/pages.log &&
	test \$(grep -c 'database or disk is full' $TMP/pages.log) -eq 1 &&
	test_grep \"^error: stopped: '$TMP/pages/results.sqlite' cannot take more results\" $TMP/pages.log &&
	test_grep \"^hint: .*\\\`camlab run $TMP/pages.yaml\\\` resumes where it stopped\" $TMP/pages.log &&
	! test -e $TMP/pages/images.csv &&
	n=\$(rows $TMP/pages) && echo \"rows stored: \$n\" && test \$n -gt 0 && test \$n -lt 120 &&
	whole_batches $TMP/pages
"

test_expect_success 'with space again, the run resumes and ends with the uninterrupted run CSV files' "
	$CAMLAB run --no-progress $TMP/pages.yaml 2>$TMP/resume.log &&
	test \$(rows $TMP/pages) -eq 120 && same_csv $TMP/pages
"

# A real full disk: a small tmpfs, which fills in the middle of the run (the database grows to about
# 600 KiB with its log), made larger for the resumed run.
MNT=$TMP/mnt
mkdir -p $MNT
if mount -t tmpfs -o size=400k tmpfs $MNT 2>$TMP/mount.err; then
	trap 'umount $MNT 2>/dev/null; rm -rf "$TMP"' EXIT
	spec tmpfs "$MNT/out"
	test_expect_success 'a full tmpfs stops the run at the failed commit, exit 1, whole batches only' "
		test_must_fail $CAMLAB run --no-progress $TMP/tmpfs.yaml 2>$TMP/tmpfs.log &&
		cat $TMP/tmpfs.log &&
		test_grep 'database or disk is full' $TMP/tmpfs.log &&
		test_grep \"^error: stopped: '$MNT/out/results.sqlite' cannot take more results\" $TMP/tmpfs.log &&
		test \$(rows $MNT/out) -lt 120 &&
		whole_batches $MNT/out
	"
	test_expect_success 'with space again, it resumes and ends with the uninterrupted run CSV files' "
		mount -o remount,size=4m $MNT &&
		$CAMLAB run --no-progress $TMP/tmpfs.yaml 2>$TMP/resume2.log &&
		test \$(rows $MNT/out) -eq 120 && same_csv $MNT/out
	"
else
	test_skip 'a full tmpfs stops the run' "mount refused: $(head -n 1 $TMP/mount.err)"
	test_skip 'with space again, it resumes' "no tmpfs"
fi

test_done
