"""tap.py - TAP for the tests written in Python (t12, t21, t23, t24), after tests/lib.sh: ok() and
diag() print as test_expect_success does, rel() is the relative error the numeric checks compare, and
done() prints the plan and exits 1 if any test failed. The shell part of each test puts tests/ on
PYTHONPATH."""
import sys

import numpy as np

_count = 0
_failed = 0


def ok(cond, name):
    """One test: 'ok N - name' if cond holds, else 'not ok N - name'. Returns cond."""
    global _count, _failed
    _count += 1
    _failed += not cond
    print(("ok" if cond else "not ok") + " %d - %s" % (_count, name), flush=True)
    return cond


def diag(msg):
    print("# " + msg, flush=True)


def rel(a, b):
    """max |a - b| over max |b|: the relative error of a against the reference b."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def done():
    print("1..%d" % _count)
    sys.exit(1 if _failed else 0)
