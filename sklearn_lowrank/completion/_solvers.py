"""Solvers of :class:`~sklearn_lowrank.AltMinCompleter`: arrays in, arrays out.

The alternating minimization of Jain, Netrapalli and Sanghavi (STOC 2013)
with the approximate least-squares updates of Gu, Song, Yin and Zhang (ICLR
2024).  One half-step solves, for every row ``i`` of a CSR matrix of observed
entries, the small ridge least-squares problem

    min_x  sum_{j in Omega_i} (obs_ij - other_j . x)^2 + lam_i ||x||^2

with ``other`` (n_cols x k) fixed.  Rows are solved in *blocks*: the rows are
sorted by their number of observations, cut into groups whose padded design
matrices ``A_i = other[Omega_i]`` (d_i x k, zero-padded to the group's
largest d_i) fill a fixed working budget, and each group is solved with
batched dense linear algebra.  The memory of a half-step is therefore
``O(n k + workers * budget)`` whatever ``|Omega|`` and ``k`` are (all the
per-row normal matrices at once would be ``n k^2`` floats), and the groups
are shared between the package's worker threads (numpy releases the GIL in
the gathers, the batched products and the batched solves).

Per group, three ways to solve (``method``):

``"exact"``
    Normal equations: ``G_i = A_i^T A_i`` by one batched matrix product,
    then one batched solve.  ``O(d_i k^2 + k^3)`` per row.
``"cg"``
    ``n_steps`` conjugate-gradient steps on the normal equations, warm
    started from the previous factor: ``O(d_i k)`` per step.
``"sketch"``
    The paper's solver: conjugate gradient preconditioned by ``R_i^{-1}``,
    where ``R_i`` is the triangular factor of a CountSketch ``S A_i`` with
    ``4 k`` rows (each observation hashed to one sketch row with a random
    sign).  Rows with at most ``4 k`` observations are not compressed
    (``R_i`` then comes from ``A_i`` itself and one step is exact).
"""

import numpy as np
import scipy.sparse as sp

from sklearn_lowrank._linalg import (
    orthonormalize,
    power_of_two_scale,
    top_left_singular_vectors,
)
from sklearn_lowrank._sketches import batched_countsketch

# Entries of the padded design matrices of one group (4M float64 = 32 MB);
# each worker holds about three such arrays at a time.
_BLOCK_ENTRIES = 2**22

# A group's rows are padded to its largest count; starting a new group when
# the count grows by this factor bounds the padding waste.
_PADDING_GROWTH = 1.5

# Below this many stored entries a half-step runs in the calling thread:
# handing tiny groups to workers costs more than it saves.
_PARALLEL_MIN_ENTRIES = 2**17

# Entries processed at once when gathering factor rows per observed entry.
_CHUNK = 2**18

# Relative ridge always added to the normal equations so that rows with fewer
# than k observations (or a rank-deficient factor) stay solvable; far below
# the accuracy any test or user asks for.
_JITTER = 1e-12

# Rows of the per-row CountSketch, in multiples of the rank.
_SKETCH_FACTOR = 4

# Shrinkage of the bias estimates: a bias is ``sum / (count + 10)``, so a row
# or column seen a few times stays close to 0 (cf. the baseline estimates of
# Koren, "Factor in the neighbors", 2010, and Surprise's reg_u / reg_i).
_BIAS_SHRINKAGE = 10.0

# Power iterations of the randomized range finder of the spectral start.
_POWER_ITERATIONS = 4

# Rounds of the alternating fit of the row and column biases.
_BIAS_ROUNDS = 10


# --------------------------------------------------------------------------
# Observed entries
# --------------------------------------------------------------------------


def observed_csr(X, *, copy):
    """The observed entries of X as a CSR matrix (stored entries = observed).

    Dense X: the non-NaN entries.  Sparse X: every stored entry, explicit
    zeros included (duplicates of COO input are summed).  Indices are sorted.
    Sparse CSR input in canonical form is used as is (float32 values stay
    float32) unless ``copy``: the caller then owns a float64 copy it may
    modify.
    """
    if sp.issparse(X):
        obs = sp.csr_matrix(X, copy=False)
        if copy or not obs.has_canonical_format:
            obs = sp.csr_matrix(obs, dtype=np.float64 if copy else obs.dtype, copy=True)
            obs.sum_duplicates()
        return obs
    X = np.asarray(X, dtype=np.float64)
    observed = ~np.isnan(X)
    rows, cols = np.nonzero(observed)
    indptr = np.concatenate([[0], np.cumsum(observed.sum(axis=1))])
    return sp.csr_matrix((X[rows, cols], cols, indptr), shape=X.shape)


