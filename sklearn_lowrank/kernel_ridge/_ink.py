"""INK-ESTIMATE's dictionary: sequential ridge leverage score sampling.

Calandriello, Lazaric and Valko (UAI 2016), Alg. 1: for every new point,
estimate ridge leverage scores from the weighted dictionary (ESTIMATE), keep
each dictionary point's probability non-increasing and thin its copies with
Binomial draws (SHRINK), and admit the new point with ``q_bar`` Bernoulli
trials (EXPAND).  Also the uniform reservoir sampler used as the baseline.
Arrays in, arrays out.
"""

from math import comb

import numpy as np
from scipy import linalg
from scipy.linalg import lapack
from scipy.stats import binom

from sklearn_lowrank.kernel_ridge._nystrom import _BLOCK_BYTES, _cholesky_with_jitter

# Chunk length of the uniform sampler's stream, in multiples of the budget.
_CHUNK_FACTOR = 4
# INK-ESTIMATE sizes its chunks by the admissions they are expected to bring
# (see _next_chunk_length): this fraction of max(budget, 64) per chunk ...
_ADMISSIONS_PER_CHUNK = 0.5
# ... growing by at most this factor from one chunk to the next.
_CHUNK_GROWTH = 4
# Smallest factor by which the RLS ridge grows when the dictionary overflows.
_RIDGE_GROWTH = 1.25
# Smallest response exponent assumed when the ridge has to grow (see
# _size_response): at most (overflow ratio)^2 per settle round.
_MIN_SIZE_RESPONSE = 0.5
# Cap on the settle rounds of one chunk.  Each round past the first grows the
# ridge by at least _RIDGE_GROWTH (1.25^200 ~ 1e19), so the cap is only
# reached with a kernel that is not positive semidefinite.
_MAX_SETTLE_ROUNDS = 200


class _Dictionary:
    """The INK-ESTIMATE state: points, their stream ids, p_i, q_i and K_DD.

    A plain class (no ``__slots__``) so that pickle and skops round-trip it.
    """

    def __init__(self, points, ids, probabilities, copies, gram):
        self.points = points
        self.ids = ids
        self.probabilities = probabilities
        self.copies = copies
        self.gram = gram

    @classmethod
    def empty(cls, n_features):
        return cls(
            np.zeros((0, n_features)),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, 0)),
        )

    @property
    def size(self):
        return self.points.shape[0]

    def subset(self, keep):
        return _Dictionary(
            self.points[keep],
            self.ids[keep],
            self.probabilities[keep],
            self.copies[keep],
            # Two takes beat one fancy np.ix_ gather of the same block.
            self.gram.take(keep, axis=0).take(keep, axis=1),
        )

    def extend(self, points, ids, probabilities, copies, cross, gram_new):
        """Append points; ``cross`` is K(old, new), ``gram_new`` is K(new, new)."""
        gram = np.block([[self.gram, cross], [cross.T, gram_new]])
        return _Dictionary(
            np.vstack([self.points, points]),
            np.concatenate([self.ids, ids]),
            np.concatenate([self.probabilities, probabilities]),
            np.concatenate([self.copies, copies]),
            gram,
        )


def _sketch_cholesky(gram, weights, ridge):
    """Lower Cholesky factor of ``M = S^T K_DD S + gamma I``, and ``sqrt(weights)``.

    ``S S^T = diag(weights)``; ``M`` is the (scaled) regularized kernel of the
    weighted dictionary that every INK-ESTIMATE score is computed from.  ``M``
    is symmetric, so its C-ordered buffer read as Fortran order is ``M`` too:
    LAPACK factors it in place as ``U^T U`` and ``L = U^T`` is a C-ordered
    view, with no copy on the way in or out.
    """
    sw = np.sqrt(weights)
    M = _sketch_matrix(gram, sw, ridge)
    U, info = lapack.dpotrf(M.T, lower=0, clean=1, overwrite_a=1)
    if info == 0:
        return U.T, sw
    # Not numerically PD: retry from a fresh M with scale-relative jitter.
    return _cholesky_with_jitter(_sketch_matrix(gram, sw, ridge)), sw


def _sketch_matrix(gram, sw, ridge):
    M = gram * sw[:, None]
    M *= sw
    M[np.diag_indices_from(M)] += ridge
    return M


