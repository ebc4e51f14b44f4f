"""Reference values for the statistical-test and tree parity tests of insiders-stats.

Run with numpy 2.4, scipy 1.17, scikit-learn 1.9.1:
    python make_tests_reference.py /path/to/shared/fixtures

The Insiders of the fixtures: scipy Ward on the study's tree space cut at k = 10
(`ward_labels.csv.gz`, column `tree_space_k10`), the cluster with the highest mean
gross_revenue (`features.csv.gz`). Writes `tests_reference.json` beside this script.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.tree import DecisionTreeClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = ["gross_revenue", "recency_days", "qtde_invoices", "qtde_items", "qtde_products",
            "avg_ticket", "frequency", "qtde_returns", "avg_basket_size", "avg_unique_basket_size"]


def mwu(x, y):
    r = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    n1, n2 = len(x), len(y)
    u1 = float(r.statistic)
    gt = sum(float(np.sum(xi > y)) for xi in x) if n1 * n2 < 1e6 else None
    out = {"u1": u1, "p_value": float(r.pvalue), "n1": n1, "n2": n2,
           "rank_biserial": 2 * u1 / (n1 * n2) - 1, "common_language": u1 / (n1 * n2)}
    if gt is not None:
        lt = sum(float(np.sum(xi < y)) for xi in x)
        out["cliffs_delta"] = (gt - lt) / (n1 * n2)
    return out


def main():
    fx = sys.argv[1]
    feats = pd.read_csv(os.path.join(fx, "features.csv.gz"), index_col=0)
    ward = pd.read_csv(os.path.join(fx, "ward_labels.csv.gz"), index_col=0)
    lab = ward.loc[feats.index, "tree_space_k10"].values
    means = feats.groupby(lab)["gross_revenue"].mean()
    insider_cluster = int(means.idxmax())
    ins = lab == insider_cluster

    small = {
        "ties": ([1, 2, 2, 3, 3, 3, 7, 9], [2, 3, 4, 4, 5, 10]),
        "no_ties": ([0.5, 1.7, 2.2, 8.1, 9.0], [0.1, 0.3, 1.1, 1.2, 3.3, 4.4, 5.5]),
        "heavy_ties": ([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 1, 1, 3]),
        "identical_groups": ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
        "separated": (list(range(20, 50)), list(range(0, 25))),
    }
    ref = {"insider_cluster": insider_cluster, "n_insiders": int(ins.sum()), "n_rest": int((~ins).sum()),
           "small": {}, "real": {}, "bootstrap": {}, "tree": {}}
    for k, (x, y) in small.items():
        ref["small"][k] = {"x": x, "y": y, **mwu(np.array(x, float), np.array(y, float))}
    for col in ["gross_revenue", "frequency", "recency_days", "qtde_returns", "qtde_products"]:
        x, y = feats.loc[ins, col].values, feats.loc[~ins, col].values
        ref["real"][col] = mwu(x, y)
        for name, fn in [("mean", np.mean), ("median", np.median)]:
            b = stats.bootstrap((x, y), lambda a, c, axis=-1: fn(a, axis=axis) - fn(c, axis=axis),
                                method="percentile", n_resamples=4000, confidence_level=0.95,
                                random_state=np.random.default_rng(0), vectorized=True)
            ref["bootstrap"][f"{col}_{name}"] = {
                "estimate": float(fn(x) - fn(y)),
                "low": float(b.confidence_interval.low), "high": float(b.confidence_interval.high),
                "standard_error": float(b.standard_error)}

    X = feats[FEATURES].values
    for depth in [1, 2, 3, 4]:
        for cw in [None, "balanced"]:
            clf = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=1, class_weight=cw, random_state=0).fit(X, ins)
            pred = clf.predict(X)
            t = clf.tree_
            key = f"depth{depth}_{cw or 'none'}"
            ref["tree"][key] = {
                "accuracy": float(np.mean(pred == ins)),
                "precision": float(np.sum(pred & ins) / max(1, np.sum(pred))),
                "recall": float(np.sum(pred & ins) / np.sum(ins)),
                "root_feature": FEATURES[t.feature[0]], "root_threshold": float(t.threshold[0]),
                "n_leaves": int(clf.get_n_leaves()),
            }
    ref["tree_features"] = FEATURES
    with open(os.path.join(HERE, "tests_reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print(json.dumps({k: ref[k] for k in ["insider_cluster", "n_insiders", "real", "tree"]}, indent=1))


if __name__ == "__main__":
    main()
