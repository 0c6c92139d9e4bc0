#!/bin/sh
# t95-params-run.t - parameters change what is computed, as their definitions say: FEM with k = 1 and
# KPCA-CAM with an RBF kernel against numpy computations of pytorch-grad-cam's fem.py and of
# scikit-learn's KernelPCA on the shared ResNet-20's activations (through cam_tool --param), and a run
# whose methods, utility and ROAD have other values than their defaults on the Fashion-MNIST CNN: other
# numbers than the defaults' (with their own run keys), FinerCAM with alpha 0 as GradCAM of the logit,
# and ROAD over percentiles [10, 50] as the mean of ROAD at 10 and at 50 (noise 0).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
need_python numpy
D=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
M=$PWD/experiments/models/fashion_mnist_cnn.pt
REF=$SHARED/reference/pytorch-grad-cam

if [ -f "$REF/resnet20/input_rgb_uint8.npy" ] && [ -f "$SHARED/models/resnet20_cifar10.pt" ]; then
	test_expect_success 'fem k=1 and kpcacam kernel=rbf gamma=0.05: numpy computations of their definitions' "
		$PY - '$TOOL' '$SHARED' '$REF' '$TMP' <<-'PYEOF'
		import os, subprocess, sys
		import numpy as np
		tool, shared, ref, tmp = sys.argv[1:5]
		mean, std = np.float32((0.485, 0.456, 0.406)), np.float32((0.229, 0.224, 0.225))
		u8 = np.load(os.path.join(ref, 'resnet20', 'input_rgb_uint8.npy'))[:6]
		x = ((u8.astype(np.float32) / 255 - mean) / std).transpose(0, 3, 1, 2)
		xf = os.path.join(tmp, 'x.f32')
		np.ascontiguousarray(x, dtype='<f4').tofile(xf)
		def run(out, *params):
		    os.makedirs(os.path.join(tmp, out))
		    cmd = [tool, 'passes', '--model', os.path.join(shared, 'models', 'resnet20_cifar10.pt'),
		           '--layer', 'f.layer3', '--utility', 'logit', '--methods', 'fem,kpcacam',
		           '--mean', ','.join(map(str, mean)), '--std', ','.join(map(str, std)),
		           '--raw-input', '%s:%d,%d,%d,%d' % ((xf,) + x.shape), '--lean', '-o', os.path.join(tmp, out)]
		    for p in params:
		        cmd += ['--param', p]
		    subprocess.run(cmd, check=True)
		    return lambda n: np.load(os.path.join(tmp, out, n + '.npy')).astype(np.float64)
		dflt = run('d')
		mine = run('p', 'k=1', 'kernel=rbf', 'gamma=0.05')
		a = mine('a')
		# pytorch-grad-cam fem.py: weights = mean over positions of (A > mean + k std), std as np.std
		th = a.mean(axis=(2, 3)) + 1.0 * a.std(axis=(2, 3))
		w = (a > th[:, :, None, None]).mean(axis=(2, 3))
		fem = (w[:, :, None, None] * a).sum(1)
		s = mine('S_fem')
		err = np.abs(s - fem).max() / np.abs(fem).max()
		print('fem k=1: max |diff| / max|ref| = %.2g; against k=2: %.2g' % (err, np.abs(s - dflt('S_fem')).max()))
		assert err < 1e-5, err
		assert np.abs(s - dflt('S_fem')).max() > 1e-3 * np.abs(fem).max()
		# scikit-learn's KernelPCA(n_components=1, kernel='rbf', gamma) of each image's centred (h*w) x C rows:
		# the centred kernel's top eigenvector times the root of its eigenvalue, svd_flip's sign
		ref_maps = []
		for img in a:
		    X = img.reshape(img.shape[0], -1).T
		    X = X - X.mean(0)
		    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
		    K = np.exp(-0.05 * d2)
		    n = len(K)
		    one = np.ones((n, n)) / n
		    Kc = K - one @ K - K @ one + one @ K @ one
		    lam, V = np.linalg.eigh(Kc)
		    v = V[:, -1] * np.sqrt(max(lam[-1], 0))
		    v = v if v[np.argmax(np.abs(v))] > 0 else -v
		    ref_maps.append(v.reshape(img.shape[1:]))
		ref_maps = np.array(ref_maps)
		s = mine('S_kpcacam')
		err = np.abs(s - ref_maps).max() / np.abs(ref_maps).max()
		print('kpcacam rbf: max |diff| / max|ref| = %.2g' % err)
		assert err < 1e-4, err
		assert np.abs(s - dflt('S_kpcacam')).max() > 1e-2 * np.abs(ref_maps).max()
		PYEOF
	"