def _dictionary_scores(L, weights, ridge, epsilon, overwrite=False):
    """Scores of the dictionary points: ``(1-eps) (1 - gamma [M^-1]_ii) / w_i``.

    ``diag(M^-1)`` is the squared column norms of ``L^-1`` (``M = L L^T``),
    i.e. the squared row norms of ``(L^T)^-1``.  ``L`` comes zero above the
    diagonal from the Cholesky, and ``dtrtri`` leaves the other triangle
    untouched, so no masking is needed.  ``L^T`` of a C-ordered ``L`` is
    Fortran-ordered, so LAPACK inverts it without a copy (in place if
    ``overwrite``).
    """
    U_inv, info = lapack.dtrtri(L.T, lower=0, overwrite_c=int(overwrite))
    if info != 0:
        raise linalg.LinAlgError("singular sketch matrix in the leverage estimate")
    diag_inv = np.einsum("ij,ij->i", U_inv, U_inv)
    return _unit_interval((1.0 - epsilon) * (1.0 - ridge * diag_inv) / weights)


def _new_point_scores(residual, ridge, epsilon):
    # a = (k_xx - k_Dx^T S M^-1 S^T k_Dx) / gamma is the score of x against
    # the dictionary alone; adding x itself with weight 1 (as the paper does
    # for the arriving column) gives a / (1 + a) by Sherman-Morrison.
    a = np.maximum(residual / ridge, 0.0)
    return _unit_interval((1.0 - epsilon) * a / (1.0 + a))


def _unit_interval(x):
    """``x`` clipped to [0, 1] in place (``np.clip``'s wrapper costs more on
    the many short arrays of a chunk than the clipping itself)."""
    np.maximum(x, 0.0, out=x)
    return np.minimum(x, 1.0, out=x)


# Largest number of trials for which _binomial_quantile sums the pmf itself.
_DIRECT_QUANTILE_MAX = 64


def _binomial_quantile(u, n, p):
    """Smallest ``k`` with ``P(Binomial(n, p) <= k) >= u``, as ``binom.ppf``.

    For the few trials of INK-ESTIMATE (``n_copies``, 4 by default) the CDF
    is summed term by term: scipy's ``ppf``, called once per chunk, costs
    more in call overhead than the sum.
    """
    if n > _DIRECT_QUANTILE_MAX:
        return binom.ppf(u, n, p).astype(np.int64)
    q = 1.0 - p
    cdf = np.zeros_like(p)
    k = np.zeros(p.shape, dtype=np.int64)
    for j in range(n + 1):
        cdf += comb(n, j) * p**j * q ** (n - j)
        k += cdf < u
    # Rounding can leave the total just below u: the quantile is then n.
    return np.minimum(k, n)


def _ink_scores(gram, weights, ridge, epsilon, cross=None, diag_new=None):
    """INK-ESTIMATE's ridge leverage score estimates from the weighted dictionary.

    The estimator is ``(1-eps)/gamma * (k_xx - k_Dx^T S M^-1 S^T k_Dx)`` with
    ``S S^T = diag(weights)`` and ``M = S^T K_DD S + gamma I``; one Cholesky
    factorization of ``M`` serves both kinds of points:

    - a dictionary point: the formula simplifies to
      ``(1-eps) (1 - gamma [M^-1]_ii) / w_i``, which only needs ``diag(M^-1)``;
    - a new point x (``cross`` = K(D, x), ``diag_new`` = k(x, x)): with
      ``a`` the score against the dictionary alone, adding x itself with
      weight 1 (as the paper does for the arriving column) gives
      ``a / (1 + a)`` by Sherman-Morrison.

    Returns ``(tau_dictionary, tau_new)``, clipped to [0, 1]; ``tau_new`` is
    None when no new points are given.  ``fit`` scores new points with
    :func:`_admit_new_points`, which computes the same ``tau_new`` but stops
    early for the points it can already reject.
    """
    m = gram.shape[0]
    tau_new = None
    if m == 0:
        if diag_new is not None:
            tau_new = _new_point_scores(diag_new, ridge, epsilon)
        return np.zeros(0), tau_new
    L, sw = _sketch_cholesky(gram, weights, ridge)
    tau_dict = _dictionary_scores(
        L, weights, ridge, epsilon, overwrite=diag_new is None
    )
    if diag_new is not None:
        Z = linalg.solve_triangular(
            L, sw[:, None] * cross, lower=True, check_finite=False, overwrite_b=True
        )
        tau_new = _new_point_scores(
            diag_new - np.einsum("ij,ij->j", Z, Z), ridge, epsilon
        )
    return tau_dict, tau_new


# Rows of the forward substitution in the first round of _admit_new_points;
# the rounds then double in size.  Only the cost depends on it (a point is
# rejected by the same rows whatever the rounds): a small first round lets
# the bulk of a long stream, whose scores are tiny, be rejected after a few
# rows (see the User Guide for the measurements).
_FIRST_ROUND = 8


