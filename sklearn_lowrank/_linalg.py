"""Leading singular vectors, and the power-of-two data scale: one place each.

Data are divided by :func:`power_of_two_scale` (exact, so the fit in those
units is the fit of the data, only with no squared norm out of range) by
AltMinCompleter and SketchedLeastSquares.

Three estimators need a few leading singular vectors for a start or a scale:
MatrixSensingRegressor (one pair of a small dense matrix, for its step size),
AltMinCompleter (the spectral start of a sparse matrix, with products split
over the package's workers) and CEBMF (a dense start, through scikit-learn's
``randomized_svd``).  The first two live here; both re-orthonormalize with
:func:`orthonormalize`.
"""

import numpy as np
from scipy.linalg import qr, solve_triangular, svd

__all__ = [
    "orthonormalize",
    "power_of_two_scale",
    "top_left_singular_vectors",
    "top_singular_triplet",
]


def power_of_two_scale(values):
    """A power of two near ``max |values|`` (1.0 when all zero or not finite).

    Dividing by a power of two is exact: the answer in these units is the
    answer for the original data, bit for bit, whichever rows set the scale,
    and norms, Gram matrices and stopping rules work on O(1) numbers.
    """
    top = float(np.max(np.abs(values))) if values.size else 0.0
    if not (np.isfinite(top) and top > 0):
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(top)[1]) - 1))


def orthonormalize(F):
    """Thin QR ``F = Q R`` of a tall, skinny matrix, by CholeskyQR2.

    Two rounds of ``R = chol(F^T F)``, ``Q = F R^{-1}`` are orthonormal to
    machine precision whenever ``cond(F) < ~1e7`` and cost two small GEMMs,
    where LAPACK's Householder QR of an n x k matrix is much slower on a
    shared machine (its threads spin while competing for cores).  F is
    divided by its largest entry first, so ``F^T F`` cannot over- or
    underflow.  Falls back to Householder QR when F is (numerically) rank
    deficient.
    """
    k = F.shape[1]
    size = float(np.max(np.abs(F))) if F.size else 0.0
    if not (size > 0 and np.isfinite(size)):
        return qr(F, mode="economic")
    Q = F / size
    R = np.eye(k) * size
    try:
        for _ in range(2):
            L = np.linalg.cholesky(Q.T @ Q)
            Q = solve_triangular(L, Q.T, lower=True).T
            R = L.T @ R
    except np.linalg.LinAlgError:
        return qr(F, mode="economic")
    if not np.all(np.isfinite(Q)) or np.abs(Q.T @ Q - np.eye(k)).max() > 1e-8:
        return qr(F, mode="economic")
    return Q, R


def top_left_singular_vectors(matmul, rmatmul, shape, k, n_iter, rng):
    """Top-k left singular vectors of an operator by subspace iteration.

    A randomized range finder (Halko, Martinsson and Tropp, 2011) with
    ``n_iter`` power iterations, re-orthonormalized at every product.  The
    operator is given by its products, ``matmul(B) = A @ B`` and
    ``rmatmul(B) = A.T @ B``, so a caller can split them over its workers or
    rescale them on the fly.
    """
    n_over = min(k + 10, min(shape)) - k
    Q, _ = orthonormalize(matmul(rng.standard_normal((shape[1], k + n_over))))
    for _ in range(n_iter):
        Q, _ = orthonormalize(rmatmul(Q))
        Q, _ = orthonormalize(matmul(Q))
    # Small SVD of Q^T A (k + n_over rows) gives the singular vectors.
    B = rmatmul(Q).T
    W, _, _ = svd(B, full_matrices=False)
    return Q @ W[:, :k]


def top_singular_triplet(M, rng, n_iter=30):
    """Largest singular value and vectors of a small dense matrix."""
    if min(M.shape) <= 64:
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        return s[0], U[:, 0], Vt[0]
    # Larger matrices: a few subspace iterations are enough for a scale.
    v = rng.standard_normal(M.shape[1])
    for _ in range(n_iter):
        u = M @ v
        u /= max(np.linalg.norm(u), np.finfo(float).tiny)
        v = M.T @ u
        s = np.linalg.norm(v)
        v /= max(s, np.finfo(float).tiny)
    return s, u, v
