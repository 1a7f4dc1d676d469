"""Nyström solves and kernels: arrays in, arrays out.

The Nyström KRR estimator restricted to a dictionary ``D``: with ``C = K(X,
X_D)`` and ``W = K(X_D, X_D)`` the dual coefficients solve ``(C^T C + alpha W)
a = C^T y``.  The normal equations are accumulated over row blocks in the
whitened basis ``Phi = C R^-1`` (``R^T R = W + delta I``).  Also the fast rbf
kernel used on every hot path.
"""

import numpy as np
from scipy import linalg
from scipy.linalg.blas import dsyrk as _syrk
from scipy.spatial.distance import cdist

from sklearn_lowrank._threads import blas_workers, bounded_blas_threads

# Kernels whose value at (x, x) is 1 for every x: no need to evaluate them.
_UNIT_DIAGONAL_KERNELS = {"rbf", "laplacian"}
# Rows of X per kernel block when streaming K(X, X_D): ~64 MB per block.
_BLOCK_BYTES = 64 * 2**20


def _cholesky_with_jitter(A):
    """Lower Cholesky factor of an SPD matrix, with scale-relative jitter if needed."""
    scale = max(np.trace(A) / max(A.shape[0], 1), np.finfo(float).tiny)
    jitter = 0.0
    for _ in range(8):
        try:
            return linalg.cholesky(
                A + jitter * np.eye(A.shape[0]), lower=True, check_finite=False
            )
        except linalg.LinAlgError:
            jitter = max(jitter * 100, 1e-12 * scale)
    raise linalg.LinAlgError(
        "The dictionary kernel matrix is not positive definite even with "
        "jitter; is the kernel positive semidefinite?"
    )


def _whitening_factor(W):
    """Upper Cholesky factor ``R`` of ``W + delta I`` (``W = K_DD``).

    The Nyström features ``Phi = C R^-1`` satisfy ``Phi Phi^T = C (W +
    delta I)^-1 C^T``, the Nyström approximation up to a scale-relative jitter
    ``delta`` (~1e-11 of the mean diagonal for m = 2000).  The jitter keeps
    ``R^-1`` bounded when landmarks nearly coincide or the kernel is wide,
    instead of inverting ``W`` explicitly (as FALKON does, with a trace-scaled
    jitter).
    """
    m = W.shape[0]
    if m == 0:
        return np.zeros((0, 0))
    scale = max(np.trace(W) / m, np.finfo(float).tiny)
    A = W.copy()
    A[np.diag_indices_from(A)] += 100 * m * np.finfo(float).eps * scale
    return _cholesky_with_jitter(A).T