def _admit_new_points(L, sw, cross, diag_new, *, ridge, epsilon, n_copies, rng):
    """EXPAND: ``q_bar`` Bernoulli(``tau_x``) trials for each new point x.

    ``cross`` is K(D, new), either as an array or as a function
    ``cross(rows, cols)`` returning the block ``K(D[rows], new[cols])``, so
    that only the kernel rows the forward substitution reaches are computed.
    Returns ``(copies, tau)``: the number of successful trials of every new
    point (``Binomial(q_bar, tau_x)``, as in the paper) and ``tau_x`` where
    ``copies > 0`` (NaN elsewhere).

    The draws are made by inversion of one uniform ``u_x`` per point: ``x``
    gets ``F^-1(u_x)`` copies, ``F`` the Binomial CDF, so it is rejected
    (no copy) exactly when ``(1 - tau_x)^q_bar >= u_x``.  That lets us stop
    scoring a point as soon as rejection is certain: the residual ``k_xx -
    ||z_1..j||^2`` of the forward substitution ``z = L^-1 S^T k_Dx`` can only
    decrease with the number of rows ``j`` solved, so the score computed on
    the first ``j`` rows is an upper bound of ``tau_x``.  The rows are solved
    in rounds of doubling size (one kernel block, one triangular solve and
    one GEMM per round, for the points still undecided).  Far from the
    dictionary a point's score stays large and is computed exactly; the bulk
    of a long stream has tiny scores and is rejected after the first round,
    at a small fraction of the ``m^2`` flops and ``m`` kernel values of the
    full solve.  The result is the same distribution as
    ``rng.binomial(q_bar, tau)`` on the full scores.
    """
    if not callable(cross):
        cross_array = cross

        def cross(rows, cols):
            return cross_array[rows][:, cols]

    m, c = L.shape[0], diag_new.shape[0]
    u = rng.random_sample(c)
    undecided = np.arange(c)
    residual = diag_new.astype(float, copy=True)
    if m:
        # z = L^-1 S k_Dx = (S^-1 L)^-1 k_Dx: scaling the rows of L (m^2)
        # instead of those of cross (m x chunk) saves a pass over the chunk.
        L = L / sw[:, None]
        # Z[:stop, :k] holds the solved rows of the k undecided points.
        Z = np.empty((m, c))
        start, stop = 0, min(m, _FIRST_ROUND)
        while start < m and undecided.size:
            k = undecided.size
            # Forward substitution of rows start:stop for the undecided points.
            rhs = cross(slice(start, stop), undecided)
            if start:
                rhs -= L[start:stop, :start] @ Z[:start, :k]
            Zb = linalg.solve_triangular(
                L[start:stop, start:stop],
                rhs,
                lower=True,
                check_finite=False,
                overwrite_b=True,
            )
            Z[start:stop, :k] = Zb
            residual -= np.einsum("ij,ij->j", Zb, Zb)
            tau_bound = _new_point_scores(residual, ridge, epsilon)
            open_ = (1.0 - tau_bound) ** n_copies < u[undecided]
            if not open_.all():
                undecided, residual = undecided[open_], residual[open_]
                Z[:stop, : undecided.size] = Z[:stop, :k][:, open_]
            start, stop = stop, min(m, 2 * stop)
    tau = np.full(c, np.nan)
    copies = np.zeros(c, dtype=np.int64)
    if undecided.size:
        tau_open = _new_point_scores(residual, ridge, epsilon)
        admitted = (1.0 - tau_open) ** n_copies < u[undecided]
        idx = undecided[admitted]
        tau[idx] = tau_open[admitted]
        # F^-1(u) with u > F(0): at least one copy (max guards the rounding).
        copies[idx] = np.maximum(_binomial_quantile(u[idx], n_copies, tau[idx]), 1)
    return copies, tau


def _shrink(dictionary, tau, rng):
    """SHRINK: ``p_i <- min(tau_i, p_i)``, ``q_i ~ Binomial(q_i, p_new / p_old)``.

    Returns the thinned dictionary and the indices of the surviving points.
    Keeping ``p`` non-increasing is what makes the ratio a probability.
    """
    p_old = dictionary.probabilities
    p_new = np.minimum(tau, p_old)
    ratio = np.divide(p_new, p_old, out=np.zeros_like(p_new), where=p_old > 0)
    copies = rng.binomial(dictionary.copies, _unit_interval(ratio))
    keep = np.flatnonzero(copies > 0)
    thinned = _Dictionary(
        dictionary.points, dictionary.ids, p_new, copies, dictionary.gram
    ).subset(keep)
    return thinned, keep


