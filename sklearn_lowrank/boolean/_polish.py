"""Exact Boolean polishing (beyond the paper): row and column solves of the
Boolean product with the other factor fixed, by enumeration of all tile sets
(small k) or by exact bit flips, on blocks so sparse data stays sparse."""

import numpy as np
import scipy.sparse as sp

from sklearn_lowrank._messages import verbose_print

# Cells per dense block in the Boolean passes (float32: 4 bytes a cell, a few
# temporaries of this size live at once): ~16 MB per temporary.
_BLOCK_CELLS = 4_000_000

# The exact row/column solves enumerate all 2^k tile sets: up to k = 10 the
# scoring table (rows x 2^k) stays small, beyond that only bit flips.
_EXACT_MAX_TILES = 10


def _row_block(X, rows):
    """``X[rows]`` (dense or CSR, as X); a view for consecutive dense rows."""
    rows = np.asarray(rows) if not isinstance(rows, slice) else rows
    if (
        not isinstance(rows, slice)
        and rows.size
        and rows[-1] - rows[0] + 1 == rows.size
    ):
        rows = slice(int(rows[0]), int(rows[-1]) + 1)
    return X[rows]


def _dense_block(X, rows, cols):
    """``X[rows][:, cols]`` as a dense float32 array (X dense or CSR)."""
    block = _row_block(X, rows)
    if cols is not None:
        block = block[:, cols]
    if sp.issparse(block):
        return block.toarray().astype(np.float32, copy=False)
    return np.asarray(block, dtype=np.float32)


def _flip_descent_block(Xb, Ub, V, max_flips):
    """Best-single-flip descent on rows of U, V fixed, for one dense block.

    Rows are independent given V, so every row takes its best improving flip
    at once; a row with no improving flip is final and leaves the active set.
    Each accepted flip strictly lowers that row's number of wrong cells.

    Parameters
    ----------
    Xb : ndarray of float32 of shape (b, m)
        Binary data of the block.
    Ub : ndarray of float32 of shape (b, k)
        Binary starting rows (modified in place).
    V : ndarray of float32 of shape (k, m)
        Binary tiles.
    max_flips : int
        Maximum number of flips per row.

    Returns
    -------
    Ub : ndarray of float32 of shape (b, k)
        Improved rows.
    errors : ndarray of shape (b,)
        Wrong cells per row of ``Xb`` vs the Boolean product ``Ub o V``.
    """
    # S_ij = +1 where X_ij = 0 (covering it adds an error), -1 where X_ij = 1.
    S = 1.0 - 2.0 * Xb
    cover = Ub @ V  # how many tiles cover each cell
    Vt = np.ascontiguousarray(V.T)
    active = np.arange(Xb.shape[0])
    for _ in range(max_flips):
        if active.size == 0:
            break
        Sa, Ca = S[active], cover[active]
        # Gain of switching tile k on: sum over its uncovered cells of S.
        gain_on = np.where(Ca == 0, Sa, 0.0) @ Vt
        # Gain of switching it off: minus the sum over cells covered only by it.
        gain_off = -(np.where(Ca == 1, Sa, 0.0) @ Vt)
        delta = np.where(Ub[active] > 0, gain_off, gain_on)
        best = np.argmin(delta, axis=1)
        improving = delta[np.arange(active.size), best] < -0.5  # integer gains
        if not improving.any():
            break
        rows, tiles = active[improving], best[improving]
        sign = 1.0 - 2.0 * Ub[rows, tiles]  # +1 switches on, -1 switches off
        Ub[rows, tiles] += sign
        cover[rows] += sign[:, None] * V[tiles]
        active = rows
    errors = np.abs(Xb - (cover > 0)).sum(axis=1)
    return Ub, errors