def _row_blocks(n_rows, n_cols):
    step = max(1, _BLOCK_BYTES // (8 * max(n_cols, 1)))
    return (slice(start, start + step) for start in range(0, n_rows, step))


def _whitened_normal_equations(kernel, X, y, landmarks, R, rows=None, progress=None):
    """``Phi^T Phi`` and ``Phi^T y`` for ``Phi = K(X, landmarks) R^-1``, by row blocks.

    Each block costs one triangular solve and one rank-k update (``syrk``):
    about ``2 n m^2`` flops in all, memory one block of K_nm.  Whitening the
    blocks before accumulating keeps the rounding error at ``eps ||Phi||^2``;
    accumulating ``C^T C`` and whitening afterwards would amplify it by the
    condition number of ``K_DD`` (it fails outright for wide kernels).

    ``rows`` (an index array) restricts the sum to those rows of ``X``.  ``y``
    is divided by its largest magnitude before the products and the result
    multiplied back, so that ``y`` near the float limits cannot overflow the
    sums: the solution is linear in ``y``.  ``progress(done, total)`` is
    called after every block.
    """
    r = R.shape[0]
    gram = np.zeros((r, r), order="F")
    rhs = np.zeros((r,) + y.shape[1:])
    if r == 0:
        return gram, rhs
    n = X.shape[0] if rows is None else rows.shape[0]
    y_scale = float(np.max(np.abs(y), initial=0.0)) or 1.0
    done = 0
    for block in _row_blocks(n, r):
        idx = block if rows is None else rows[block]
        # Phi_b^T = R^-T C_b^T; C_b^T is Fortran-ordered, no copy is made.  A
        # solve, not a multiply by a computed R^-1: the inverse's rounding
        # (eps cond(R) in every entry) would enter every block alike and
        # put Phi in a basis other than the one the solution is mapped back
        # with.
        Phi_t = linalg.solve_triangular(
            R,
            kernel(X[idx], landmarks).T,
            trans="T",
            check_finite=False,
            overwrite_b=True,
        )
        gram = _syrk(1.0, Phi_t, beta=1.0, c=gram, trans=0, overwrite_c=True)
        rhs += Phi_t @ (y[idx] / y_scale)
        done += Phi_t.shape[1]
        if progress is not None:
            progress(done, n)
    # syrk fills the upper triangle only.
    return np.triu(gram) + np.triu(gram, 1).T, rhs * y_scale


def _change_of_basis(R_old, cross, R_new):
    """``M = R_old^-T K(D_old, D_new) R_new^-1``: old features -> new features.

    For data x, ``k(x, D_new) ~ k(x, D_old) W_old^-1 K(D_old, D_new)`` (the
    Nyström reconstruction), i.e. ``Phi_new(x) ~ Phi_old(x) M``; exact for
    landmarks that stay in the dictionary.
    """
    left = linalg.solve_triangular(R_old, cross, trans="T", check_finite=False)
    return linalg.solve_triangular(R_new, left.T, trans="T", check_finite=False).T


def _solve_whitened(gram, rhs, R, alpha):
    """Dual coefficients ``a = R^-1 (Phi^T Phi + alpha I)^-1 Phi^T y``.

    This is ``(C^T C + alpha W)^-1 C^T y`` written in the whitened basis, where
    the system matrix is well conditioned (eigenvalues >= alpha).
    """
    if R.shape[0] == 0:
        return np.zeros((0,) + rhs.shape[1:])
    H = gram + alpha * np.eye(gram.shape[0])
    beta = linalg.cho_solve(linalg.cho_factor(H, check_finite=False), rhs)
    return linalg.solve_triangular(R, beta, check_finite=False)


def _stream_predict(kernel, X, landmarks, dual_coef):
    out = np.empty((X.shape[0],) + dual_coef.shape[1:])
    for rows in _row_blocks(X.shape[0], landmarks.shape[0]):
        out[rows] = kernel(X[rows], landmarks) @ dual_coef
    return out


# Entries of K per tile in _rbf_kernel: 2 MB, so that the elementwise passes
# after the GEMM run in cache rather than from memory.
_RBF_TILE = 2**18
# Tiles from which _rbf_kernel shares its tiles between worker threads.
_RBF_PARALLEL_TILES = 4


def _rbf_kernel(X, Y, gamma):
    """``exp(-gamma ||x - y||^2)`` as sklearn's ``rbf_kernel``, without validation.

    The exponent is ``2 gamma x.y - gamma |x|^2 - gamma |y|^2`` (the expansion
    sklearn uses for float64 input, scaled by ``-gamma`` before rather than
    after), clipped at 0 and exponentiated in place.  Tiles of rows keep the
    four elementwise passes in cache: out of cache they cost more than the
    GEMM and the exp together.

    The expansion loses ``eps * gamma * |x|^2`` to cancellation, which is
    harmless for data of moderate scale but turns ``k(x, x)`` into
    ``exp(-huge)`` when ``gamma |x|^2`` is near the float limits; there the
    squared distances are computed directly (``cdist``), which is exact up to
    rounding at any scale and overflows only to the right limit, 0.
    """
    x_sq = gamma * np.einsum("ij,ij->i", X, X)
    y_sq = gamma * np.einsum("ij,ij->i", Y, Y)
    largest = max(np.max(x_sq, initial=0.0), np.max(y_sq, initial=0.0))
    if not largest < _EXPANSION_SAFE:
        with np.errstate(over="ignore", invalid="ignore"):
            d2 = cdist(X, Y, "sqeuclidean")
            d2 *= gamma
        # 0 * inf cannot occur (gamma > 0 and d2 finite or inf), but a NaN
        # from inf - inf in X itself is rejected by input validation.
        np.negative(d2, out=d2)
        return np.exp(d2, out=d2)
    K = np.empty((X.shape[0], Y.shape[0]))
    # C-contiguous: numpy hands a transposed (Fortran) operand to a slower
    # GEMM path.  One BLAS thread per tile: each tile's GEMM is small (inner
    # dimension d), and BLAS threads spin-waiting on every tile slowed the
    # kernel down many times on a busy machine (see the User Guide).  Large
    # kernels split their tiles between the package's worker threads
    # instead: numpy releases the GIL in the GEMM and the elementwise passes,
    # and a plain thread that loses its core just waits.
    Y_scaled_t = np.ascontiguousarray((2.0 * gamma) * Y.T)
    step = max(1, _RBF_TILE // max(Y.shape[0], 1))

    def fill(start):
        tile = K[start : start + step]
        np.matmul(X[start : start + step], Y_scaled_t, out=tile)
        tile -= x_sq[start : start + step, None]
        tile -= y_sq
        np.minimum(tile, 0.0, out=tile)
        np.exp(tile, out=tile)

    starts = range(0, X.shape[0], step)
    if len(starts) >= _RBF_PARALLEL_TILES:
        with blas_workers() as workers:
            workers.map(fill, starts)
    else:
        with bounded_blas_threads(max_threads=1):
            for start in starts:
                fill(start)
    return K


# Largest ``gamma |x|^2`` for which the expansion in _rbf_kernel keeps
# ``k(x, x) = 1`` to ~1e-8: the cancellation error is ~eps times it.
_EXPANSION_SAFE = 1e7


def _blockwise_diagonal(kernel, X, block=256):
    """``k(x_i, x_i)`` for every row, without forming the n x n kernel."""
    diag = np.empty(X.shape[0])
    for start in range(0, X.shape[0], block):
        Xb = X[start : start + block]
        diag[start : start + block] = np.diag(kernel(Xb, Xb))
    return diag