def _importance_weights(dictionary, n_copies):
    # S S^T = diag(q_i / (q_bar p_i)): each surviving copy stands for
    # 1 / (q_bar p_i) points of the stream.
    return dictionary.copies / (n_copies * dictionary.probabilities)


def _ink_estimate_step(
    dictionary, X_new, ids, diag_new, *, kernel, ridge, n_copies, epsilon, budget, rng
):
    """One chunk of the stream with INK-ESTIMATE.

    Returns ``(dictionary, ridge, n_added, settled)``; ``settled`` is False
    when the budget could not be met within ``_MAX_SETTLE_ROUNDS`` ridge
    increases (the dictionary is then cut to the ``budget`` points with the
    most copies).  ``budget=None`` means no budget (the paper's self-sized
    dictionary).

    Estimate, shrink, expand (Calandriello et al. 2016, Alg. 1), applied to a
    chunk: the chunk's points are scored against the dictionary (and
    themselves) but not against each other, which over-estimates their scores
    (more sampling, the safe direction; the next chunk's SHRINK corrects it).
    Then re-estimate the dictionary's scores on itself and shrink (the new
    points now see each other); while the dictionary still exceeds ``budget``
    distinct points, grow the ridge and repeat, which only lowers the
    probabilities.
    """
    # ESTIMATE, for the dictionary and the new points, from the dictionary.
    weights = _importance_weights(dictionary, n_copies)
    if dictionary.size:
        L, sw = _sketch_cholesky(dictionary.gram, weights, ridge)
    else:
        L, sw = np.zeros((0, 0)), np.zeros(0)
    # EXPAND draws for the new points (before SHRINK: both use the estimates
    # from the same dictionary).  K(D, chunk) is computed by row blocks as
    # the early rejection needs them: most points never need all m rows.
    points = dictionary.points
    copies_new, tau_new = _admit_new_points(
        L,
        sw,
        lambda rows, cols: kernel(points[rows], X_new[cols]),
        diag_new,
        ridge=ridge,
        epsilon=epsilon,
        n_copies=n_copies,
        rng=rng,
    )
    # The dictionary's own scores come from the same factor, inverted in place
    # once the admission (which works on a scaled copy) is done with it.
    if dictionary.size:
        tau_dict = _dictionary_scores(L, weights, ridge, epsilon, overwrite=True)
    else:
        tau_dict = np.zeros(0)
    dictionary, _ = _shrink(dictionary, tau_dict, rng)
    added = np.flatnonzero(copies_new > 0)
    if added.size:
        X_added = X_new[added]
        dictionary = dictionary.extend(
            X_added,
            ids[added],
            tau_new[added],
            copies_new[added],
            kernel(dictionary.points, X_added),
            kernel(X_added, X_added),
        )

    # Settle: the chunk's new points have not seen each other yet; one more
    # estimate-and-shrink round on the dictionary itself corrects that (a
    # valid INK step: it only lowers probabilities).  Then enforce the budget
    # by growing the ridge, which only lowers the probabilities further.
    exponent, last = 1.0, None
    for _ in range(_MAX_SETTLE_ROUNDS):
        tau, _ = _ink_scores(
            dictionary.gram, _importance_weights(dictionary, n_copies), ridge, epsilon
        )
        dictionary, _ = _shrink(dictionary, tau, rng)
        if budget is None or dictionary.size <= budget:
            return dictionary, ridge, added.size, True
        if last is not None:
            exponent = _size_response(*last, dictionary.size)
        # Grow the ridge by the factor that would bring the size to the
        # budget if it scales as ridge^-exponent, the exponent measured on
        # the last growth.  At first it is 1: d_eff(c * gamma) >=
        # d_eff(gamma) / c, so the overflow ratio cannot push the size far
        # below the budget; later growths are larger, and the ridge carries
        # over to the next chunks (it only grows).
        growth = max(_RIDGE_GROWTH, (dictionary.size / budget) ** (1.0 / exponent))
        last = (growth, dictionary.size)
        ridge *= growth
    keep = np.sort(np.argsort(-dictionary.copies, kind="stable")[:budget])
    return dictionary.subset(keep), ridge, added.size, False