def csr_rows(csr, start, stop):
    """Rows ``start:stop`` of a CSR matrix as a view (no copy of the data)."""
    lo, hi = csr.indptr[start], csr.indptr[stop]
    return sp.csr_matrix(
        (csr.data[lo:hi], csr.indices[lo:hi], csr.indptr[start : stop + 1] - lo),
        shape=(stop - start, csr.shape[1]),
    )


def spmm(csr, dense, workers):
    """``csr @ dense`` with the rows split between the worker threads."""
    n_rows = csr.shape[0]
    if workers.n_workers == 1 or csr.nnz < _PARALLEL_MIN_ENTRIES:
        return np.asarray(csr @ dense, dtype=np.float64)
    # Chunks of about equal numbers of stored entries.
    targets = np.linspace(0, csr.nnz, 4 * workers.n_workers + 1)
    bounds = np.unique(np.searchsorted(csr.indptr, targets).clip(0, n_rows))
    bounds[0], bounds[-1] = 0, n_rows
    out = np.empty((n_rows, dense.shape[1]))

    def run(start, stop):
        out[start:stop] = csr_rows(csr, start, stop) @ dense

    workers.map(run, bounds[:-1], bounds[1:])
    return out


def row_of_entry(csr):
    return np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))


def rowwise_dot(A, B, rows, cols):
    """``A[rows[e]] . B[cols[e]]`` for every e, in bounded-memory chunks."""
    out = np.empty(rows.size)
    for start in range(0, rows.size, _CHUNK):
        stop = start + _CHUNK
        out[start:stop] = np.einsum(
            "ij,ij->i",
            np.take(A, rows[start:stop], axis=0),
            np.take(B, cols[start:stop], axis=0),
        )
    return out


# --------------------------------------------------------------------------
# Biases
# --------------------------------------------------------------------------


def shrunken_row_means(csr, values):
    """Per-row ``sum(values) / (count + _BIAS_SHRINKAGE)`` over stored entries."""
    counts = np.diff(csr.indptr)
    sums = np.bincount(row_of_entry(csr), weights=values, minlength=csr.shape[0])
    return sums / (counts + _BIAS_SHRINKAGE)


def fit_column_biases(obs, mean):
    """Column biases of the baseline ``mean + b_i + c_j``, fitted alternately.

    The row biases are re-derived from the columns' by the caller, so that
    fitting and folding in compute them the same way.
    """
    rows, cols = row_of_entry(obs), obs.indices
    col_counts = np.bincount(cols, minlength=obs.shape[1])
    row_biases = np.zeros(obs.shape[0])
    for _ in range(_BIAS_ROUNDS):
        residual = obs.data - mean - row_biases[rows]
        col_sums = np.bincount(cols, weights=residual, minlength=obs.shape[1])
        col_biases = col_sums / (col_counts + _BIAS_SHRINKAGE)
        row_biases = shrunken_row_means(obs, obs.data - mean - col_biases[cols])
    return col_biases


# --------------------------------------------------------------------------
# Blocked per-row least squares
# --------------------------------------------------------------------------


