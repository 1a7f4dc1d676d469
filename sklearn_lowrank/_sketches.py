"""Oblivious row sketches ``S`` (m x n) applied to tall matrices.

Every function here applies **one** random sketch to several matrices that
share their rows (typically ``[A, b, 1]``), because sketch-and-solve needs
``SA`` and ``Sb`` from the *same* ``S``.  None of them forms ``S`` densely
when ``n`` is large, and none copies a whole input matrix:

``srtt``
    Subsampled randomized trigonometric transform (Blendenpik's DCT form of
    the SRHT): ``S = sqrt(N/m) P F D``, with ``D`` random signs, ``F`` the
    orthonormal DCT-II along the rows (zero-padded to ``N``, a fast FFT
    length) and ``P`` a uniform choice of ``m`` rows.  Applied in column
    blocks, so the extra memory is ``N x block`` and not a copy of ``A``.
    Cost ``O(n d log n)`` whatever ``m`` is.  Not a sum over rows.
``gaussian``
    i.i.d. ``N(0, 1/m)`` entries, drawn in row blocks.  The only sketch for
    which the coordinate-wise (l-infinity) guarantee is proven in general.
    Cost ``2 m n d`` flops plus ``m n`` normal draws.
``countsketch``
    One ``+-1`` per column of ``S`` at a random row (Clarkson-Woodruff),
    applied as a sparse-matrix product.  Cost ``O(nnz(A))``.
``sparse_sign``
    ``k = min(8, m)`` entries ``+-1/sqrt(k)`` per column of ``S`` at random
    rows (an OSNAP / sparse-sign embedding; rows are drawn with replacement,
    which keeps ``E[S^T S] = I``).  Cost ``O(k nnz(A))``.

For all of them ``E[S^T S] = I``.  The last three are sums over row blocks,
``S A = sum_k S_k A_k``, so they can be accumulated block by block
(:func:`sketch_row_block`), which is what ``partial_fit`` uses.

An optional ``row_scale`` (length ``n``) multiplies the rows before
sketching, i.e. sketches ``diag(row_scale) M``; this is how sample weights
enter without a weighted copy of ``A``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.fft import dct, next_fast_len

from sklearn_lowrank._threads import blas_thread_budget

__all__ = [
    "ROW_BLOCK_SKETCHES",
    "SKETCHES",
    "apply_sketch",
    "gaussian_sketch_size",
    "sketch_row_block",
]

SKETCHES = ("srtt", "gaussian", "countsketch", "sparse_sign")
ROW_BLOCK_SKETCHES = ("gaussian", "countsketch", "sparse_sign")

# Working-memory budget (in float64 entries) for one block of the dense
# transforms: 4M entries = 32 MB.
_BLOCK_ENTRIES = 4_000_000
_SPARSE_SIGN_NNZ = 8


def gaussian_sketch_size(n_features, epsilon, delta):
    """Rows a Gaussian sketch needs for the coordinate-wise guarantee.

    With ``S`` Gaussian (entries ``N(0, 1/m)``) and ``r* = b - A x*``
    orthogonal to the column space of ``A``, ``SA`` and ``Sr*`` are
    independent, so given ``SA`` the error ``x' - x*`` is Gaussian with
    covariance ``OPT^2 / m (A^T S^T S A)^{-1}``.  A union bound over the
    ``d`` coordinates and Gordon's bound ``sigma_min(G) >= sqrt(m) - sqrt(d)
    - t`` for an ``m x d`` standard Gaussian ``G`` give, with probability
    at least ``1 - delta``::

        ||x' - x*||_inf <= eps / sqrt(d) * OPT * ||A^+||_2
        eps(m) = sqrt(2 d log(4d/delta)) / (sqrt(m) - sqrt(d) - sqrt(2 log(2/delta)))

    This returns the smallest ``m`` with ``eps(m) <= epsilon``.

    Parameters
    ----------
    n_features : int
        Number of columns ``d`` of the sketched matrix.
    epsilon : float
        Target accuracy in the l-infinity bound above.
    delta : float
        Failure probability.

    Returns
    -------
    sketch_size : int
    """
    d = n_features
    root = (
        np.sqrt(d)
        + np.sqrt(2 * np.log(2 / delta))
        + np.sqrt(2 * d * np.log(4 * d / delta)) / epsilon
    )
    return int(np.ceil(root**2))


def gaussian_linf_epsilon(n_features, sketch_size, delta):
    """The ``eps(m)`` of :func:`gaussian_sketch_size`, for a given ``m``.

    Returns ``inf`` when ``m`` is too small for the bound to say anything.
    """
    d, m = n_features, sketch_size
    denom = np.sqrt(m) - np.sqrt(d) - np.sqrt(2 * np.log(2 / delta))
    if denom <= 0:
        return np.inf
    return float(np.sqrt(2 * d * np.log(4 * d / delta)) / denom)


def _n_columns(M):
    return 1 if M.ndim == 1 else M.shape[1]


def _as_2d(M):
    return M[:, np.newaxis] if M.ndim == 1 else M


def apply_sketch(matrices, sketch_size, sketch, rng, *, row_scale=None):
    """Sketch several row-aligned matrices with one random ``S``.

    Parameters
    ----------
    matrices : list of ndarray or sparse matrix
        Each of shape ``(n, k_i)`` (1-D arrays are read as one column).
    sketch_size : int
        Number of rows ``m`` of ``S``.
    sketch : {"srtt", "gaussian", "countsketch", "sparse_sign"}
        Which sketch.
    rng : numpy.random.Generator
        Source of randomness.
    row_scale : ndarray of shape (n,) or None
        Rows are multiplied by it before sketching.

    Returns
    -------
    sketched : list of ndarray
        ``S @ M`` for each input, dense, of shape ``(m, k_i)``.
    """
    if sketch == "srtt":
        return _srtt(matrices, sketch_size, rng, row_scale)
    n = matrices[0].shape[0]
    # The sketch matrix is built block by block so that it never holds more
    # than ~_BLOCK_ENTRIES numbers: Gaussian blocks are dense m x rows, a
    # sparse sign block has k entries per row.  A CountSketch has one entry
    # per row, so one block is enough (and its result is returned as is: no
    # m x k accumulator to fill and add).
    if sketch == "gaussian":
        step = max(1, _BLOCK_ENTRIES // sketch_size)
    elif sketch == "sparse_sign":
        step = max(1, _BLOCK_ENTRIES // _SPARSE_SIGN_NNZ)
    else:
        step = max(n, 1)
    if step >= n:
        return sketch_row_block(matrices, sketch_size, sketch, rng, row_scale=row_scale)
    out = [np.zeros((sketch_size, _n_columns(M))) for M in matrices]
    for start in range(0, n, step):
        stop = min(n, start + step)
        blocks = [M[start:stop] for M in matrices]
        scale = None if row_scale is None else row_scale[start:stop]
        for acc, part in zip(
            out, sketch_row_block(blocks, sketch_size, sketch, rng, row_scale=scale)
        ):
            acc += part
    return out


def sketch_row_block(blocks, sketch_size, sketch, rng, *, row_scale=None):
    """One row block's contribution ``S_k M_k`` to a sum-over-rows sketch.

    Parameters
    ----------
    blocks : list of ndarray or sparse matrix
        Row blocks of shape ``(n_k, k_i)`` that share their rows.
    sketch_size : int
        Number of rows ``m`` of ``S``.
    sketch : {"gaussian", "countsketch", "sparse_sign"}
        Which sketch.
    rng : numpy.random.Generator
        Source of randomness for this block's columns of ``S``.
    row_scale : ndarray of shape (n_k,) or None
        Rows are multiplied by it before sketching.

    Returns
    -------
    parts : list of ndarray
        ``S_k @ M_k`` for each block, dense, of shape ``(m, k_i)``.
    """
    n = blocks[0].shape[0]
    m = sketch_size
    if sketch == "gaussian":
        S = rng.standard_normal((m, n))
        S *= 1.0 / np.sqrt(m)
        if row_scale is not None:
            S *= row_scale
        return [_dense_times(S, M) for M in blocks]
    if sketch == "countsketch":
        rows = rng.integers(0, m, size=n)
        values = rng.choice(np.array([-1.0, 1.0]), size=n)
        cols = np.arange(n)
    elif sketch == "sparse_sign":
        k = min(_SPARSE_SIGN_NNZ, m)
        rows = rng.integers(0, m, size=(n, k)).ravel()
        values = rng.choice(np.array([-1.0, 1.0]), size=n * k) / np.sqrt(k)
        cols = np.repeat(np.arange(n), k)
    else:
        raise ValueError(f"{sketch!r} is not a sum-over-rows sketch.")
    if row_scale is not None:
        values = values * row_scale[cols]
    # CSC: the product then streams through the rows of M in order and
    # scatters into the small m x k result, where CSR would gather rows of M
    # in random order.
    S = sp.csc_matrix((values, (rows, cols)), shape=(m, n))
    parts = []
    for M in blocks:
        SM = S @ _as_2d(M)
        parts.append(SM.toarray() if sp.issparse(SM) else np.asarray(SM))
    return parts


def _dense_times(S, M):
    M = _as_2d(M)
    if sp.issparse(M):
        # (M^T S^T)^T keeps the sparse operand on the left, where scipy
        # multiplies it without densifying.
        return np.asarray((M.T @ S.T).T)
    return S @ M


def _srtt(matrices, sketch_size, rng, row_scale):
    n = matrices[0].shape[0]
    m = sketch_size
    if m > n:
        raise ValueError(
            f"the srtt sketch samples rows of an n x n transform; "
            f"sketch_size={m} must be at most n_samples={n}."
        )
    # Zero-padding to a fast length keeps the DCT O(N log N) for every n
    # (a prime n would fall back to Bluestein's algorithm).
    n_padded = next_fast_len(n, real=True)
    signs = rng.choice(np.array([-1.0, 1.0]), size=n)
    if row_scale is not None:
        signs = signs * row_scale
    rows = np.sort(rng.choice(n_padded, size=m, replace=False))
    scale = np.sqrt(n_padded / m)
    workers = blas_thread_budget()
    width = max(1, _BLOCK_ENTRIES // n_padded)
    out = []
    for M in matrices:
        M = _as_2d(M)
        k = M.shape[1]
        SM = np.empty((m, k))
        for start in range(0, k, width):
            stop = min(k, start + width)
            block = M[:, start:stop]
            block = block.toarray() if sp.issparse(block) else block
            # Transposed so the transform runs along contiguous memory.
            buf = np.zeros((stop - start, n_padded))
            np.multiply(block.T, signs, out=buf[:, :n])
            buf = dct(
                buf, type=2, norm="ortho", axis=1, overwrite_x=True, workers=workers
            )
            SM[:, start:stop] = buf[:, rows].T * scale
        out.append(SM)
    return out


def batched_countsketch(A, sketch_size, rng):
    """CountSketch of every matrix of a batch ``A`` (b x d x k), one hash.

    Row ``p`` of each ``A[i]`` is added, with a random sign, to sketch row
    ``h(p)`` (uniform in ``0 .. sketch_size - 1``): ``S A[i]`` with the same
    ``S`` (sketch_size x d) for the whole batch, each ``S A[i]`` a
    CountSketch of its own matrix (Clarkson-Woodruff).  Used for the
    per-row sketch-and-precondition solves of a batch of small least-squares
    problems (zero rows of a padded batch add nothing).  Cost ``O(b d k)``.

    Parameters
    ----------
    A : ndarray of shape (b, d, k)
        The matrices.
    sketch_size : int
        Rows of the sketch.
    rng : RandomState
        Draws the hash and the signs.

    Returns
    -------
    SA : ndarray of shape (b, s, k)
        The sketches, ``s <= sketch_size`` (sketch rows no position hashed
        to are left out: they are zero).
    """
    d = A.shape[1]
    bucket = rng.randint(0, sketch_size, size=d)
    sign = rng.choice([-1.0, 1.0], size=d)
    order = np.argsort(bucket, kind="stable")
    starts = np.flatnonzero(np.diff(np.concatenate(([-1], bucket[order]))))
    signed = A[:, order, :] * sign[order][np.newaxis, :, np.newaxis]
    return np.add.reduceat(signed, starts, axis=1)
