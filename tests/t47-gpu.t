#!/bin/sh
# t47-gpu.t - camlab on a CUDA device gives the CPU's numbers, to 1e-4 in fp32, on the shared models:
#   (a) `camlab explain --raw` with every method on the CIFAR ResNet-20 and with the gradient methods and
#       AblationCAM on MobileNet-V2: the same predictions, and every .npy map the same to 1e-4 of the
#       map's largest magnitude;
#   (b) `camlab run` of a small experiment (ResNet-20, 64 CIFAR-10 images: the 20 lossless PNGs of
#       foolbox_samples, then JPEGs of data/cifar10_test, or just the 20 where that is missing; all 13
#       methods, utilities rest and logit, all metrics) on the CPU and on the GPU: the same explained
#       classes, per-image AD, Coh, Com, IC, ADD, Y, O, D and every aggregate to 1e-4 absolute (IC, a
#       comparison O > Y, may differ where |O - Y| is under 1e-4: a tie; its average then by 1/n each);
#   (c) the same experiment with --devices GPU,cpu (one worker per device, sharing each group's images)
#       gives the GPU run's numbers, and so does --devices GPU,GPU (two processes on the one GPU);
#   (d) out of memory on the GPU (CAMLAB_TEST_OOM_ABOVE, see t46) halves the batch twice and still gives
#       the GPU run's numbers;
#   (e) with libtorch's own TF32 setting (no NVIDIA_TF32_OVERRIDE): the explain maps of (a) still agree.
#
# (a)-(d) run with NVIDIA_TF32_OVERRIDE=0 (unless it is set): cuDNN then computes fp32 convolutions in
# fp32, not TensorFloat-32, so they check camlab's code; (e) checks what a user gets by default.
#
# Skips, with the reason, without a CUDA device (`camlab version` prints "cuda devices: N"), without
# ../shared or without a python ($CAMLAB_PYTHON; the comparisons need no numpy, and use it if present).
#
# Knobs, for running the test's logic where there is no GPU:
#   CAMLAB_TEST_GPU_DEVICE=D   run the 'GPU' side on D instead of cuda: `cpu` compares the CPU with
#                              itself (the whole test then runs and must pass on any machine), cuda:1
#                              tests another GPU.
#   CAMLAB_TEST_GPU_IMAGES=N   images of the experiments (b)-(d), a multiple of 4 (default 64, or 16 when
#                              the GPU side is the CPU: four CPU runs of 64 images take long on 2 cores).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
GPU=${CAMLAB_TEST_GPU_DEVICE:-cuda}
case $GPU in
cpu) N=${CAMLAB_TEST_GPU_IMAGES:-16} ;;
*)   have_cuda || skip_all "no CUDA device (camlab version says: cuda devices: 0)"
     N=${CAMLAB_TEST_GPU_IMAGES:-64} ;;
esac
RN20=$SHARED/models/resnet20_cifar10.pt
MNV2=$SHARED/models/mobilenet_v2_imagenet.pt
FOOLBOX=$SHARED/data/foolbox_samples
[ -f "$RN20" ] && [ -f "$MNV2" ] || skip_all "no shared models at $SHARED"
[ -f "$FOOLBOX/cifar10_00_3.png" ] && [ -d "$SHARED/data/imagenet_sample" ] || skip_all "no shared data at $SHARED/data"
need_python
export NVIDIA_TF32_OVERRIDE=${NVIDIA_TF32_OVERRIDE:-0}
TOL=1e-4
echo "# GPU side: $GPU; experiments of $N images; NVIDIA_TF32_OVERRIDE=$NVIDIA_TF32_OVERRIDE"

# npycmp.py DIR_A DIR_B: the same .npy files in both folders, each pair the same to $TOL. A raw map
# (*_raw.npy) is compared relative to its largest magnitude; a post-processed map (ReLU, resize, min-max
# to [0, 1]) relative to its raw map's largest magnitude too, that is with the tolerance scaled by
# max|raw| / (max(raw) - max(min(raw), 0)), what min-max divides by. A map whose positive part is under
# 1e-3 of its magnitude is all noise after min-max: it is listed, not compared.
cat >"$TMP/npycmp.py" <<'PYEOF'
import ast, os, struct, sys
try:
    import numpy as np
except ImportError:
    np = None