def _exact_rows_block(Xb, V, subsets, row_ones=None, rows=None):
    """Best binary row for each row of a block, V fixed, by enumeration.

    Row i under the tile set s has ``|x_i| + |c_s| - 2 <x_i, c_s>`` wrong
    cells, ``c_s`` being the cells the tiles of s cover.  The columns fall
    into classes by their *signature*, the set of tiles that cover them
    (usually a few dozen classes, at most ``min(m, 2^k)``), and ``c_s`` is
    the union of the classes whose signature meets s.  So one sparse product
    with the column-to-class indicator gives each row's ones per class (one
    addition per stored cell), and a dense one with the class-meets-set
    table scores every row against every tile set: ``nnz + b S 2^k`` flops
    for S classes instead of ``b m 2^k``.  Ties go to the first set in
    binary order.

    Parameters
    ----------
    Xb : ndarray of float32 or CSR matrix of shape (b, m)
        Binary data of the block.
    V : ndarray of float32 of shape (k, m)
        Binary tiles.
    subsets : ndarray of float32 of shape (2**k, k)
        All binary rows, in binary order.
    row_ones : ndarray of shape (b,) or None
        Ones per row of the block, if already known.
    rows : ndarray of int or None
        Solve only these rows of Xb (then b is their number): a dense
        block can then be a view of consecutive rows of X, where copying
        the selected rows out would cost more than counting all of them.

    Returns
    -------
    Ub : ndarray of float32 of shape (b, k)
        Optimal rows.
    errors : ndarray of shape (b,)
        Their wrong cells.
    """
    m = Xb.shape[1]
    b = Xb.shape[0] if rows is None else rows.size
    bits = 1 << np.arange(V.shape[0], dtype=np.int64)
    signature = bits @ (V > 0)  # tiles covering each column, as a bit set
    classes, column_class = np.unique(signature, return_inverse=True)
    class_sizes = np.bincount(column_class, minlength=classes.size).astype(np.float32)
    # The one-hot column -> class table as a sparse matrix: one addition per
    # stored cell of the block, where a dense product would spend S
    # multiply-adds per cell; sparse X stays sparse.
    indicator = sp.csr_matrix(
        (np.ones(m, dtype=np.float32), (np.arange(m), column_class)),
        shape=(m, classes.size),
    )
    ones_per_class = Xb @ indicator  # exact: integer counts < 2^24
    if sp.issparse(ones_per_class):
        ones_per_class = ones_per_class.toarray()
    ones_per_class = np.asarray(ones_per_class, dtype=np.float32)
    if rows is not None:
        ones_per_class = ones_per_class[rows]
    set_codes = (subsets > 0) @ bits
    best = np.full(b, np.inf, dtype=np.float32)
    arg = np.zeros(b, dtype=np.intp)
    chunk = max(1, _BLOCK_CELLS // max(b, classes.size, 1))
    for s0 in range(0, set_codes.size, chunk):
        meets = ((classes[:, None] & set_codes[None, s0 : s0 + chunk]) != 0).astype(
            np.float32
        )
        extra = class_sizes @ meets - 2.0 * (ones_per_class @ meets)
        cand = np.argmin(extra, axis=1)
        value = extra[np.arange(b), cand]
        better = value < best
        best[better] = value[better]
        arg[better] = cand[better] + s0
    if row_ones is None:
        row_ones = _row_ones(Xb if rows is None else Xb[rows])
    return subsets[arg], best + row_ones


def _all_subsets(k):
    """The 2^k binary rows of length k, in binary order (row 0 is empty)."""
    return ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(np.float32)


def _boolean_rows_pass(X, U, V, *, max_flips=None, exact=False, row_ones=None):
    """Improve every row of U, V fixed: exact bit flips or exact optimum.

    With ``exact=False`` each row takes the best single bit flip while one
    lowers its number of wrong cells (a local optimum of single flips).
    With ``exact=True`` each row is replaced by the best of all ``2^k``
    tile sets (the global optimum for that row given V); the scores of all
    sets are a rows x ``2^k`` table (see :func:`_exact_rows_block`), so it
    is meant for small k.

    Works block by block on rows, only on the columns that some tile covers
    (other columns are never covered, whatever U is), and only on the rows
    that can change or that use a tile: a row without tiles whose best
    single tile would add more wrong cells than it removes (known from the
    sparse product ``X V^T``) stays empty, and all its ones are wrong.  On
    sparse data with small tiles this skips most rows.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n, m)
        Binary data.
    U : ndarray of shape (n, k) or None
        Starting rows; None starts from the majority rule: tile k is on in
        row i if the row holds at least half of the tile.
    V : ndarray of shape (k, m)
        Binary tiles.
    max_flips : int or None
        Maximum flips per row (default ``2 k + 2``).
    exact : bool, default=False
        Solve each row exactly over all tile sets instead of by flips.
    row_ones : ndarray of shape (n,) or None
        Ones per row of X, if already known (the polish passes many times
        over the same X).

    Returns
    -------
    U : ndarray of float64 of shape (n, k)
        Binary rows, each a local optimum of single flips (or capped), or
        the best row for V with ``exact=True``.
    n_wrong : int
        Wrong cells of ``U o V`` against X.
    """
    n, m = X.shape
    k = V.shape[0]
    if max_flips is None:
        max_flips = 2 * k + 2
    V = np.asarray(V, dtype=np.float32)
    sizes = V.sum(axis=1)
    # overlap_ik = |x_i AND v_k|: switching tile k on in an empty row changes
    # its wrong cells by |v_k| - 2 overlap_ik.
    overlap = np.asarray(X @ V.T.astype(X.dtype))
    if U is None:
        U = (overlap >= 0.5 * sizes) & (sizes > 0)
    U = np.asarray(U, dtype=np.float32).copy()
    if row_ones is None:
        row_ones = _row_ones(X)
    nnz_X = int(row_ones.sum())
    cols = np.flatnonzero(V.any(axis=0))
    rows = np.flatnonzero(U.any(axis=1) | (2 * overlap > sizes).any(axis=1))
    if cols.size == 0 or rows.size == 0:
        return U.astype(np.float64), nnz_X
    Vc = np.ascontiguousarray(V[:, cols])
    subsets = _all_subsets(k) if exact else None
    # Dense blocks hold cols.size cells per row; the exact pass copies whole
    # rows of dense X (all m columns), sparse rows stay sparse.
    width = m if exact and not sp.issparse(X) else cols.size
    block = max(1, _BLOCK_CELLS // width)
    # Start from "every one is wrong" and correct it on the processed cells.
    n_wrong = nnz_X
    for start in range(0, rows.size, block):
        idx = rows[start : start + block]
        if exact:
            # The enumeration needs only each row's ones per column class;
            # the columns no tile covers form the class that meets no set,
            # so the rows go in whole (a view or a row copy, sparse kept
            # sparse) instead of gathered on the covered columns.
            ones = row_ones[idx]
            span = idx[-1] - idx[0] + 1
            if sp.issparse(X) or span > 2 * idx.size:
                Xb, sel = _row_block(X, idx), None
            else:
                # Most rows of the span are wanted: count them all on a view
                # rather than copy the wanted ones out (a fresh n x m array
                # per pass, whose page faults cost more than the counting).
                Xb, sel = X[idx[0] : idx[-1] + 1], idx - idx[0]
            U[idx], errors = _exact_rows_block(Xb, V, subsets, ones, rows=sel)
            n_wrong += int(errors.sum()) - int(ones.sum())
        else:
            Xb = _dense_block(X, idx, cols if cols.size < m else None)
            U[idx], errors = _flip_descent_block(Xb, U[idx], Vc, max_flips)
            n_wrong += int(errors.sum()) - _count_ones(Xb)
    return U.astype(np.float64), int(n_wrong)


def _count_ones(X):
    if sp.issparse(X):
        return int(X.count_nonzero())
    return int(np.count_nonzero(X))


def _row_ones(X):
    """Ones per row of binary X (CSR without explicit zeros, or dense)."""
    if sp.issparse(X):
        return np.diff(X.indptr).astype(np.int64)
    return np.count_nonzero(X, axis=1).astype(np.int64)


def _boolean_polish(X, XT, U, V, *, max_passes, exact=False, verbose=0, estimator=None):
    """Alternate Boolean passes on U and on V until the error stops falling.

    Every pass keeps each row (column) of the factor at a local optimum of
    single bit flips, or with ``exact=True`` at its best value given the
    other factor, so the number of wrong cells never increases.

    Returns
    -------
    U : ndarray of shape (n, k)
    V : ndarray of shape (k, m)
    n_wrong : int
    curve : list of int
        Wrong cells after each half-pass.
    """
    row_ones, col_ones = _row_ones(X), _row_ones(XT)
    U, n_wrong = _boolean_rows_pass(X, U, V, exact=exact, row_ones=row_ones)
    curve = [n_wrong]
    for _ in range(max_passes):
        Vt, wrong_v = _boolean_rows_pass(XT, V.T, U.T, exact=exact, row_ones=col_ones)
        curve.append(wrong_v)
        if wrong_v >= n_wrong:
            # U is already the pass's answer for the current V: keep both.
            break
        V = Vt.T
        U, n_wrong = _boolean_rows_pass(X, U, V, exact=exact, row_ones=row_ones)
        curve.append(n_wrong)
        if verbose > 1:
            verbose_print(
                estimator, f"polish{' (exact)' * exact}: {n_wrong} wrong cells"
            )
    return U, np.ascontiguousarray(V), n_wrong, curve


def _boolean_errors(X, U, V):
    """Wrong cells of the Boolean product ``U o V`` against X, blockwise.

    Only the rows that use a tile and the columns that a tile covers can be
    covered; every one elsewhere is wrong, so only that part is densified.
    """
    U = np.asarray(U, dtype=np.float32)
    V = np.asarray(V, dtype=np.float32)
    rows = np.flatnonzero(U.any(axis=1))
    cols = np.flatnonzero(V.any(axis=0))
    n_wrong = _count_ones(X)
    if rows.size == 0 or cols.size == 0:
        return n_wrong
    Vc = V[:, cols]
    block = max(1, _BLOCK_CELLS // cols.size)
    for start in range(0, rows.size, block):
        idx = rows[start : start + block]
        Xb = _dense_block(X, idx, cols if cols.size < X.shape[1] else None)
        cover = (U[idx] @ Vc) > 0
        # Replace the block's ones (counted as wrong) by its true errors.
        n_wrong += int(np.count_nonzero(Xb != cover)) - int(np.count_nonzero(Xb))
    return n_wrong


def _unique_rows(B):
    """Distinct rows of a boolean array: first index of each, inverse, counts.

    Rows are packed into bytes and compared as single fixed-width values,
    which is much faster than ``np.unique(..., axis=0)`` on many short rows.
    """
    packed = np.packbits(B, axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1])))
    _, first, inverse, counts = np.unique(
        keys.ravel(), return_index=True, return_inverse=True, return_counts=True
    )
    return first, inverse.ravel(), counts