def _size_response(growth, size_before, size_after):
    """Exponent ``b`` of ``size ~ ridge^-b`` seen on the last ridge growth.

    ``growth`` is the factor the ridge grew by, ``size_before`` the
    dictionary size that made it grow and ``size_after`` the size after the
    shrink at the grown ridge; clipped to ``[_MIN_SIZE_RESPONSE, 1]``.  The
    dictionary shrinks much more slowly than ``1 / ridge`` on smooth kernels
    (SHRINK thins copies, and ``d_eff`` decays slowly), so growing by the
    overflow ratio alone takes many factorizations per chunk.  One SHRINK is
    random, so ``b`` is a noisy estimate: the clip keeps each growth at most
    the squared overflow ratio.
    """
    shrunk = max(size_after, 1) / max(size_before, 1)
    if shrunk >= 1.0:
        return _MIN_SIZE_RESPONSE
    return float(np.clip(-np.log(shrunk) / np.log(growth), _MIN_SIZE_RESPONSE, 1.0))


def _next_chunk_length(length, admitted, budget):
    """Length of INK-ESTIMATE's next chunk, from the admissions of the last one.

    Why chunks, and why this length.  Each chunk costs two to four ``O(m^3)``
    factorizations (estimate, settle, ridge growth) and a fixed Python
    overhead, on top of the per-point scoring.  A fixed length of ``4m``
    makes those fixed costs dominate at small ``m`` (thousands of chunks of
    a few hundred points) and makes the settle round factor a dictionary of
    up to ``m + 3m`` points early in the stream, when most points are
    admitted.  The settle round factors ``m + a`` points, ``a`` the chunk's
    admissions, so the fixed cost per point is ``~ (m^3 + (m + a)^3) / c``
    for a chunk of ``c`` points; at the admission rate ``r = a / c`` this is
    smallest for ``a`` of order ``m / 2`` (``0.68 m`` without the Python
    overhead).  So the next chunk is as long as is expected to bring
    ``max(m, 64) / 2`` admissions at the last chunk's rate, at least
    ``max(m, 64)`` points, at most ``4x`` the last chunk, and at most what
    keeps the admission's ``m x c`` work array within ``_BLOCK_BYTES``.

    Why this is still INK-ESTIMATE.  The points of a chunk are scored
    against the dictionary as it stood before the chunk, not against each
    other.  Ridge leverage scores can only decrease as points are added to
    the data (and as the ridge grows), so a score against an older
    dictionary over-estimates the point's score against everything before
    it: the probabilities stay above the true scores, the direction the
    guarantee needs, and the price is space (more admissions, thinned by the
    settle round: copies ``Binomial(q_bar, p_old)`` thinned by
    ``Binomial(., p_new / p_old)`` are ``Binomial(q_bar, p_new)``).  The
    length is decided from past draws only, before the chunk is scored, so
    any length keeps this argument; it decides the cost, not the guarantee.
    Long chunks come where the rate is small, i.e. where few points are
    over-admitted anyway.
    """
    base = max(budget, 64)
    # +1: a chunk without admissions does not mean that the rate is 0.
    rate = (admitted + 1) / length
    upper = max(_CHUNK_FACTOR * base, _BLOCK_BYTES // (8 * base))
    target = _ADMISSIONS_PER_CHUNK * base / rate
    return int(max(base, min(target, _CHUNK_GROWTH * length, upper)))


def _reservoir_step(dictionary, X, rows, ids, n_seen, budget, rng):
    """Uniform reservoir sampling (Vitter's algorithm R) over rows of X.

    ``rows`` are the rows of ``X`` in stream order and ``ids`` their stream
    ids.  The t-th point of the stream (0-based) fills a free slot while ``t <
    budget``, and otherwise replaces slot ``j ~ U{0..t}`` if ``j < budget``;
    afterwards the reservoir is a uniform sample of everything seen.  Only the
    kept rows of ``X`` are read.
    """
    n_free = max(0, budget - dictionary.size)
    points = np.vstack([dictionary.points, X[rows[:n_free]]])
    kept_ids = np.concatenate([dictionary.ids, ids[:n_free]])
    first_replacing = points.shape[0] - dictionary.size
    t = n_seen + np.arange(first_replacing, rows.shape[0])
    slots = rng.randint(0, t + 1) if t.size else np.zeros(0, dtype=np.int64)
    # Later points overwrite earlier ones in the same slot, as in the loop;
    # the loop runs over the ~ budget * log(n / budget) replacements only.
    for j, slot in zip(
        np.flatnonzero(slots < budget) + first_replacing, slots[slots < budget]
    ):
        points[slot] = X[rows[j]]
        kept_ids[slot] = ids[j]
    m = points.shape[0]
    return _Dictionary(
        points, kept_ids, np.ones(m), np.ones(m, dtype=np.int64), np.zeros((0, 0))
    )