def load(path):
    with open(path, "rb") as f:
        b = f.read()
    assert b[:6] == b"\x93NUMPY", "%s: not a .npy file" % path
    if b[6] == 1:
        n, off = struct.unpack("<H", b[8:10])[0], 10
    else:
        n, off = struct.unpack("<I", b[8:12])[0], 12
    hdr = ast.literal_eval(b[off:off + n].decode("latin1"))
    assert hdr["descr"] == "<f4" and not hdr["fortran_order"], "%s: %r" % (path, hdr)
    data = b[off + n:]
    if np is not None:
        v = np.frombuffer(data, dtype="<f4").astype(np.float64)
    else:
        import array
        v = array.array("f")
        v.frombytes(data)
        if sys.byteorder != "little":
            v.byteswap()
        v = list(v)
    return tuple(hdr["shape"]), v

def stats(v):  # max |v|, max v, min v
    if np is not None:
        return float(np.abs(v).max()), float(v.max()), float(v.min())
    return max(abs(x) for x in v), max(v), min(v)

def maxdiff(a, b):
    if np is not None:
        return float(np.abs(a - b).max())
    return max(abs(x - y) for x, y in zip(a, b))

A, B, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
fa = sorted(f for f in os.listdir(A) if f.endswith(".npy"))
fb = sorted(f for f in os.listdir(B) if f.endswith(".npy"))
bad = 0
if not fa:
    print("no .npy files in %s" % A)
    bad += 1
if fa != fb:
    print("different files: only in %s: %s; only in %s: %s" % (A, sorted(set(fa) - set(fb)), B, sorted(set(fb) - set(fa))))
    bad += 1
worst, worst_f, degenerate = 0.0, None, []
for f in sorted(set(fa) & set(fb)):
    sa, a = load(os.path.join(A, f))
    sb, b = load(os.path.join(B, f))
    if sa != sb:
        print("%s: shapes %s and %s" % (f, sa, sb))
        bad += 1
        continue
    d = maxdiff(a, b)
    if f.endswith("_raw.npy"):
        m = stats(a)[0]
        rel = d / m if m > 0 else d
    else:
        raw = f[:-4] + "_raw.npy"
        if os.path.exists(os.path.join(A, raw)):
            m, hi, lo = stats(load(os.path.join(A, raw))[1])
            span = hi - max(lo, 0.0)
            if m > 0 and span < 1e-3 * m:
                degenerate.append(f)
                continue
            rel = d * span / m if m > 0 else d
        else:
            rel = d  # in [0, 1]
    if not rel <= tol:
        print("%s: max |diff| %.3g, %.3g relative (> %g)" % (f, d, rel, tol))
        bad += 1
    if rel > worst:
        worst, worst_f = rel, f
print("%d maps compared, worst relative difference %.3g (%s)%s" % (len(fa) - len(degenerate), worst, worst_f,
      "; not compared (no positive part): " + " ".join(degenerate) if degenerate else ""))
sys.exit(1 if bad else 0)
PYEOF
npycmp() { "$PY" "$TMP/npycmp.py" "$1" "$2" $TOL; }
# noted NAME CMD...: CMD, its output also kept as $TMP/NAME.note, which note NAME prints as TAP comments
# after the test (the largest differences seen, for the record, also when the test passes).
noted() {
	n=$1
	shift
	"$@" >"$TMP/$n.note" 2>&1
	s=$?
	cat "$TMP/$n.note"
	return $s
}
note() { [ -f "$TMP/$1.note" ] && sed 's/^/# /' "$TMP/$1.note"; }
# predictions LOG: the "IMAGE predicted CLASS" part of explain's lines, probabilities left out
predictions() { sed -n 's/^\(.*: predicted [0-9]*\) .*/\1/p' "$1"; }
same_predictions() {
	predictions "$1" >"$1.pred" && predictions "$2" >"$2.pred" && test -s "$1.pred" && diff -u "$1.pred" "$2.pred"
}