else
	test_skip 'fem and kpcacam against numpy' "no ResNet-20 or its reference images at $SHARED"
fi

[ -f "$D" ] || { test_skip 'runs with parameters' "no Fashion-MNIST at $D"; test_done; exit; }

spec() { # spec NAME METHODS UTILITIES METRICS: a run of 4 images
	cat >$TMP/$1.yaml <<-EOF
	name: $1
	output: $TMP/out_$1
	batch: 4
	models: [{name: cnn, file: $M, layers: {pre_gap: features.block5}}]
	data: {path: $D, limit: 4}
	methods: $2
	utilities: $3
	metrics: $4
	outputs: {tables: false, plots: false}
	EOF
}

spec a '[gradcam, fem, {fem: {k: 1}}]' '[logit, {finer: {alpha: 0}}, finer]' '[ad, coh]'
test_expect_success 'a run with parameters: labels in runs.csv, numbers other than the defaults' "
	$CAMLAB run $TMP/a.yaml >$TMP/log 2>&1 || { cat $TMP/log; false; }
	cut -d, -f5,6 $TMP/out_a/runs.csv | sort >$TMP/labels &&
	grep -x 'fem(k=1),finer(alpha=0)' $TMP/labels && grep -x 'gradcam,finer' $TMP/labels &&
	$PY - $TMP/out_a/images.csv <<-'PYEOF'
	import csv, sys
	rows = list(csv.DictReader(open(sys.argv[1])))
	def col(method, utility, key):
	    return [float(r[key]) for r in sorted(rows, key=lambda r: int(r['idx']))
	            if r['method'] == method and r['utility'] == utility]
	for m in ('fem', 'fem(k=1)'):
	    assert len(col(m, 'logit', 'ad')) == 4, (m, rows[0].keys())
	assert col('fem', 'logit', 'coh') != col('fem(k=1)', 'logit', 'coh'), 'fem k=1 gave the same numbers as k=2'
	g, f0, f1 = (col('gradcam', u, 'ad') for u in ('logit', 'finer(alpha=0)', 'finer'))
	print('AD gradcam logit', g, 'finer(alpha=0)', f0, 'finer', f1)
	assert max(abs(p - q) for p, q in zip(g, f0)) < 1e-3, 'finer with alpha 0 is not the logit'
	assert max(abs(p - q) for p, q in zip(f1, f0)) > 1e-4, 'finer alpha=1 and alpha=0 agree'
	PYEOF
"

for p in 10 50 '10, 50'; do
	n=$(echo "$p" | tr -d ', ')
	spec r$n '[gradcam]' '[logit]' "[{road: {percentiles: [$p], noise: 0}}]"
done
test_expect_success 'ROAD over percentiles [10, 50] is the mean of ROAD at 10 and at 50 (noise 0)' "
	for n in 10 50 1050; do $CAMLAB run $TMP/r\$n.yaml >$TMP/log 2>&1 || { cat $TMP/log; exit 1; }; done &&
	grep -c 'road(percentiles=\[10,50\], noise=0)' $TMP/out_r1050/runs.csv >/dev/null 2>&1;
	$CAMLAB check --canonical $TMP/r1050.yaml | grep -x 'metrics \"road(percentiles=\[10,50\], noise=0)\"' &&
	$PY - $TMP/out_r10/images.csv $TMP/out_r50/images.csv $TMP/out_r1050/images.csv <<-'PYEOF'
	import csv, sys
	a, b, ab = ([r for r in sorted(csv.DictReader(open(f)), key=lambda r: int(r['idx']))] for f in sys.argv[1:4])
	for key in ('road_morf', 'road_lerf', 'road'):
	    x, y, xy = ([float(r[key]) for r in t] for t in (a, b, ab))
	    print(key, x, y, xy)
	    assert len(xy) == 4 and max(abs((p + q) / 2 - r) for p, q, r in zip(x, y, xy)) < 1e-6, key
	    assert max(abs(p - q) for p, q in zip(x, y)) > 1e-4, key + ' is the same at 10 and 50'
	PYEOF
"

test_done
