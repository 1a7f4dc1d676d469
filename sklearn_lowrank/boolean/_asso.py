"""Asso's greedy Boolean cover (Miettinen et al., IEEE TKDE 2008), used as a
starting point for Elbmf and the polish."""

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import ssyrk as _ssyrk

from sklearn_lowrank.boolean._polish import _BLOCK_CELLS, _dense_block, _unique_rows

# Asso's dense tables (C x m association rows and n x C gains for C
# candidate tiles) hold at most this many cells together (~100 MB in
# float32): C is capped at this / (n + m), keeping the most frequent columns
# as generators of candidates.
_ASSO_MAX_CELLS = 25_000_000

# Default grid of Asso's association threshold: each value gives one
# candidate set of tiles; the best after polishing is kept.
_ASSO_TAUS = (0.3, 0.5, 0.7, 0.9)
# Candidate tables sparser than this are multiplied as sparse matrices.
_SPARSE_CANDIDATES = 0.05


def _column_confidence(X, XT, generators=None):
    """Association confidences between columns, ``conf(i => j)``.

    ``conf[i, j] = |x_i AND x_j| / |x_i|`` over the columns ``x_i`` of X (0
    for an empty column i): the share of the rows holding column i that
    also hold column j.  Dense float32 (the co-occurrence counts are
    computed sparse for sparse X).

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n, m)
    XT : ndarray or CSR matrix of shape (m, n)
        Its transpose.
    generators : ndarray of int or None
        The columns i to compute the rows of (default: all).

    Returns
    -------
    conf : ndarray of float32 of shape (len(generators), m)
    """
    if generators is None:
        generators = np.arange(X.shape[1])
    if not sp.issparse(X) and np.array_equal(generators, np.arange(X.shape[1])):
        # All columns: X^T X is symmetric, and syrk computes half of it
        # (X.T is a Fortran view of X, so nothing is copied).
        co = _ssyrk(1.0, X.T, trans=0)
        co = np.triu(co) + np.triu(co, 1).T
    else:
        co = XT[generators] @ X
        co = co.toarray() if sp.issparse(co) else np.asarray(co)
    co = co.astype(np.float32, copy=False)
    counts = co[np.arange(generators.size), generators].copy()
    co /= np.maximum(counts, 1.0)[:, None]
    return co


def _asso_generators(X, max_cells):
    """Columns whose association rows become Asso's candidates.

    All columns while the dense tables (``C x m`` confidences and ``n x C``
    gains for C candidates) fit in ``max_cells``; beyond, the ``max_cells
    / (n + m)`` columns with the most ones (the ones whose tiles can cover
    the most), ties to the first column.
    """
    n, m = X.shape
    max_candidates = max(1, max_cells // (n + m))
    if m <= max_candidates:
        return np.arange(m)
    counts = np.asarray(X.sum(axis=0)).ravel()
    return np.sort(np.argsort(-counts, kind="stable")[:max_candidates])


def _asso_candidates(conf, tau):
    """Distinct non-empty rows of the association matrix cut at ``tau``.

    Row i of ``conf >= tau`` is the set of columns that co-occur with
    column i in at least a share ``tau`` of its rows: Asso's candidate
    tiles (column sets).

    Returns
    -------
    A : ndarray of bool of shape (n_candidates, m)
    """
    A = conf >= tau
    A = A[A.any(axis=1)]
    if A.shape[0] == 0:
        return A
    # Identical candidates have identical gains: keep one of each.
    first, _, _ = _unique_rows(A)
    return A[np.sort(first)]


def _asso_greedy(X, A, k):
    """Asso's greedy cover (Miettinen et al. 2008) with equal weights.

    Tile l is the candidate column set ``a`` (a row of ``A``) and row set
    ``c`` that most lower the number of wrong cells given tiles ``< l``:
    for a fixed ``a`` every row decides alone, and row i joins exactly when
    ``a`` covers more of its still-uncovered ones than zeros.  So the gain
    of ``a`` is ``sum_i max(g_i(a), 0)`` with ``g_i(a) = sum_{j in a,
    uncovered} (2 X_ij - 1)``.  The gains of all rows and candidates are
    kept in an n x C table and updated only on the rows that the chosen
    tile covers, on the columns it newly covers; the greedy stops early
    when no candidate lowers the error.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n, m)
        Binary data.
    A : ndarray of bool of shape (C, m)
        Candidate column sets.
    k : int
        Number of tiles.

    Returns
    -------
    U : ndarray of float64 of shape (n, k)
    V : ndarray of float64 of shape (k, m)
        Binary factors; tiles after an early stop are empty.
    """
    n, m = X.shape
    U = np.zeros((n, k), dtype=np.float32)
    V = np.zeros((k, m), dtype=np.float32)
    if A.shape[0] == 0:
        return U.astype(np.float64), V.astype(np.float64)
    At = np.ascontiguousarray(A.T, dtype=np.float32)  # m x C
    # Nothing is covered yet: g_i(a) = |x_i AND a| - |a \ x_i| = 2 X a - |a|.
    if not sp.issparse(X) and A.mean() < _SPARSE_CANDIDATES:
        # Small candidate sets (high thresholds): a sparse product does
        # about n nnz(A) additions instead of the n m C of BLAS, which is
        # the cheaper count on sparse enough tables (threshold measured in
        # the user guide).
        gains = X @ sp.csr_matrix(A, dtype=np.float32).T
        gains = np.ascontiguousarray(gains, dtype=np.float32)
    else:
        gains = np.asarray(X @ At.astype(X.dtype, copy=False), dtype=np.float32)
    gains *= 2.0
    gains -= At.sum(axis=0)
    # total[c] = sum_i max(g_i(c), 0), kept up to date on the rows each tile
    # changes (a fifth of the table for tiles of a fifth of the rows) rather
    # than recomputed from the whole n x C table.  Float64: the sums of
    # integer gains stay exact beyond float32's 2^24.
    total = np.maximum(gains, 0.0).sum(axis=0, dtype=np.float64)
    for tile in range(k):
        best = int(np.argmax(total))
        if not total[best] > 0.5:  # integer gains: nothing lowers the error
            break
        cols = np.flatnonzero(A[best])
        rows = np.flatnonzero(gains[:, best] > 0)
        V[tile, cols] = 1.0
        # Only the chosen rows change, and only on the tile's columns that
        # no earlier tile covered in that row: remove those cells' share
        # (2 X_ij - 1) from every candidate holding the column.
        Vc = V[:tile, cols]
        block = max(1, _BLOCK_CELLS // max(cols.size, 1))
        for start in range(0, rows.size, block):
            idx = rows[start : start + block]
            newly = (U[idx, :tile] @ Vc) == 0
            S = 2.0 * _dense_block(X, idx, cols) - 1.0
            old = gains[idx]
            total -= np.maximum(old, 0.0).sum(axis=0, dtype=np.float64)
            old -= (S * newly) @ At[cols]
            total += np.maximum(old, 0.0).sum(axis=0, dtype=np.float64)
            gains[idx] = old
        U[rows, tile] = 1.0
        # A chosen candidate is never chosen again.
        total[best] = -np.inf
    return U.astype(np.float64), V.astype(np.float64)