# (a) camlab explain on both devices
RN="--model $RN20 --size 0 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --layer f.layer3"
RN_IMAGES="$FOOLBOX/cifar10_00_3.png $FOOLBOX/cifar10_01_8.png $FOOLBOX/cifar10_02_8.png $FOOLBOX/cifar10_03_0.png"
MN="--model $MNV2 --size 224 --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --layer Conv_1"
MN_METHODS=gradcam,hirescam,gradcam-e,layercam,xgradcam,gradcam++,randomcam,shapleycam,shapleycam-h,shapleycam-e,ablationcam
MN_IMAGES=$(ls "$SHARED"/data/imagenet_sample/*.JPEG | head -n 3 | tr '\n' ' ')

for side in cpu gpu; do
	dev=cpu
	[ $side = gpu ] && dev=$GPU
	test_expect_success "explain ResNet-20, every method, rest and logit, --raw, on $dev" "
		$CAMLAB explain $RN --device $dev --method all --utility rest,logit --raw -o $TMP/rn-$side $RN_IMAGES >$TMP/rn-$side.log 2>&1 &&
		test_grep '^wrote [0-9]+ heatmaps to [^;]*\$' $TMP/rn-$side.log &&
		test -f $TMP/rn-$side/cifar10_03_0_scorecam_logit_raw.npy && test -f $TMP/rn-$side/cifar10_03_0_cam_rest.npy
	"
	test_expect_success "explain MobileNet-V2, the gradient methods and AblationCAM, --raw, on $dev" "
		$CAMLAB explain $MN --device $dev --method $MN_METHODS --raw -o $TMP/mn-$side $MN_IMAGES >$TMP/mn-$side.log 2>&1 &&
		test_grep '^wrote 33 heatmaps to [^;]*\$' $TMP/mn-$side.log
	"
done

test_expect_success "ResNet-20: the same predictions and maps on cpu and $GPU" "
	same_predictions $TMP/rn-cpu.log $TMP/rn-gpu.log && noted rn npycmp $TMP/rn-cpu $TMP/rn-gpu
"
note rn

test_expect_success "MobileNet-V2: the same predictions and maps on cpu and $GPU" "
	same_predictions $TMP/mn-cpu.log $TMP/mn-gpu.log && noted mn npycmp $TMP/mn-cpu $TMP/mn-gpu
"
note mn

# (b)-(d) camlab run. The images: the 20 lossless CIFAR-10 PNGs, then JPEGs of the CIFAR-10 test split.
CLASSES="airplane automobile bird cat deer dog frog horse ship truck"
for f in "$FOOLBOX"/cifar10_*.png; do
	l=${f##*_}
	echo "$f ${l%.png}"
done >"$TMP/all.txt"
mkdir -p "$TMP/cifar" &&
	tar -xzf "$SHARED/data/cifar10_test/cifar10_test_jpg.tar.gz" -C "$TMP/cifar" --wildcards 'test/*/000[0-4].jpg' 2>/dev/null
l=0
for c in $CLASSES; do
	for f in "$TMP"/cifar/test/$c/000[0-4].jpg; do
		[ -f "$f" ] && echo "$f $l"
	done
	l=$((l + 1))
done >>"$TMP/all.txt"
have=$(wc -l <"$TMP/all.txt")
if [ "$have" -lt "$N" ]; then
	echo "# only $have CIFAR-10 images here (no $SHARED/data/cifar10_test?): using $((have / 4 * 4))"
	N=$((have / 4 * 4))
fi
head -n "$N" "$TMP/all.txt" >"$TMP/cifar.txt"
B=$((N / 4))

spec() { # spec NAME DEVICE BATCH
	cat >"$TMP/$1.yaml" <<EOS
name: $1
output: $TMP/$1
device: $2
batch: $3
seed: 0
models:
  - name: resnet20
    file: $RN20
    input_size: 0
    mean: [0.485, 0.456, 0.406]
    std: [0.229, 0.224, 0.225]
    layers: {pre_gap: f.layer3}
data: {path: $TMP/cifar.txt}
methods: [cam, gradcam, hirescam, gradcam-e, layercam, xgradcam, gradcam++, randomcam, shapleycam, shapleycam-h, shapleycam-e, scorecam, ablationcam]
utilities: [rest, logit]
metrics: all
outputs: {tables: false, plots: false}
EOS
}
# The OOM run starts with batches of N images, halved twice to the others' B: the same batches (RandomCAM
# draws its weights per batch), so the same numbers.
spec cpu cpu $B
spec gpu $GPU $B
spec two $GPU $B
spec twogpu $GPU $B
spec oom $GPU $N

# sql2 DB_A DB_B QUERY: QUERY with DB_B attached as b; rows '|'-separated (sqlite3, else $PY's sqlite3).
sql2() {
	if command -v sqlite3 >/dev/null 2>&1; then
		sqlite3 -batch "$1" "ATTACH '$2' AS b; $3"
	else
		"$PY" -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("ATTACH ? AS b", (sys.argv[2],))
for row in c.execute(sys.argv[3]):
    print("|".join("" if v is None else str(v) for v in row))
' "$1" "$2" "$3"
	fi
}
# differ X Y: an SQL condition true when two values differ by more than $TOL, or only one is NULL
differ() { echo "(($1 IS NULL) != ($2 IS NULL) OR abs($1 - $2) > $TOL)"; }
PAIRS="WITH p AS (SELECT ra.key AS ka, rb.key AS kb, ra.method || '/' || ra.utility || '/' || ra.target AS run
	FROM main.runs ra JOIN b.runs rb ON ra.model = rb.model AND ra.layer = rb.layer AND ra.method = rb.method
	AND ra.utility = rb.utility AND ra.target = rb.target),
 ij AS (SELECT p.run, p.ka, ia.idx, ia.path AS pa, ib.path AS pb, ia.label AS la, ib.label AS lb,
	ia.class AS ca, ib.class AS cb, ia.ad AS ad_a, ib.ad AS ad_b, ia.coh AS coh_a, ib.coh AS coh_b,
	ia.com AS com_a, ib.com AS com_b, ia.ic AS ic_a, ib.ic AS ic_b, ia.add_ AS add_a, ib.add_ AS add_b,
	ia.y AS y_a, ib.y AS y_b, ia.o AS o_a, ib.o AS o_b, ia.d AS d_a, ib.d AS d_b
	FROM p JOIN main.images ia ON ia.run_key = p.ka JOIN b.images ib ON ib.run_key = p.kb AND ib.idx = ia.idx),
 flips AS (SELECT ka, sum(ic_a IS NOT ic_b) AS f FROM ij GROUP BY ka)"
