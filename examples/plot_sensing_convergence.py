"""
=====================================================================
Over-parameterization slows down gradient descent in matrix sensing
=====================================================================

Reproduces the convergence-curve figure of Xiong, Ding & Du (ICLR 2024,
arXiv:2310.01769) with :class:`~sklearn_lowrank.MatrixSensingRegressor`:
training loss against iteration for plain gradient descent on a 25 x 25
rank-3 matrix observed through 750 Gaussian measurements.

- Left, the *curse of symmetry*: on a PSD target, the symmetric
  parameterization ``X X^T`` converges linearly with the exact rank (k = 3)
  but only sublinearly when over-parameterized (k = 5), while the asymmetric
  ``F G^T`` with the same k converges linearly.
- Right, the *curse of initialization*: over-parameterized asymmetric GD
  converges linearly at a rate that shrinks with the initialization scale
  alpha (exp(-alpha^2 T)); the paper's one-step modification (dashed,
  marker at the step) makes the rate independent of alpha.

The curves are the relative training residual ``||A(F G^T) - y|| / ||y||``
(from ``loss_curve_``), which tracks the relative error ``||F G^T - M*||_F``
under the restricted isometry property.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_lowrank import MatrixSensingRegressor
from sklearn_lowrank.datasets import make_matrix_sensing

n, r, m, n_iter = 25, 3, 750, 1000
# sphinx_gallery_start_ignore
# Smaller run for the docs build of the test suite (tests/test_docs.py).
import os

if os.environ.get("SKLEARN_LOWRANK_QUICK_EXAMPLES") == "1":
    n_iter = 300
# sphinx_gallery_end_ignore
X_psd, y_psd, _ = make_matrix_sensing(m, (n, n), r, symmetric=True, random_state=0)
X, y, _ = make_matrix_sensing(m, (n, n), r, random_state=0)


def residual_curve(X, y, **params):
    est = MatrixSensingRegressor(
        shape=(n, n), max_iter=n_iter, tol=1e-15, random_state=0, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return np.sqrt(est.loss_curve_ / est.loss_curve_[0]), est.rebalance_iter_


fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)

for label, params, style in [
    ("symmetric, k = r = 3", dict(parameterization="symmetric", rank=3), "C0-"),
    ("symmetric, k = 5", dict(parameterization="symmetric", rank=5), "C3-"),
    ("asymmetric, k = 5, alpha = 0.5", dict(rank=5, init_scale=0.5), "C2-"),
]:
    params = {"solver": "gd", "init_scale": 0.1, **params}
    curve, _ = residual_curve(X_psd, y_psd, **params)
    left.semilogy(curve, style, label=label)
left.set_title("PSD target: the curse of symmetry")

for alpha, color in [(0.5, "C2"), (0.2, "C1"), (0.05, "C4")]:
    curve, _ = residual_curve(X, y, solver="gd", rank=5, init_scale=alpha)
    right.semilogy(curve, color=color, label=f"GD, k = 5, alpha = {alpha}")
    if alpha < 0.5:
        curve, step = residual_curve(
            X, y, solver="gd_one_step", rank=5, init_scale=alpha
        )
        right.semilogy(curve, "--", color=color, label=f"+ one step, alpha = {alpha}")
        right.semilogy([step], [curve[step]], "o", color=color)
curve, _ = residual_curve(X, y, solver="gd", rank=3, init_scale=0.05)
right.semilogy(curve, "k:", label="GD, k = r = 3, alpha = 0.05")
right.set_title("General target: the curse of initialization")

for ax in (left, right):
    ax.set_xlabel("iteration")
    ax.set_ylim(1e-15, 2)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
left.set_ylabel("relative training residual")
fig.tight_layout()
plt.show()
