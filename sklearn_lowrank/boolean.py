"""Boolean matrix factorization by proximal gradient descent (Elbmf).

Implements

    Sebastian Dalleiger and Jilles Vreeken, "Efficiently Factorizing Boolean
    Matrices using Proximal Gradient Descent", NeurIPS 2022 ("Elbmf").

A binary matrix X (n x m) is approximated by the Boolean product of binary
factors, ``X ~ U o V`` with ``(U o V)_ij = OR_k (U_ik AND V_kj)``.  Elbmf
relaxes U and V to non-negative reals, fits ``||X - UV||_F^2`` plus the
*elastic-binary* regularizer

    R(x) = sum min(kappa |x| + lam/2 x^2, kappa |x - 1| + lam/2 (x - 1)^2),

whose proximal operator has a closed form, by alternating (inertial)
proximal gradient steps with Lipschitz step sizes (PALM / iPALM), lets the
quadratic strength ``lam`` grow geometrically so that the factors are driven
to {0, 1}, and rounds at the end.

The relaxation uses the ordinary product, in which two overlapping tiles add
up to 2 instead of 1; with heavy overlap it settles on wrong tiles.  Beyond
the paper, :class:`BooleanMF` therefore also starts from thresholded NMF
factors and from the greedy cover of Asso (P. Miettinen et al., "The
Discrete Basis Problem", IEEE TKDE 2008), can restart, and finishes every
candidate with a Boolean polishing pass that alternates between the two
factors while the number of wrong cells falls: for up to 10 tiles every
row of U (column of V) is solved exactly over all 2^k tile sets given the
other factor, above that it takes greedy bit flips that strictly lower the
error.  The candidate with the fewest wrong cells is kept.

Sparse input stays sparse: the proximal gradient needs only ``X V^T`` and
``X^T U`` (sparse x dense) and k x k Gram matrices; the Boolean polishing
works on blocks of rows (or columns) restricted to the columns (rows) that
some tile covers, so no n x m dense temporary is formed.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import ssyrk as _ssyrk
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from sklearn_lowrank import _dask
from sklearn_lowrank._threads import blas_workers, bounded_fit
from sklearn_lowrank._validation import check_binary, check_rank

__all__ = ["BooleanMF"]

# Cells per dense block in the Boolean passes (float32: 4 bytes a cell, a few
# temporaries of this size live at once): ~16 MB per temporary.
_BLOCK_CELLS = 4_000_000

# The exact row/column solves enumerate all 2^k tile sets: up to k = 10 the
# scoring table (rows x 2^k) stays small, beyond that only bit flips.
_EXACT_MAX_TILES = 10

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


# --------------------------------------------------------------------------
# The paper: elastic-binary proximal operator and (i)PALM
# --------------------------------------------------------------------------


def _elastic_binary_prox(Z, l1, l2):
    """Proximal operator of the elastic-binary regularizer, clamped at 0.

    Elementwise ``argmin_{y >= 0} (y - z)^2 / 2 + l1 |y - b| + (l2 / 2)
    (y - b)^2`` where ``b`` is the closer of 0 and 1 to z (the regularizer is
    the minimum of the two branches, which are mirror images about 1/2):
    soft-thresholding of ``z - b`` by ``l1``, then shrinkage by ``1 + l2``.
    ``l1`` and ``l2`` already include the step size.

    The reference code omits the dead zone of the soft-threshold (it
    subtracts ``l1 sign(z - b)`` even when ``|z - b| < l1``, overshooting
    ``b``); this is the exact operator.

    Parameters
    ----------
    Z : ndarray
        Point at which to evaluate the operator.
    l1, l2 : float
        Step size times the l1 weight ``kappa`` and the l2 weight ``lam``.

    Returns
    -------
    Y : ndarray
        Same shape and dtype as Z, non-negative.
    """
    # In-place, one pass over the array per operation: this runs twice per
    # iteration on n x k and m x k arrays.
    b = (Z > 0.5).astype(Z.dtype)
    D = np.subtract(Z, b)
    Y = np.abs(D)
    Y -= l1
    np.maximum(Y, 0.0, out=Y)
    Y *= 1.0 / (1.0 + l2)
    np.copysign(Y, D, out=Y)
    Y += b
    np.maximum(Y, 0.0, out=Y)
    return Y


def _round_binary(Z):
    """Rounding of the reference code: the prox with kappa=1/2, lam->inf."""
    return (Z > 0.5).astype(np.float64)


def _palm_step(X, W, H, W_prev, l1, l2, beta):
    """One proximal gradient step on W for ``||X - W H^T||^2`` (H fixed).

    ``W`` is n x k, ``H`` is m x k (the other factor, transposed), ``X`` is
    n x m (dense or sparse).  With ``beta > 0`` this is the inertial (iPALM)
    step of Pock & Sabach: extrapolate from the previous iterate, then take
    the gradient step at the extrapolated point with step size ``2 (1 -
    beta) / ((1 + 2 beta) L)``; otherwise the PALM step ``1 / (1.1 L)``.
    ``L = ||H^T H||_F`` bounds the Lipschitz constant of the gradient in W
    (the Frobenius norm is an upper bound of the spectral norm).

    Returns the new W and ``X H`` (reused by the caller for the loss).
    """
    HtH = H.T @ H
    XH = X @ H
    lipschitz = max(float(np.linalg.norm(HtH)), 1e-4)
    if beta > 0:
        Y = W + beta * (W - W_prev)
        step = 2.0 * (1.0 - beta) / ((1.0 + 2.0 * beta) * lipschitz)
    else:
        Y = W
        step = 1.0 / (1.1 * lipschitz)
    # Y - step * (Y HtH - XH) = Y (I - step HtH) + step XH: one k x k product
    # and one axpy instead of three n x k temporaries.
    Z = Y @ (np.eye(HtH.shape[0], dtype=HtH.dtype) - step * HtH)
    Z += step * XH
    return _elastic_binary_prox(Z, l1 * step, l2 * step), XH


def _elbmf_palm(
    X,
    XT,
    U,
    Vt,
    *,
    l1_reg,
    l2_reg,
    reg_growth,
    max_iter,
    tol,
    beta,
    verbose=0,
):
    """Elbmf: alternating proximal gradient on the relaxed problem.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n, m)
        Binary data (float).
    XT : ndarray or CSR matrix of shape (m, n)
        Its transpose, in a layout fast for products (CSR for sparse X).
    U : ndarray of shape (n, k)
        Initial row factor (non-negative).
    Vt : ndarray of shape (m, k)
        Initial column factor, transposed.
    l1_reg, l2_reg, reg_growth : float
        ``kappa``, initial ``lam`` and the growth rate ``lam_t = lam_0
        reg_growth^t``.
    max_iter : int
        Maximum number of alternating iterations.
    tol : float
        Stop when the squared loss changes by less than ``tol * ||X||^2``.
    beta : float
        Inertia of iPALM (0 gives PALM).

    Returns
    -------
    U, Vt : ndarray
        Relaxed (not yet rounded) factors.
    losses : list of float
        ``||X - U V||_F^2`` after each iteration.
    converged : bool
        Whether the tolerance was met before ``max_iter``.
    """
    # The hot loop runs in float32: X holds 0/1 exactly, and the products
    # with X (the only O(nnz k) work) are twice as fast as in float64.
    X, XT = X.astype(np.float32, copy=False), XT.astype(np.float32, copy=False)
    U, Vt = U.astype(np.float32), Vt.astype(np.float32)
    sq_norm_X = float(_count_ones(X))
    scale = max(sq_norm_X, 1.0)
    U_prev, Vt_prev = U, Vt
    losses = []
    converged = False
    for t in range(max_iter):
        l2 = l2_reg * reg_growth**t
        U_new, _ = _palm_step(X, U, Vt, U_prev, l1_reg, l2, beta)
        U, U_prev = U_new, U
        Vt_new, XtU = _palm_step(XT, Vt, U, Vt_prev, l1_reg, l2, beta)
        Vt, Vt_prev = Vt_new, Vt
        # ||X - U V||^2 = ||X||^2 - 2 <V^T, X^T U> + <U^T U, V V^T>: only the
        # X^T U of the V step and k x k Gram matrices, never U V itself.
        XtU = XtU.astype(np.float64)
        U64, Vt64 = U.astype(np.float64), Vt.astype(np.float64)
        loss = max(
            sq_norm_X - 2.0 * np.vdot(Vt64, XtU) + np.vdot(U64.T @ U64, Vt64.T @ Vt64),
            0.0,
        )
        if verbose > 1:
            print(f"[BooleanMF] PALM iter {t + 1:4d}  lambda {l2:.3g}  loss {loss:.6g}")
        if losses and abs(losses[-1] - loss) <= tol * scale:
            losses.append(loss)
            converged = True
            break
        losses.append(loss)
    return U.astype(np.float64), Vt.astype(np.float64), losses, converged


# --------------------------------------------------------------------------
# Beyond the paper: exact Boolean bit-flip descent on blocks
# --------------------------------------------------------------------------


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
    # multiply-adds per cell (4x faster at S ~ 400); sparse X stays sparse.
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


def _boolean_polish(X, XT, U, V, *, max_passes, exact=False, verbose=0):
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
            print(f"[BooleanMF] polish{' (exact)' * exact}: {n_wrong} wrong cells")
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


def _nmf_start(X, k, random_state):
    """Starting factors for Elbmf from NMF (tiles of a real-valued fit).

    Each NMF component is rescaled so that its row and column factors have
    the same maximum, so that a planted tile (a constant block) comes out as
    two indicator vectors.
    """
    # Only the supports matter (Elbmf and the polish refine them), so a
    # loose tolerance is enough: against 1e-3, tol=1e-2 stopped NMF after
    # 23 instead of 54 iterations at 2000 x 2000 and gave the same final
    # Boolean loss on 22 of 27 planted and real matrices, a lower one on 5.
    nmf = NMF(
        n_components=k,
        init="nndsvd",
        solver="cd",
        max_iter=100,
        tol=1e-2,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        # A loose NMF is all that is needed; its own max_iter is not the
        # user's concern.
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = nmf.fit_transform(X)
    return _balance_components(W, nmf.components_)


# --------------------------------------------------------------------------
# Beyond the paper: Asso's greedy cover as a starting point
# --------------------------------------------------------------------------


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
    packed = np.packbits(A, axis=1)
    _, first = np.unique(packed, axis=0, return_index=True)
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
        # about n nnz(A) additions instead of the n m C of BLAS, which it
        # beats below ~10% density (5x faster at 1%).
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


def _balance_components(W, H):
    """Rescale each component so that ``W[:, k]`` and ``H[k]`` share the same
    maximum (the product ``W H`` is unchanged): a constant block then comes
    out as two indicator vectors, ready to be cut at 1/2."""
    w_max, h_max = W.max(axis=0), H.max(axis=1)
    ok = (w_max > 0) & (h_max > 0)
    scale = np.ones(W.shape[1])
    scale[ok] = np.sqrt(h_max[ok] / w_max[ok])
    return W * scale, H / scale[:, None]


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------


class BooleanMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Boolean matrix factorization by elastic-binary proximal gradient (Elbmf).

    Factorizes a binary matrix X (n_samples x n_features) as the Boolean
    product of binary factors, ``X ~ U o V`` with ``(U o V)_ij = OR_k
    (U_ik AND V_kj)``: every component is a *tile*, a set of rows
    (``U[:, k]``) times a set of columns (``V[k]``), and a cell is 1 if any
    tile covers it.  The fit is Elbmf (Dalleiger & Vreeken, 2022): a
    relaxation to non-negative factors with the elastic-binary regularizer,
    alternating proximal gradient steps (PALM, or iPALM with ``beta > 0``)
    whose regularization strength grows by ``reg_growth`` every iteration,
    and rounding.  Because the relaxation adds overlapping tiles instead of
    OR-ing them, the estimator also starts from thresholded NMF factors and
    from Asso's greedy Boolean cover (``init="auto"``), can restart from
    random factors (``n_init``) and polishes each candidate by exact Boolean
    row and column solves (bit flips above 10 tiles); the candidate with the
    fewest wrong cells wins.

    Parameters
    ----------
    n_components : int, default=10
        Number of tiles k; at most ``min(n_samples, n_features)``.
    binarize : float or None, default=None
        Threshold for real-valued input: entries strictly greater become 1,
        the others 0 (as in :class:`~sklearn.naive_bayes.BernoulliNB`).  With
        None, X must hold only 0 and 1 and any other value raises an error.
        Negative values are rejected in either case.
    init : {"auto", "random", "nmf", "asso"}, default="auto"
        Starting points. ``"random"``: Elbmf from the paper's uniform(0, 1)
        factors, one per restart.  ``"nmf"``: Elbmf from NMF factors
        rescaled so that each component's row and column parts have the
        same maximum.  ``"asso"``: the greedy tiles of Asso (Miettinen et
        al. 2008) for each threshold in ``asso_tau``, polished, and Elbmf
        from the best of them.  ``"auto"``: the NMF and Asso starts, plus
        ``n_init`` random ones; the candidate with the fewest wrong cells
        after polishing is kept, so it is never worse than any single one
        with the same ``n_init`` and ``random_state``.  Asso keeps two dense
        float32 tables, the association rows (n_candidates x n_features)
        and the gains (n_samples x n_candidates); n_candidates is capped so
        that they hold at most 25 million cells (~100 MB), taking the
        candidates from the most frequent columns when there are more
        columns than that allows (e.g. 227 of 10 000 for a 100 000 x 10 000
        input).
    asso_tau : float or array-like of float, default=(0.3, 0.5, 0.7, 0.9)
        Asso's association thresholds in (0, 1]: a candidate tile is the set
        of columns that appear in at least a share ``tau`` of the rows
        holding a given column.  Each value gives one greedy cover.
    n_init : int or "auto", default="auto"
        Number of Elbmf runs from random starting points (restarts); used by
        ``init="random"`` and ``init="auto"``.  ``"auto"`` (as in
        :class:`~sklearn.cluster.KMeans`) means 1 for ``init="random"`` and
        0 for ``init="auto"``: on the 32 planted and real matrices we
        compared (k = 4-20, heavy and light overlap), a random start never
        beat the NMF and Asso starts, and it is the slowest candidate
        (about a fifth of a fit at 2000 x 2000).  Set ``n_init=1`` or more
        to add random restarts to ``"auto"``.
    l1_reg : float, default=0.01
        ``kappa``, the l1 weight of the elastic-binary regularizer.
    l2_reg : float, default=0.02
        Initial ``lambda``, the l2 weight of the regularizer; it grows as
        ``l2_reg * reg_growth**t`` at iteration t.
    reg_growth : float, default=1.02
        Growth rate of the l2 weight (>= 1).  The number of iterations until
        the factors are essentially binary is about ``log(1/l2_reg) /
        log(reg_growth)``; larger rates are faster and cruder.
    beta : float, default=0.0
        Inertia of the iPALM steps in [0, 1); 0 gives plain PALM.
    max_iter : int, default=1000
        Maximum number of Elbmf (proximal gradient) iterations per run.
    tol : float, default=1e-4
        Elbmf stops when ``||X - UV||_F^2`` changes by less than ``tol *
        ||X||_F^2`` between iterations (relative, unlike the reference's
        absolute tolerance).  The polish that follows makes a loose
        tolerance enough: on planted data 1e-4 and 1e-6 gave the same
        polished factors with ~40% fewer iterations.
    polish : bool, default=True
        Finish every candidate by alternating Boolean passes over U and V
        while the number of wrong cells falls: each row of U (column of V)
        becomes the best of all ``2^k`` tile sets given the other factor
        for ``n_components <= 10``, else takes single bit flips that
        strictly lower its error.  Without it the output is the paper's
        rounded Elbmf factors (or Asso's greedy cover).
    max_polish_iter : int, default=50
        Maximum number of alternating polishing passes.
    random_state : int, RandomState instance or None, default=None
        Seed of the random starting points and of NMF.
    verbose : int, default=0
        Print progress (1: per candidate; 2: per iteration).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Binary tiles V (float64 holding only 0.0 and 1.0).
    reconstruction_err_ : int
        Number of wrong cells of ``inverse_transform(transform(X))`` on the
        training data.
    relative_reconstruction_err_ : float
        ``reconstruction_err_`` divided by the number of ones in X (the
        usual relative Boolean loss ``|X xor U o V| / |X|``).
    n_iter_ : int
        Number of Elbmf iterations of the selected candidate (0 if it is
        Asso's greedy cover, polished without Elbmf).
    loss_curve_ : ndarray of shape (n_iter_,)
        ``||X - UV||_F^2`` (relaxed, ordinary product) after each Elbmf
        iteration of the selected candidate.
    polish_curve_ : ndarray
        Wrong cells after rounding and after each polishing half-pass of the
        selected candidate (non-increasing).
    best_init_ : str
        Which starting point gave the selected factors: ``"nmf"``,
        ``"asso"`` or ``"random"``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit. Defined only when X has feature
        names that are all strings.

    See Also
    --------
    sklearn.decomposition.NMF : Real-valued non-negative factorization.
    sklearn.naive_bayes.BernoulliNB : Uses the same ``binarize`` convention.

    Notes
    -----
    Proven in the paper: the PALM/iPALM iterates of the regularized
    relaxation converge (Kurdyka-Lojasiewicz setting) for a fixed
    regularization strength.  Empirical: the growing strength drives the
    factors to {0, 1}.  The polishing never increases the Boolean loss and
    ends at a local optimum: for ``n_components <= 10`` no single row of U
    or column of V can be changed (to any tile set) to lower it, above
    that no single bit flip can.  Neither guarantees the global optimum,
    which is NP-hard to find.

    ``transform`` solves for binary rows with V fixed: exactly over all
    ``2^k`` tile sets when ``n_components <= 10``, else by exact bit flips
    started from the rule "use tile k if the row holds at least half of
    it".  A row that holds no tile's majority and uses no tile stays empty
    (no single tile would lower its error).  ``fit_transform`` returns the
    same thing for the training rows.

    References
    ----------
    .. [1] S. Dalleiger and J. Vreeken, "Efficiently Factorizing Boolean
       Matrices using Proximal Gradient Descent", Advances in Neural
       Information Processing Systems 35 (NeurIPS 2022).
    .. [2] P. Miettinen, T. Mielikainen, A. Gionis, G. Das and H. Mannila,
       "The Discrete Basis Problem", IEEE Transactions on Knowledge and Data
       Engineering 20(10), 2008 (Asso).
    .. [3] T. Pock and S. Sabach, "Inertial Proximal Alternating Linearized
       Minimization (iPALM) for Nonconvex and Nonsmooth Problems", SIAM J.
       Imaging Sciences 9(4), 2016.

    Examples
    --------
    >>> from sklearn_lowrank import BooleanMF
    >>> from sklearn_lowrank.datasets import make_boolean_tiles
    >>> X, U, V = make_boolean_tiles(100, 80, 3, random_state=0)
    >>> bmf = BooleanMF(n_components=3, random_state=0).fit(X)
    >>> bmf.reconstruction_err_
    0
    >>> bmf.transform(X).shape
    (100, 3)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "binarize": [None, Interval(Real, None, None, closed="neither")],
        "init": [StrOptions({"auto", "random", "nmf", "asso"})],
        "asso_tau": [Interval(Real, 0, 1, closed="right"), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "l1_reg": [Interval(Real, 0, None, closed="left")],
        "l2_reg": [Interval(Real, 0, None, closed="neither")],
        "reg_growth": [Interval(Real, 1, None, closed="left")],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "polish": ["boolean"],
        "max_polish_iter": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=10,
        *,
        binarize=None,
        init="auto",
        asso_tau=_ASSO_TAUS,
        n_init="auto",
        l1_reg=0.01,
        l2_reg=0.02,
        reg_growth=1.02,
        beta=0.0,
        max_iter=1000,
        tol=1e-4,
        polish=True,
        max_polish_iter=50,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.binarize = binarize
        self.init = init
        self.asso_tau = asso_tau
        self.n_init = n_init
        self.l1_reg = l1_reg
        self.l2_reg = l2_reg
        self.reg_growth = reg_growth
        self.beta = beta
        self.max_iter = max_iter
        self.tol = tol
        self.polish = polish
        self.max_polish_iter = max_polish_iter
        self.random_state = random_state
        self.verbose = verbose

    def _check_X(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
        )
        check_non_negative(X, f"{type(self).__name__} (input X)")
        X = check_binary(X, estimator=self, binarize=self.binarize)
        # Every solver works in float32 (X holds 0/1 exactly, and products
        # with X, BLAS or sparse, are memory-bound): convert once, here.
        if sp.issparse(X):
            X = X.astype(np.float32)
            X.eliminate_zeros()
            X.sort_indices()
        else:
            X = np.ascontiguousarray(X, dtype=np.float32)
        return X

    def _asso_taus(self):
        taus = np.atleast_1d(np.asarray(self.asso_tau, dtype=np.float64))
        if taus.ndim != 1 or taus.size == 0 or not np.all((taus > 0) & (taus <= 1)):
            raise ValueError(
                f"{type(self).__name__}: asso_tau must be a float or a "
                f"non-empty list of floats in (0, 1], got {self.asso_tau!r}."
            )
        return taus

    def _finish_candidate(self, X, XT, U, V, losses=(), converged=True):
        """Polish binary factors (if ``polish``) and score them: alternating
        exact solves of the rows of U and the columns of V for up to
        ``_EXACT_MAX_TILES`` tiles, else bit flips."""
        if self.polish:
            U, V, n_wrong, curve = _boolean_polish(
                X,
                XT,
                U,
                V,
                max_passes=self.max_polish_iter,
                exact=U.shape[1] <= _EXACT_MAX_TILES,
                verbose=self.verbose,
            )
        else:
            n_wrong = _boolean_errors(X, U, V)
            curve = [n_wrong]
        if self.verbose:
            print(
                f"[BooleanMF] candidate: {n_wrong} wrong cells, "
                f"{len(losses)} Elbmf iterations"
            )
        return dict(
            U=U,
            V=V,
            n_wrong=n_wrong,
            losses=list(losses),
            curve=curve,
            converged=converged,
        )

    def _elbmf_candidate(self, X, XT, U0, Vt0):
        """Elbmf from (U0, Vt0), rounded, then polished."""
        U, Vt, losses, converged = _elbmf_palm(
            X,
            XT,
            U0,
            Vt0,
            l1_reg=self.l1_reg,
            l2_reg=self.l2_reg,
            reg_growth=self.reg_growth,
            max_iter=self.max_iter,
            tol=self.tol,
            beta=self.beta,
            verbose=self.verbose,
        )
        U, V = _round_binary(U), _round_binary(Vt.T)
        return self._finish_candidate(X, XT, U, V, losses, converged)

    def _n_random_starts(self):
        """``n_init`` resolved: "auto" is 1 for init="random", else 0."""
        if self.n_init == "auto":
            return 1 if self.init == "random" else 0
        return self.n_init

    def _asso_confidence(self, X, XT):
        """Asso's association table of the candidate generator columns."""
        generators = _asso_generators(X, _ASSO_MAX_CELLS)
        if self.verbose and generators.size < X.shape[1]:
            print(
                f"[BooleanMF] Asso: candidates from the {generators.size} most "
                "frequent columns"
            )
        return _column_confidence(X, XT, generators)

    def _asso_cover(self, X, conf, k, tau):
        """Asso's greedy cover at one threshold, with its wrong cells."""
        U, V = _asso_greedy(X, _asso_candidates(conf, tau), k)
        n_wrong = _boolean_errors(X, U, V)
        if self.verbose:
            print(f"[BooleanMF] Asso tau={tau:g}: {n_wrong} wrong cells")
        return n_wrong, U, V

    def fit(self, X, y=None):
        """Fit the binary factors to X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self.fit_transform(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit_transform(self, X, y=None):
        """Fit the binary factors to X and return its binary row factors.

        The same as ``fit(X).transform(X)``, without solving the rows twice:
        ``fit`` solves them anyway to report ``reconstruction_err_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        U : ndarray of shape (n_samples, n_components)
            Binary (float64 0.0 / 1.0) memberships of each row in each tile.
        """
        X = self._check_X(X, reset=True)
        k = check_rank(self.n_components, X.shape, estimator=self)
        rng = check_random_state(self.random_state)
        n, m = X.shape
        XT = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)

        taus = self._asso_taus()
        # One seed per random candidate, drawn up front, so that each
        # candidate is the same whichever init runs it ("auto" tries the
        # union of the others, with the same n_init, and can only do better).
        seeds = rng.randint(np.iinfo(np.int32).max, size=1 + self._n_random_starts())

        def nmf_candidate():
            # Thresholded NMF factors: tiles that a real-valued fit finds
            # even when they overlap heavily.
            W, H = _nmf_start(X, k, seeds[0])
            start = (np.minimum(W, 1.0), np.minimum(H.T, 1.0))
            return self._elbmf_candidate(X, XT, *start)

        def random_candidate(seed):
            # The paper's uniform(0, 1) factors, one per restart.
            seed_rng = np.random.RandomState(seed)
            start = (seed_rng.uniform(size=(n, k)), seed_rng.uniform(size=(m, k)))
            return self._elbmf_candidate(X, XT, *start)

        # The candidates are independent and each has its own seed, so they
        # run concurrently (each on one BLAS thread, within the ceiling) and
        # the result does not depend on the order they finish in.  Asso is
        # the longest chain (association table -> one cover per threshold ->
        # the best cover polished, and also through Elbmf and the polish), so
        # its steps are tasks of their own, queued as soon as what they need
        # is there: the workers share them with the NMF and random starts
        # instead of one worker doing all of Asso, last and alone.  The
        # random starts (the longest Elbmf runs) are queued before the
        # covers, so that they do not start last.
        use_asso = self.init in ("auto", "asso")
        with blas_workers() as workers:
            if use_asso:
                conf = workers.submit(self._asso_confidence, X, XT)
            nmf = []
            if self.init in ("auto", "nmf"):
                nmf = [("nmf", workers.submit(nmf_candidate))]
            restarts = []
            if self.init in ("auto", "random"):
                restarts = [
                    ("random", workers.submit(random_candidate, s)) for s in seeds[1:]
                ]
            asso = []
            if use_asso:
                conf = conf.result()
                covers = [
                    workers.submit(self._asso_cover, X, conf, k, tau) for tau in taus
                ]
                covers = [cover.result() for cover in covers]
                del conf
                # The cover with the fewest wrong cells (the first on ties).
                _, U, V = min(covers, key=lambda cover: cover[0])
                # The longer of the two finishing runs first, so that it
                # starts first.
                elbmf = workers.submit(self._elbmf_candidate, X, XT, U, V.T)
                polished = workers.submit(self._finish_candidate, X, XT, U, V)
                asso = [("asso", polished), ("asso", elbmf)]
            families = {}
            # Families in a fixed order: ties go to the earlier one.
            for name, future in nmf + asso + restarts:
                families.setdefault(name, []).append(future.result())
        families = list(families.items())

        best = None
        any_unconverged = False
        for name, family in families:
            any_unconverged |= any(not c["converged"] for c in family)
            cand = min(family, key=lambda c: c["n_wrong"])
            if self.verbose:
                print(f"[BooleanMF] best {name} start: {cand['n_wrong']} wrong cells")
            if best is None or cand["n_wrong"] < best[1]:
                best = (name, cand["n_wrong"], cand["V"], cand["losses"], cand["curve"])

        name, _, V, losses, curve = best
        if any_unconverged:
            warnings.warn(
                f"{type(self).__name__}: Elbmf reached max_iter={self.max_iter} "
                "before the loss settled; increase max_iter or reg_growth.",
                ConvergenceWarning,
            )
        self.components_ = np.ascontiguousarray(V, dtype=np.float64)
        self.best_init_ = name
        self.n_iter_ = len(losses)
        self.loss_curve_ = np.asarray(losses, dtype=np.float64)
        self.polish_curve_ = np.asarray(curve, dtype=np.int64)
        # Report the error of what transform gives, so the attribute is
        # reproducible from the public API.
        U, self.reconstruction_err_ = self._solve_rows(X)
        self.relative_reconstruction_err_ = self.reconstruction_err_ / max(
            _count_ones(X), 1
        )
        return U

    @_dask.rowwise_transform(lambda est: len(est.components_))  # rows solved alone
    def transform(self, X):
        """Binary row factors U of X, with the tiles V fixed.

        For ``n_components <= 10`` each row is the best of all ``2^k``
        tile sets; otherwise it starts from "use tile k if the row holds at
        least half of it" and takes exact single bit flips while they lower
        the number of wrong cells of that row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).

        Returns
        -------
        U : ndarray of shape (n_samples, n_components)
            Binary (float64 0.0 / 1.0) memberships of each row in each tile.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        U, _ = self._solve_rows(X)
        return U

    def inverse_transform(self, X):
        """Boolean product ``U o V`` (not the real product ``U V``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Binary row factors U; any non-zero entry counts as 1.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``(U @ V > 0)`` as float64 0.0 / 1.0.
        """
        check_is_fitted(self)
        U = np.asarray(X, dtype=np.float64)
        if U.ndim != 2 or U.shape[1] != self.components_.shape[0]:
            raise ValueError(
                f"{type(self).__name__}.inverse_transform expects an array of "
                f"shape (n_samples, {self.components_.shape[0]}), got "
                f"{U.shape}."
            )
        return ((U != 0).astype(np.float64) @ self.components_ > 0).astype(np.float64)

    def score(self, X, y=None):
        """Minus the relative Boolean reconstruction error on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            ``-|X xor (transform(X) o V)| / max(|X|, 1)``; higher is better.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        _, n_wrong = self._solve_rows(X)
        return -n_wrong / max(_count_ones(X), 1)

    def _solve_rows(self, X):
        """Binary rows for X with the tiles fixed, and their wrong cells:
        the exact optimum per row for up to ``_EXACT_MAX_TILES`` tiles, else
        bit flips from the majority rule."""
        exact = self.components_.shape[0] <= _EXACT_MAX_TILES
        return _boolean_rows_pass(X, None, self.components_, exact=exact)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        return tags