# IC is 1 when O > Y: a tie (|O - Y| under the tolerance on either side) may go either way.
IC_DIFFERS="(ic_a IS NOT ic_b AND abs(o_a - y_a) > $TOL AND abs(o_b - y_b) > $TOL)"

# same_results DIR_A DIR_B NOTE: both databases hold every run done with N images, and the same numbers.
same_results() {
	a=$1/results.sqlite b=$2/results.sqlite
	sql2 $a $b "$PAIRS SELECT (SELECT count(*) FROM main.runs WHERE state = 'done'),
		(SELECT count(*) FROM b.runs WHERE state = 'done'), (SELECT count(*) FROM p),
		(SELECT count(*) FROM ij), (SELECT count(*) FROM main.images), (SELECT count(*) FROM b.images)" >$TMP/counts &&
	echo "26|26|26|$((26 * N))|$((26 * N))|$((26 * N))" >$TMP/counts.want &&
	diff -u $TMP/counts.want $TMP/counts &&
	noted $3 sql2 $a $b "$PAIRS SELECT 'max |difference| per image: AD ' || max(abs(ad_a - ad_b)) ||
		', Coh ' || max(abs(coh_a - coh_b)) || ', Com ' || max(abs(com_a - com_b)) ||
		', ADD ' || max(abs(add_a - add_b)) || ', Y ' || max(abs(y_a - y_b)) || ', O ' || max(abs(o_a - o_b)) ||
		', D ' || max(abs(d_a - d_b)) || '; IC flips at ties: ' || sum(ic_a IS NOT ic_b) FROM ij" &&
	sql2 $a $b "$PAIRS SELECT run, idx, ca, cb, ad_a, ad_b, coh_a, coh_b, com_a, com_b, ic_a, ic_b, add_a, add_b,
		y_a, y_b, o_a, o_b, d_a, d_b FROM ij
		WHERE pa IS NOT pb OR la IS NOT lb OR ca IS NOT cb OR $IC_DIFFERS
		OR $(differ ad_a ad_b) OR $(differ coh_a coh_b) OR $(differ com_a com_b) OR $(differ add_a add_b)
		OR $(differ y_a y_b) OR $(differ o_a o_b) OR $(differ d_a d_b) LIMIT 20" >$TMP/bad &&
	{ test ! -s $TMP/bad || { echo 'images that differ (run|idx|class a|class b|AD a|AD b|Coh|Com|IC|ADD|Y|O|D):'; cat $TMP/bad; false; }; } &&
	sql2 $a $b "$PAIRS SELECT p.run, aa.n, ab.n, aa.ad, ab.ad, aa.coh, ab.coh, aa.com, ab.com, aa.adcc, ab.adcc,
		aa.ic, ab.ic, aa.add_, ab.add_ FROM p JOIN main.aggregates aa ON aa.run_key = p.ka
		JOIN b.aggregates ab ON ab.run_key = p.kb JOIN flips ON flips.ka = p.ka
		WHERE aa.n IS NOT ab.n OR $(differ aa.ad ab.ad) OR $(differ aa.coh ab.coh) OR $(differ aa.com ab.com)
		OR $(differ aa.adcc ab.adcc) OR $(differ aa.add_ ab.add_)
		OR (aa.ic IS NULL) != (ab.ic IS NULL) OR abs(aa.ic - ab.ic) > $TOL + 1.0 * flips.f / aa.n" >$TMP/bad &&
	{ test ! -s $TMP/bad || { echo 'aggregates that differ (run|n|n|AD|AD|Coh|Coh|Com|Com|ADCC|ADCC|IC|IC|ADD|ADD):'; cat $TMP/bad; false; }; } &&
	sql2 $a $b "SELECT count(*) FROM main.aggregates" | test_grep '^26$' /dev/stdin
}

