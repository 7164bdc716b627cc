"""Writes test/ood/fixtures/metrics-reference.json: detection metrics computed by scikit-learn, the
reference lib/ood/metrics.ts is tested against. Not run by the tests or CI (they read the stored file).

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy
    /tmp/skl/bin/python scripts/make-ood-metrics-fixture.py

OOD is the positive class and larger scores mean more OOD. AUPR-in is average precision with
in-distribution as positive and the score negated. FPR95 is the FPR of the first ROC point (thresholds
from high to low, every distinct score one threshold) whose TPR reaches 0.95.
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

rng = np.random.default_rng(20261202)
cases = {
    "normal-overlap-rounded": (np.round(rng.normal(0, 1, 60), 1), np.round(rng.normal(0.8, 1.2, 45), 1)),
    "few-integer-levels": (rng.integers(0, 4, 40).astype(float), rng.integers(1, 5, 33).astype(float)),
    "ood-scores-lower": (rng.normal(2, 1, 30), rng.normal(0, 1, 80)),
    "separated": (rng.uniform(0, 1, 25), rng.uniform(2, 3, 25)),
    "all-tied": (np.full(10, 3.0), np.full(7, 3.0)),
    "large-with-ties": (np.round(rng.gamma(2, 1, 3000), 2), np.round(rng.gamma(2.5, 1, 2000), 2)),
}
out = {"made_by": f"scripts/make-ood-metrics-fixture.py, scikit-learn {sklearn.__version__}", "cases": {}}
for name, (s_in, s_ood) in cases.items():
    s = np.concatenate([s_in, s_ood])
    y = np.concatenate([np.zeros(len(s_in)), np.ones(len(s_ood))])
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    out["cases"][name] = {
        "in": s_in.tolist(),
        "ood": s_ood.tolist(),
        "auroc": roc_auc_score(y, s),
        "auprOut": average_precision_score(y, s),
        "auprIn": average_precision_score(1 - y, -s),
        "fpr95": float(fpr[np.argmax(tpr >= 0.95)]),
    }
path = pathlib.Path(__file__).resolve().parent.parent / "test" / "ood" / "fixtures" / "metrics-reference.json"
path.write_text(json.dumps(out) + "\n")
print(f"wrote {path}")