def row_groups(indptr, k, budget=_BLOCK_ENTRIES):
    """Rows grouped for the blocked solves.

    Rows are sorted by their number of stored entries and cut into groups
    whose padded design (``n_group_rows x d_max x k``) and normal matrices
    (``n_group_rows x k x k``) each fit ``budget`` entries, starting a new
    group when the count grows by ``_PADDING_GROWTH``.  A row too long for
    the budget on its own is a group of one, solved in chunks.

    Returns
    -------
    groups : list of (rows, d_max)
        ``rows`` an index array, ``d_max`` the largest count in the group.
    """
    counts = np.diff(indptr).astype(np.int64)
    order = np.argsort(counts, kind="stable")
    sorted_counts = counts[order]
    n = order.size
    max_rows = max(1, budget // (k * k))
    groups = []
    start = 0
    while start < n:
        first = sorted_counts[start]
        # Largest stop with (stop - start) * d_max * k <= budget, the count
        # bounded by the padding growth, and at most max_rows rows.
        cap = max(first * _PADDING_GROWTH, first + 8)
        stop = min(n, start + max_rows, np.searchsorted(sorted_counts, cap, "right"))
        lo, hi = start + 1, stop
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if (mid - start) * max(sorted_counts[mid - 1], 1) * k <= budget:
                lo = mid
            else:
                hi = mid - 1
        stop = max(lo, start + 1)
        groups.append((order[start:stop], int(sorted_counts[stop - 1])))
        start = stop
    return groups


def _ridge(trace, k, ridge):
    """Per-row ridge: ``ridge`` plus a tiny jitter relative to each row's scale."""
    lam = ridge + _JITTER * trace / k
    # A row with no observation has a zero normal matrix: any positive ridge
    # makes its (zero right-hand side) system solvable, with solution 0.
    lam[trace == 0] = 1.0
    return lam


def _gather(csr, rows, d_max, other_ext, scale, offset=0):
    """Padded designs ``A`` (b x d x k) and right-hand sides ``y`` (b x d).

    Positions ``offset .. offset + d_max`` of each row's stored entries;
    padding points at the zero last row of ``other_ext`` and has value 0.
    """
    starts = csr.indptr[rows].astype(np.int64)
    counts = csr.indptr[rows + 1] - starts
    positions = np.arange(offset, offset + d_max)
    valid = positions < counts[:, np.newaxis]
    pos = np.where(valid, starts[:, np.newaxis] + positions, 0)
    cols = np.where(valid, csr.indices[pos], other_ext.shape[0] - 1)
    A = np.take(other_ext, cols, axis=0)
    y = np.where(valid, csr.data[pos], 0.0).astype(np.float64, copy=False) / scale
    return A, y


def _normal_products(A, y):
    gram = np.matmul(A.transpose(0, 2, 1), A)
    rhs = np.matmul(y[:, np.newaxis, :], A)[:, 0, :]
    return gram, rhs


def _solve_normal(gram, rhs, ridge):
    k = gram.shape[1]
    trace = np.einsum("ijj->i", gram)
    diag = np.arange(k)
    gram[:, diag, diag] += _ridge(trace, k, ridge)[:, np.newaxis]
    return np.linalg.solve(gram, rhs[:, :, np.newaxis])[:, :, 0]


def _squared_residuals(A, y, x):
    r = y - np.matmul(A, x[:, :, np.newaxis])[:, :, 0]
    return np.einsum("ij,ij->i", r, r)


def _long_row_exact(csr, row, d, other_ext, ridge, scale, budget):
    """Exact solve of one row too long for a block, accumulated in chunks."""
    k = other_ext.shape[1]
    step = max(1, budget // k)
    rows = np.array([row])
    gram, rhs = np.zeros((1, k, k)), np.zeros((1, k))
    for offset in range(0, d, step):
        A, y = _gather(csr, rows, min(step, d - offset), other_ext, scale, offset)
        g, r = _normal_products(A, y)
        gram += g
        rhs += r
    x = _solve_normal(gram, rhs, ridge)
    residual = 0.0
    for offset in range(0, d, step):
        A, y = _gather(csr, rows, min(step, d - offset), other_ext, scale, offset)
        residual += _squared_residuals(A, y, x)[0]
    return x, np.array([residual])


def _sketch_preconditioner(A, rng):
    """``R^{-1}`` of a CountSketch ``S A_i`` of every padded design in a group.

    One hash (position -> sketch row) and one sign per position, shared by
    the group's rows: each row's sketch is still a CountSketch of its own
    design, as the analysis needs.  Designs with at most ``4 k`` rows are
    not compressed.
    """
    b, d, k = A.shape
    s = _SKETCH_FACTOR * k
    if d <= s:
        SA = A
    else:
        SA = batched_countsketch(A, s, rng)
    R = np.linalg.qr(SA, mode="r")[:, :k, :]
    if R.shape[1] < k:  # fewer sketch rows than unknowns
        R = np.concatenate([R, np.zeros((b, k - R.shape[1], k))], axis=1)
    # Regularize tiny pivots (rows with fewer than k observations).
    diag = np.arange(k)
    pivots = np.abs(R[:, diag, diag])
    floor = 1e-8 * pivots.max(axis=1, keepdims=True)
    floor[floor == 0] = 1e-8
    R[:, diag, diag] = np.where(pivots < floor, floor, R[:, diag, diag])
    return np.linalg.inv(R)


def _cg(A, y, ridge, x0, n_steps, precond):
    """``n_steps`` (preconditioned) CG steps on every row's normal equations."""
    k = A.shape[2]
    trace = np.einsum("bdk,bdk->b", A, A)
    lam = _ridge(trace, k, ridge)[:, np.newaxis]

    def normal(P):
        t = np.matmul(A, P[:, :, np.newaxis])
        return np.matmul(t.transpose(0, 2, 1), A)[:, 0, :] + lam * P

    def apply_precond(r):
        if precond is None:
            return r
        z = np.matmul(precond.transpose(0, 2, 1), r[:, :, np.newaxis])
        return np.matmul(precond, z)[:, :, 0]

    x = x0.copy()
    r = np.matmul(y[:, np.newaxis, :], A)[:, 0, :] - normal(x)
    z = apply_precond(r)
    p = z.copy()
    rz = np.einsum("ij,ij->i", r, z)
    for _ in range(n_steps):
        Ap = normal(p)
        pAp = np.einsum("ij,ij->i", p, Ap)
        step = np.divide(rz, pAp, out=np.zeros_like(rz), where=pAp > 0)
        x += step[:, np.newaxis] * p
        r -= step[:, np.newaxis] * Ap
        z = apply_precond(r)
        rz_new = np.einsum("ij,ij->i", r, z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p = z + beta[:, np.newaxis] * p
        rz = rz_new
    return x


def solve_rows(
    csr,
    other,
    *,
    ridge,
    scale=1.0,
    groups=None,
    workers=None,
    method="exact",
    x0=None,
    n_steps=3,
    random_state=None,
    budget=_BLOCK_ENTRIES,
):
    """Solve every row's ridge least squares against ``other``, in blocks.

    Parameters
    ----------
    csr : CSR matrix of shape (n_rows, n_cols)
        Observed entries; their values are divided by ``scale``.
    other : ndarray of shape (n_cols, k)
        Fixed factor.
    ridge : float
        Ridge of every row (plus a tiny relative jitter).
    scale : float, default=1.0
        Scale of the values (see :func:`~sklearn_lowrank._linalg.power_of_two_scale`).
    groups : list or None
        From :func:`row_groups` (computed if None).
    workers : object or None
        From :func:`sklearn_lowrank._threads.blas_workers` (serial if None).
    method : {"exact", "cg", "sketch"}, default="exact"
        See the module docstring.
    x0 : ndarray of shape (n_rows, k) or None
        Warm start of the iterative methods (zeros if None).
    n_steps : int, default=3
        Conjugate-gradient steps of the iterative methods.
    random_state : RandomState or None
        Seeds of the sketches (``method="sketch"``).
    budget : int
        Padded design entries per group.

    Returns
    -------
    x : ndarray of shape (n_rows, k)
        Solutions, in the units of ``values / scale``.
    squared_residuals : ndarray of shape (n_rows,)
        ``||y_i - A_i x_i||^2`` per row, in the same units (exact method; the
        iterative methods return NaN).
    """
    n_rows = csr.shape[0]
    k = other.shape[1]
    if groups is None:
        groups = row_groups(csr.indptr, k, budget)
    other_ext = np.concatenate([other, np.zeros((1, k))])
    x = np.zeros((n_rows, k))
    squared_residuals = np.full(n_rows, np.nan if method != "exact" else 0.0)
    seeds = (
        random_state.randint(np.iinfo(np.int32).max, size=len(groups))
        if method == "sketch"
        else np.zeros(len(groups), dtype=int)
    )

    def run(group, seed):
        rows, d_max = group
        if d_max == 0:
            return  # no observation: x = 0, the caller fills these rows in
        if d_max * k > budget:  # one very long row
            if method == "exact":
                x[rows], squared_residuals[rows] = _long_row_exact(
                    csr, rows[0], d_max, other_ext, ridge, scale, budget
                )
                return
            # The iterative methods need the whole design; it fits memory
            # whenever the factor does.
        A, y = _gather(csr, rows, d_max, other_ext, scale)
        if method == "exact":
            gram, rhs = _normal_products(A, y)
            solution = _solve_normal(gram, rhs, ridge)
            squared_residuals[rows] = _squared_residuals(A, y, solution)
        else:
            precond = (
                _sketch_preconditioner(A, np.random.RandomState(seed))
                if method == "sketch"
                else None
            )
            start = np.zeros((rows.size, k)) if x0 is None else x0[rows]
            solution = _cg(A, y, ridge, start, n_steps, precond)
        x[rows] = solution

    if workers is None or len(groups) < 2 or csr.nnz < _PARALLEL_MIN_ENTRIES:
        for group, seed in zip(groups, seeds):
            run(group, seed)
    else:
        workers.map(run, groups, seeds)
    return x, squared_residuals


# --------------------------------------------------------------------------
# Factors
# --------------------------------------------------------------------------


def spectral_init(obs, obs_t, k, incoherence, rng, workers, scale=1.0):
    """Top-k left singular vectors of the rescaled observed matrix.

    ``(1 / p) P_Omega(M)`` with ``p = |Omega| / (m n)`` has expectation M, so
    its top singular space approximates M's (JNS13, step 2); the factor
    ``1 / p`` does not change singular vectors and is left out.  With
    ``incoherence`` the rows that are too heavy are clipped (JNS13, step 3).
    """
    n_rows = obs.shape[0]
    U = top_left_singular_vectors(
        lambda B: spmm(obs, B, workers) / scale,
        lambda B: spmm(obs_t, B, workers) / scale,
        obs.shape,
        k,
        _POWER_ITERATIONS,
        rng,
    )
    if incoherence is not None:
        heavy = np.linalg.norm(U, axis=1) > 2 * incoherence * np.sqrt(k / n_rows)
        U[heavy] = 0.0
        # Re-orthonormalize; a clipped-out direction is refilled at random.
        empty = np.linalg.norm(U, axis=0) == 0
        U[:, empty] = rng.standard_normal((n_rows, int(empty.sum())))
    U, _ = orthonormalize(U)
    return U


def fill_empty(F, counts):
    """Give factor rows without observations the mean of the others."""
    empty = counts == 0
    if empty.any() and not empty.all():
        F[empty] = F[~empty].mean(axis=0)
    return F


def relative_change(previous, current):
    """``||U1 V1^T - U0 V0^T||_F / ||U1 V1^T||_F`` from k x k Gram matrices.

    The V's have orthonormal columns and the U's are O(1) (the solvers work
    on values divided by their scale), so nothing here can over- or
    underflow.
    """
    U1, V1 = current
    if previous is None:
        return np.inf
    U0, V0 = previous
    norm1 = np.sum(U1**2)
    norm0 = np.sum(U0**2)
    cross = np.sum((U1.T @ U0) * (V1.T @ V0))
    diff = max(norm1 + norm0 - 2 * cross, 0.0)
    return float(np.sqrt(diff / norm1)) if norm1 > 0 else 0.0


def altmin(
    obs,
    k,
    *,
    solver,
    n_inner_iter,
    alpha,
    max_iter,
    tol,
    incoherence,
    rng,
    workers,
    report=None,
):
    """Alternating minimization on the observed entries.

    Parameters
    ----------
    obs : CSR matrix of shape (n_rows, n_cols)
        Observed entries (centered if requested).
    k : int
        Rank.
    solver : {"exact", "cg", "sketch"}
        Per-row least-squares method (see :func:`solve_rows`).
    report : callable or None
        ``report(n_iter, change)`` after every sweep, and ``report(0, None)``
        after the spectral start (verbose output).

    Returns
    -------
    U : ndarray of shape (n_rows, k)
        Row factor (carries the scale of the values).
    V : ndarray of shape (n_cols, k)
        Orthonormal column factor.
    n_iter : int
    converged : bool
    residual_norm : float
        ``||P_Omega(obs - U V^T)||_F``.
    """
    scale = power_of_two_scale(obs.data)
    obs_t = obs.T.tocsr()  # columns as rows: the column updates' CSR
    row_counts = np.diff(obs.indptr)
    col_counts = np.diff(obs_t.indptr)
    row_blocks = row_groups(obs.indptr, k)
    col_blocks = row_groups(obs_t.indptr, k)
    U_hat = spectral_init(obs, obs_t, k, incoherence, rng, workers, scale)
    if report is not None:
        report(0, None)
    # Warm start of the column factor for the iterative solvers: with
    # M ~ U_hat V^T, V ~ M^T U_hat, estimated unbiasedly by obs^T U_hat / p.
    p = obs.nnz / (obs.shape[0] * obs.shape[1])
    V = None
    if solver != "exact":
        V = spmm(obs_t, U_hat, workers) / (p * scale)
    # With an orthonormal basis the average row's (column's) normal matrix is
    # about p * I: alpha is relative to that, one ridge for every row, so rows
    # with few observations are shrunk more than well-observed ones.
    ridge = alpha * p

    def half_step(mat, basis, blocks, warm):
        return solve_rows(
            mat,
            basis,
            ridge=ridge,
            scale=scale,
            groups=blocks,
            workers=workers,
            method=solver,
            x0=warm,
            n_steps=n_inner_iter,
            random_state=rng,
        )

    previous = None
    converged = False
    residuals = None
    for n_iter in range(1, max_iter + 1):
        V = fill_empty(half_step(obs_t, U_hat, col_blocks, V)[0], col_counts)
        V_hat, R_v = orthonormalize(V)
        # M ~ U_hat V^T = (U_hat R_v^T) V_hat^T: the row factor's warm start.
        U, residuals = half_step(obs, V_hat, row_blocks, U_hat @ R_v.T)
        U = fill_empty(U, row_counts)
        current = (U, V_hat)
        change = relative_change(previous, current)
        previous = current
        if report is not None:
            report(n_iter, change)
        if change <= tol:
            converged = True
            break
        U_hat, R_u = orthonormalize(U)
        # M ~ U V_hat^T = U_hat (V_hat R_u^T)^T: the column factor's warm start.
        V = V_hat @ R_u.T
    U, V_hat = previous
    if solver != "exact":
        # The row factor is what transform reproduces by folding the training
        # rows in; make it the exact least-squares fit.
        U, residuals = solve_rows(
            obs, V_hat, ridge=ridge, scale=scale, groups=row_blocks, workers=workers
        )
        U = fill_empty(U, row_counts)
    residual_norm = scale * float(np.sqrt(np.sum(residuals)))
    return U * scale, V_hat, n_iter, converged, residual_norm


def held_out_split(csr, every):
    """Hide every ``every``-th stored entry of each row (by position).

    Returns the CSR of the kept entries and the (rows, cols, values) of the
    hidden ones.  Deterministic, so a rank choice is reproducible.
    """
    counts = np.diff(csr.indptr)
    position = np.arange(csr.nnz) - np.repeat(csr.indptr[:-1], counts)
    hidden = position % every == every - 1
    keep = ~hidden
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    kept = sp.csr_matrix(
        (csr.data[keep], csr.indices[keep], kept_before[csr.indptr]),
        shape=csr.shape,
    )
    return kept, (row_of_entry(csr)[hidden], csr.indices[hidden], csr.data[hidden])


def select_rank(obs, max_rank, *, fit_rank, patience=2, every=10, report=None):
    """The rank with the lowest error on held-out observed entries.

    Every ``every``-th observed entry of each row is held out; ranks 1, 2,
    ... are fitted on the others (``fit_rank(train, rank) -> (U, V)``) until
    the held-out error has not improved for ``patience`` ranks in a row or
    ``max_rank`` is reached.

    Returns
    -------
    rank : int
    errors : dict
        Held-out RMSE per rank tried (in the units of the values).
    """
    train, (rows, cols, values) = held_out_split(obs, every)
    scale = power_of_two_scale(values)
    errors = {}
    best, since_best = None, 0
    for rank in range(1, max_rank + 1):
        U, V = fit_rank(train, rank)
        residual = (rowwise_dot(U, V, rows, cols) - values) / scale
        errors[rank] = scale * float(np.sqrt(np.mean(residual**2)))
        if report is not None:
            report(rank, errors[rank])
        if best is None or errors[rank] < errors[best]:
            best, since_best = rank, 0
        else:
            since_best += 1
            if since_best >= patience:
                break
    return best, errors
