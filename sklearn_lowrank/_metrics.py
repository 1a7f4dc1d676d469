"""Error measures shared by the demo, the tests and the benchmarks.

One definition of each figure, so that "relative error" in a test, a
benchmark table and the demo is the same number.  Norms divide by the
largest magnitude before squaring (``_scaled_norm``), so the ratios stay
finite for data scaled by 1e+-150.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "accuracy",
    "cell_error_rate",
    "masked_relative_error",
    "relative_error",
    "rmse",
    "tile_scores",
]


def _scaled_norm(A):
    # Frobenius norm that neither overflows nor underflows: divide by the
    # largest magnitude first (np.linalg.norm squares entries for ndim > 1).
    A = np.asarray(A, dtype=np.float64).ravel()
    if A.size == 0:
        return 0.0
    top = np.max(np.abs(A))
    if top == 0 or not np.isfinite(top):
        return float(top)
    return float(top * np.linalg.norm(A / top))


def relative_error(estimate, truth):
    """``||estimate - truth||_F / ||truth||_F`` (inf if the truth is zero)."""
    estimate = np.asarray(estimate, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    denominator = _scaled_norm(truth)
    numerator = _scaled_norm(estimate - truth)
    if denominator == 0:
        return 0.0 if numerator == 0 else float("inf")
    return numerator / denominator


def masked_relative_error(estimate, truth, mask):
    """:func:`relative_error` restricted to the entries where ``mask`` is True.

    For matrix completion pass ``mask=~observed``: the error on the entries
    the estimator never saw.
    """
    mask = np.asarray(mask, dtype=bool)
    return relative_error(np.asarray(estimate)[mask], np.asarray(truth)[mask])


def rmse(estimate, truth):
    """Root mean squared difference (NaN entries of ``truth`` skipped)."""
    truth = np.asarray(truth, np.float64)
    diff = np.asarray(estimate, dtype=np.float64) - truth
    # Only missing truth is skipped: a NaN in the estimate is a failure.
    diff = diff[~np.isnan(np.broadcast_to(truth, diff.shape))]
    if diff.size == 0:
        return float("nan")
    return _scaled_norm(diff) / np.sqrt(diff.size)


def cell_error_rate(estimate, truth):
    """Fraction of cells where two Boolean (or label) arrays differ."""
    return float(np.mean(np.asarray(estimate) != np.asarray(truth)))


def accuracy(predicted, truth):
    """Fraction of labels predicted right."""
    return 1.0 - cell_error_rate(predicted, truth)


def tile_scores(U_true, V_true, U, V):
    """Cell recall and precision of planted Boolean tiles, one-to-one matched.

    Tile ``k`` is the set of cells ``rows(k) x cols(k)`` of binary factors
    ``U`` (n x k) and ``V`` (k x m).  Tiles are matched by maximal total
    overlap (Hungarian); recall is the matched overlap over the size of the
    planted tiles, precision over the size of the recovered ones.
    """
    overlap = (U_true.T.astype(float) @ U.astype(float)) * (
        V_true.astype(float) @ V.T.astype(float)
    )
    a, b = linear_sum_assignment(-overlap)
    matched = overlap[a, b].sum()
    size_true = (U_true.sum(0) * V_true.sum(1)).sum()
    size_hat = (U.sum(0) * V.sum(1)).sum()
    return matched / size_true, matched / max(size_hat, 1)