test_expect_success "run on cpu: ResNet-20, $N images, 13 methods x rest, logit, all metrics" "
	$CAMLAB run --no-progress $TMP/cpu.yaml 2>$TMP/cpu.log || { cat $TMP/cpu.log; false; }
"

test_expect_success "run on $GPU" "
	$CAMLAB run --no-progress $TMP/gpu.yaml 2>$TMP/gpu.log || { cat $TMP/gpu.log; false; }
"

test_expect_success "cpu and $GPU runs: the same classes, per-image metrics and aggregates" "
	same_results $TMP/cpu $TMP/gpu cg
"
note cg

test_expect_success "--devices $GPU,cpu: one worker per device, the numbers of the single-device run" "
	$CAMLAB run --no-progress --devices $GPU,cpu $TMP/two.yaml 2>$TMP/two.log && cat $TMP/two.log &&
	test_grep '^worker 0 on $GPU' $TMP/two.log && test_grep '^worker 1 on cpu' $TMP/two.log &&
	same_results $TMP/gpu $TMP/two two
"
note two

test_expect_success "--devices $GPU,$GPU: two processes on one device, the numbers of the single-process run" "
	$CAMLAB run --no-progress --devices $GPU,$GPU $TMP/twogpu.yaml 2>$TMP/twogpu.log && cat $TMP/twogpu.log &&
	test_grep '^worker 1 on $GPU' $TMP/twogpu.log &&
	same_results $TMP/gpu $TMP/twogpu twogpu
"
note twogpu

test_expect_success "out of memory on $GPU halves the batch and the run goes on to the same numbers" "
	CAMLAB_TEST_OOM_ABOVE=$B $CAMLAB run --no-progress $TMP/oom.yaml 2>$TMP/oom.log && cat $TMP/oom.log &&
	test_grep 'out of memory with $N images: continuing with batches of $((N / 2))' $TMP/oom.log &&
	test_grep 'out of memory with $((N / 2)) images: continuing with batches of $B' $TMP/oom.log &&
	same_results $TMP/gpu $TMP/oom oom
"
note oom

# (e) TF32 as libtorch leaves it (cuDNN's convolutions in TensorFloat-32 on Ampere and later GPUs)
if [ "$GPU" = cpu ]; then
	test_skip "explain with libtorch's default TF32 setting agrees with the CPU" "no TF32 on a CPU"
else
	test_expect_success "explain with libtorch's default TF32 setting agrees with the CPU" "
		env -u NVIDIA_TF32_OVERRIDE $CAMLAB explain $RN --device $GPU --method all --utility rest,logit --raw -o $TMP/rn-tf32 $RN_IMAGES >$TMP/rn-tf32.log 2>&1 &&
		same_predictions $TMP/rn-cpu.log $TMP/rn-tf32.log &&
		noted tf32 npycmp $TMP/rn-cpu $TMP/rn-tf32 || {
			echo 'hint: (a) passed with NVIDIA_TF32_OVERRIDE=0; libtorch lets cuDNN use TF32 for fp32 convolutions'
			echo 'unless told otherwise (at::globalContext().setAllowTF32CuDNN(false) in the shim)'
			false
		}
	"
	note tf32
fi

test_done
