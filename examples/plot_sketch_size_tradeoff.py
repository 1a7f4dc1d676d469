"""
Sketch size: accuracy against time for sketched least squares
==============================================================

Sketch-and-solve (:class:`~sklearn_lowrank.SketchedLeastSquares` with
``mode="sketch_and_solve"``) trades accuracy for time through the number of
sketch rows ``m``.  On a tall problem with heavy-leverage rows we plot, over
``m``:

- the excess residual ``||A x' - b||^2 / OPT^2 - 1`` against the Gaussian
  theory ``d / (m - d - 1)``;
- the coordinate-wise error ``||x' - x*||_inf`` in units of
  ``OPT ||A^+|| / sqrt(d)`` (the paper's ``eps``) against the proven
  Gaussian bound ``eps(m)`` at ``delta = 0.05``;
- the reported guarantee: ``max_j |x'_j - x*_j| / coef_error_bound_[j]``,
  which must stay below 1 in a fraction ``1 - delta`` of the fits (proven for
  the Gaussian sketch, measured for the others);
- the fit time, next to the exact solvers (precondition mode and
  ``LinearRegression``).
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression

from sklearn_lowrank import SketchedLeastSquares
from sklearn_lowrank._sketches import gaussian_linf_epsilon
from sklearn_lowrank.datasets import make_leverage_regression

n, d = 40_000, 40
# sphinx_gallery_start_ignore
# Smaller run for the docs build of the test suite (tests/test_docs.py).
import os

if os.environ.get("SKLEARN_LOWRANK_QUICK_EXAMPLES") == "1":
    n = 10_000
# sphinx_gallery_end_ignore
A, b, _ = make_leverage_regression(
    n, d, condition_number=1e4, n_heavy_rows=5, random_state=0
)
coef_star, *_ = np.linalg.lstsq(A, b, rcond=None)
opt = np.linalg.norm(A @ coef_star - b)
linf_unit = opt / np.linalg.svd(A, compute_uv=False)[-1] / np.sqrt(d)


def timed(est):
    start = time.perf_counter()
    est.fit(A, b)
    return est, time.perf_counter() - start


sizes = np.array([2, 3, 4, 8, 16, 32]) * d
sketches = ["srtt", "countsketch", "sparse_sign", "gaussian"]
results = {s: {"excess": [], "eps": [], "time": [], "ratio": []} for s in sketches}
for sketch in sketches:
    for m in sizes:
        excess, eps, seconds, ratio = [], [], [], []
        for seed in range(2):
            est, t = timed(
                SketchedLeastSquares(
                    mode="sketch_and_solve",
                    sketch=sketch,
                    sketch_size=int(m),
                    fit_intercept=False,
                    random_state=seed,
                )
            )
            excess.append(np.linalg.norm(A @ est.coef_ - b) ** 2 / opt**2 - 1)
            eps.append(np.abs(est.coef_ - coef_star).max() / linf_unit)
            seconds.append(t)
            ratio.append(np.max(np.abs(est.coef_ - coef_star) / est.coef_error_bound_))
        results[sketch]["excess"].append(np.mean(excess))
        results[sketch]["eps"].append(np.median(eps))
        results[sketch]["time"].append(np.median(seconds))
        results[sketch]["ratio"].append(np.max(ratio))

_, t_precondition = timed(SketchedLeastSquares(fit_intercept=False, random_state=0))
_, t_lapack = timed(LinearRegression(fit_intercept=False))

fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
for sketch in sketches:
    r = results[sketch]
    axes[0].loglog(sizes / d, r["excess"], "o-", label=sketch)
    axes[1].loglog(sizes / d, r["eps"], "o-", label=sketch)
    axes[2].loglog(r["time"], r["excess"], "o-", label=sketch)
    axes[3].semilogx(sizes / d, r["ratio"], "o-", label=sketch)
axes[0].loglog(sizes / d, d / (sizes - d - 1), "k--", label="Gaussian theory")
axes[0].set(
    xlabel="sketch rows m / d",
    ylabel="excess residual",
    title="||Ax'-b||^2 / OPT^2 - 1",
)
bound = [gaussian_linf_epsilon(d, m, 0.05) for m in sizes]
axes[1].loglog(sizes / d, bound, "k--", label="proven bound (Gaussian, 95%)")
axes[1].set(
    xlabel="sketch rows m / d",
    ylabel="eps",
    title="||x'-x*||_inf / (OPT ||A+|| / sqrt(d))",
)
axes[2].axvline(t_precondition, color="k", ls=":", label="precondition (exact)")
axes[2].axvline(t_lapack, color="gray", ls="-.", label="LinearRegression (exact)")
axes[2].set(xlabel="fit time [s]", ylabel="excess residual", title="accuracy vs time")
axes[3].axhline(1.0, color="k", ls="--", label="bound (95%)")
axes[3].set(
    xlabel="sketch rows m / d",
    ylabel="max_j |error_j| / bound_j",
    title="coef_error_bound_ (worst of 2 seeds)",
    ylim=(0, 1.5),
)
for ax in (axes[0], axes[1], axes[3]):
    ax.set_xticks(sizes / d, labels=[str(int(v)) for v in sizes / d])
    ax.minorticks_off()
for ax in axes:
    ax.legend(fontsize=7)
fig.suptitle(f"Sketch-and-solve on {n}x{d}, cond(A)=1e4, 5 heavy-leverage rows")
fig.tight_layout()

plt.show()
print(f"precondition {t_precondition:.2f} s, LinearRegression {t_lapack:.2f} s")
for sketch in sketches:
    r = results[sketch]
    print(sketch, "excess at m=4d:", f"{r['excess'][2]:.3f}", "eps:", r["eps"][2])
