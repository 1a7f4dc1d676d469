"""Kernel ridge regression on a Nyström basis chosen by sequential leverage scores.

This module implements :class:`NystromKRR`, large-scale kernel ridge
regression (KRR) whose Nyström landmarks (the *dictionary*) are selected in a
single pass over the data by INK-ESTIMATE:

    D. Calandriello, A. Lazaric and M. Valko, "Analysis of Nyström method
    with sequential ridge leverage scores", Uncertainty in Artificial
    Intelligence (UAI), 2016 (arXiv:2604.20077).

INK-ESTIMATE keeps a small weighted dictionary of points.  For every new point
it estimates ridge leverage scores (RLS) ``tau_i(gamma) = [K (K + gamma I)^-1]_ii``
of the new point and of the dictionary points *from the dictionary alone*,
keeps each dictionary point's sampling probability non-increasing, thins the
dictionary's copies with Binomial draws (SHRINK) and admits the new point with
``q_bar`` Bernoulli trials (EXPAND).  Each point's copy count is then
marginally ``Binomial(q_bar, p_i)`` as if it had been sampled with the current
probabilities, which is what makes the guarantees hold at every step.

The regression itself is the Nyström KRR estimator: with ``C = K(X, X_D)`` and
``W = K(X_D, X_D)`` the dual coefficients solve
``(C^T C + alpha W) a = C^T y`` and ``predict(x) = k(x, X_D) a``; this is
exactly the minimiser of sklearn's :class:`~sklearn.kernel_ridge.KernelRidge`
objective restricted to the span of the dictionary.  The normal equations are
accumulated over row blocks in the whitened basis ``Phi = C R^-1`` with
``R^T R = W + delta I`` (Cholesky with a scale-relative jitter ``delta``), one
triangular solve and one ``syrk`` per block, so memory is ``O(n d + m^2)``
and ``W`` is never inverted explicitly.

Two things are additions of this implementation, not of the paper, and are
documented as such: the dictionary *budget* ``n_components`` (the RLS ridge
``gamma`` grows geometrically whenever the dictionary would exceed it, which
only lowers the probabilities and so keeps the SHRINK step valid), and
processing the stream in chunks (new points of one chunk are scored against
the dictionary but not against each other, which over-estimates their scores,
the safe direction; the chunk length follows the admission rate, see
:func:`_next_chunk_length`).  Within a chunk, the Bernoulli trials of the new points
are drawn by inversion before their scores are complete, so that scoring
stops as soon as a point's rejection is certain (see
:func:`_admit_new_points`); this changes the cost, not the distribution.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.linalg import lapack
from scipy.linalg.blas import dsyrk as _syrk
from scipy.stats import binom
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS, pairwise_kernels
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank._threads import bounded_fit

__all__ = ["NystromKRR"]

# Kernels whose value at (x, x) is 1 for every x: no need to evaluate them.
_UNIT_DIAGONAL_KERNELS = {"rbf", "laplacian"}
# Rows of X per kernel block when streaming K(X, X_D): ~64 MB per block.
_BLOCK_BYTES = 64 * 2**20
# solver="cg" keeps K_nm in memory (instead of recomputing it at every
# iteration) when it takes at most this many bytes.
_CG_CACHE_BYTES = 512 * 2**20
# Chunk length of the uniform sampler's stream, in multiples of the budget.
_CHUNK_FACTOR = 4
# INK-ESTIMATE sizes its chunks by the admissions they are expected to bring
# (see _next_chunk_length): this fraction of max(budget, 64) per chunk ...
_ADMISSIONS_PER_CHUNK = 0.5
# ... growing by at most this factor from one chunk to the next.
_CHUNK_GROWTH = 4
# Smallest factor by which the RLS ridge grows when the dictionary overflows.
_RIDGE_GROWTH = 1.25


class NystromKRR(RegressorMixin, BaseEstimator):
    """Kernel ridge regression on a Nyström dictionary chosen by INK-ESTIMATE.

    Solves the :class:`~sklearn.kernel_ridge.KernelRidge` problem restricted to
    the span of at most ``n_components`` landmark points.  The landmarks are
    chosen in one pass over the data by INK-ESTIMATE (Calandriello, Lazaric
    and Valko, 2016), which samples points with probabilities given by
    incrementally estimated ridge leverage scores, so that rare but
    influential regions of the input space (a small distant cluster, the edge
    of the data) get landmarks that uniform sampling misses.  ``partial_fit``
    streams batches through the same dictionary, so data that does not fit in
    memory can be used.

    Read more in the :doc:`User Guide </guide/kernel_ridge>`.

    Parameters
    ----------
    n_components : int, default=500
        Dictionary budget: the largest number of distinct landmark points.
        With ``sampling="ink_estimate"`` the fitted dictionary has at most
        this many points (``n_components_``); with ``"uniform"`` exactly
        ``min(n_components, n_samples_seen)``.  ``fit`` requires
        ``n_components <= n_samples``.
    alpha : float, default=1.0
        Ridge penalty, on the same scale as ``KernelRidge(alpha=...)``: the
        objective is ``||y - f(X)||^2 + alpha ||f||_H^2``.  Must be > 0.
    kernel : str or callable, default="rbf"
        Kernel name from :data:`sklearn.metrics.pairwise.PAIRWISE_KERNEL_FUNCTIONS`
        (except ``"precomputed"``) or a callable ``k(x, y) -> float``, as in
        :class:`~sklearn.kernel_ridge.KernelRidge`.  The kernel must be
        positive semidefinite for the leverage scores to be meaningful.
    gamma : float, default=None
        Kernel coefficient of the rbf, laplacian, polynomial, exponential chi2
        and sigmoid kernels; ``None`` means the kernel's default
        (``1 / n_features`` for rbf).
    degree : float, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=1
        Zero coefficient of the polynomial and sigmoid kernels.
    kernel_params : dict, default=None
        Extra keyword arguments of a callable kernel.
    sampling : {"ink_estimate", "uniform"}, default="ink_estimate"
        How landmarks are chosen.  ``"ink_estimate"`` is the paper's
        sequential ridge-leverage-score sampling; ``"uniform"`` is reservoir
        sampling of ``n_components`` points (the usual Nyström baseline, as in
        :class:`~sklearn.kernel_approximation.Nystroem`).
    leverage_ridge : float, default=None
        Initial ridge ``gamma`` of the leverage scores.  ``None`` uses
        ``epsilon * alpha`` (the paper's choice ``gamma ~ epsilon * mu`` that
        makes the risk bound ``(1 + O(epsilon))``).  Whenever the dictionary
        would exceed ``n_components`` the ridge is multiplied by 1.25 and the
        dictionary thinned again; the final value is ``leverage_ridge_``.
    n_copies : int, default=4
        Number of Bernoulli trials ``q_bar`` per new point (the paper's
        "sampling parameter").  The theory asks for ``q_bar`` of order
        ``log(n) / epsilon^2``; small values (2 to 10) work in practice.
    epsilon : float, default=0.5
        Accuracy parameter of the leverage score estimates, in (0, 1): the
        estimates are scaled by ``1 - epsilon`` so that, when the dictionary
        is an epsilon-accurate sketch, ``tau / a <= tau_est <= tau`` with
        ``a = (1 + epsilon) / (1 - epsilon)``.
    solver : {"direct", "cg"}, default="direct"
        How ``fit`` solves the normal equations on the dictionary.
        ``"direct"`` accumulates ``Phi^T Phi`` over row blocks of ``K_nm``
        (``2 n m^2`` flops, ``O(n d + m^2)`` memory) and solves by Cholesky;
        it is the only choice for ``partial_fit``.  ``"cg"`` is FALKON-style
        conjugate gradient preconditioned by the weighted dictionary
        (``O(n m)`` per iteration; ``K_nm`` is kept in memory when it takes
        at most 512 MB, otherwise recomputed block by block at every
        iteration): it can only beat ``"direct"`` when ``m`` is in the
        thousands and few iterations are needed (see the User Guide).
    tol : float, default=1e-8
        Relative residual at which ``solver="cg"`` stops.
    max_iter : int, default=100
        Iteration limit of ``solver="cg"``; a ``ConvergenceWarning`` is raised
        when it is reached.
    random_state : int, RandomState instance or None, default=None
        Seeds the processing order and every Binomial draw.
    verbose : int, default=0
        Print dictionary size and ridge after every chunk when > 0.

    Attributes
    ----------
    components_ : ndarray of shape (n_landmarks, n_features)
        The dictionary (landmark) points.
    component_indices_ : ndarray of shape (n_landmarks,)
        Position of each landmark in the stream of samples seen by ``fit`` /
        ``partial_fit`` (row of ``X`` for a single ``fit``).
    n_components_ : int
        Number of landmarks actually used (``n_landmarks`` above).
    leverage_scores_ : ndarray of shape (n_landmarks,)
        Estimated ridge leverage scores ``tau_i(leverage_ridge_)`` of the
        landmarks on all the data seen, from the final dictionary.
    sampling_probabilities_ : ndarray of shape (n_landmarks,)
        INK-ESTIMATE's non-increasing sampling probabilities ``p_i``
        (``n_components_ / n_samples_seen_`` for uniform sampling).
    component_copies_ : ndarray of shape (n_landmarks,)
        Surviving copies ``q_i`` of each landmark (1 for uniform sampling).
    component_weights_ : ndarray of shape (n_landmarks,)
        Importance weights ``q_i / (q_bar p_i)`` of the landmarks: the
        weighted dictionary estimates sums over all samples seen.
    leverage_ridge_ : float
        Final ridge ``gamma`` of the leverage scores (after budget growth).
    effective_dimension_ : float
        Estimated effective dimension ``d_eff(gamma) = sum_i tau_i`` of the
        data seen: the importance-weighted sum of the landmarks' leverage
        score estimates, divided by ``1 - epsilon``.
    dual_coef_ : ndarray of shape (n_landmarks,) or (n_landmarks, n_targets)
        Coefficients of the landmarks: ``predict(x) = k(x, components_) @
        dual_coef_``.
    n_samples_seen_ : int
        Number of samples seen by ``fit`` / ``partial_fit``.
    n_cg_iter_ : int
        Conjugate-gradient iterations of the last ``fit`` (0 for
        ``solver="direct"``).
    n_iter_ : int
        Number of dictionary updates performed so far: one per chunk of the
        stream.  With ``"uniform"`` chunks have ``4 * max(n_components, 64)``
        points; with ``"ink_estimate"`` their length follows the admission
        rate (see the User Guide).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit; only defined when ``X`` has
        feature names that are all strings.

    See Also
    --------
    sklearn.kernel_ridge.KernelRidge : Exact kernel ridge regression,
        ``O(n^2)`` memory and ``O(n^3)`` time.
    sklearn.kernel_approximation.Nystroem : Uniform Nyström features (combine
        with :class:`~sklearn.linear_model.Ridge`).

    Notes
    -----
    ``fit(X, y)`` equals ``partial_fit(X, y)`` on a fresh estimator: the rows
    are visited in a random order (``random_state``), the dictionary is built
    in one pass, then the normal equations are accumulated exactly over all
    rows with the final dictionary.  With ``partial_fit`` the earlier batches
    are no longer available: their contribution is kept as Nyström features
    on the dictionary in force when they were absorbed, and mapped to the new
    dictionary through the Nyström reconstruction whenever it changes (exact
    for landmarks that stay; an approximation whose error the INK-ESTIMATE
    guarantee ``K - K_nys <= gamma / (1 - epsilon) I`` bounds for landmarks
    that join later).  See the User Guide for the exact statement.

    References
    ----------
    .. [1] D. Calandriello, A. Lazaric and M. Valko, "Analysis of Nyström
       method with sequential ridge leverage scores", UAI 2016,
       arXiv:2604.20077.
    .. [2] A. Rudi, L. Carratino and L. Rosasco, "FALKON: An optimal large
       scale kernel method", NeurIPS 2017 (Nyström normal equations and
       their penalty scaling).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lowrank import NystromKRR
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-3, 3, size=(2000, 2))
    >>> y = np.sin(X[:, 0]) * np.cos(X[:, 1])
    >>> model = NystromKRR(n_components=100, alpha=1e-3, random_state=0)
    >>> model.fit(X, y).n_components_ <= 100
    True
    >>> bool(model.score(X, y) > 0.99)
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "kernel": [
            StrOptions(set(PAIRWISE_KERNEL_FUNCTIONS) - {"precomputed"}),
            callable,
        ],
        "gamma": [Interval(Real, 0, None, closed="left"), None],
        "degree": [Interval(Real, 0, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "kernel_params": [dict, None],
        "sampling": [StrOptions({"ink_estimate", "uniform"})],
        "leverage_ridge": [Interval(Real, 0, None, closed="neither"), None],
        "n_copies": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"direct", "cg"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "epsilon": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=500,
        *,
        alpha=1.0,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        sampling="ink_estimate",
        leverage_ridge=None,
        n_copies=4,
        epsilon=0.5,
        solver="direct",
        tol=1e-8,
        max_iter=100,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.sampling = sampling
        self.leverage_ridge = leverage_ridge
        self.n_copies = n_copies
        self.epsilon = epsilon
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y):
        """Build the dictionary in one pass over X, then solve the KRR problem.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._validate_training_data(X, y, reset=True)
        n_samples = X.shape[0]
        if self.n_components > n_samples:
            raise ValueError(
                f"{type(self).__name__}: n_components={self.n_components} must "
                f"be <= n_samples={n_samples}."
            )
        self._reset_state()
        self._absorb_batch(X, y, solve=self.solver == "direct")
        if self.solver == "cg":
            R = _whitening_factor(self._dictionary.gram)
            self._set_fitted_attributes(solve=False)
            beta, self.n_cg_iter_ = _preconditioned_cg(
                self._kernel,
                X,
                y,
                self.components_,
                R,
                self.component_weights_,
                self.alpha,
                tol=self.tol,
                max_iter=self.max_iter,
                verbose=self.verbose,
            )
            self.dual_coef_ = linalg.solve_triangular(R, beta, check_finite=False)
            # The streamed statistics were not accumulated: partial_fit must
            # not continue from this fit.
            self._rhs = None
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def partial_fit(self, X, y):
        """Stream one batch through the dictionary and update the solution.

        The dictionary is updated in one pass over the batch (INK-ESTIMATE is
        a streaming algorithm); earlier batches are seen through their
        Nyström features (see Notes of the class and the User Guide).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values of the batch; the number of targets must not change
            between batches.

        Returns
        -------
        self : object
            Updated estimator.
        """
        first = not hasattr(self, "dual_coef_")
        if self.solver != "direct":
            raise ValueError(
                f"{type(self).__name__}.partial_fit needs solver='direct' "
                f"(got solver={self.solver!r}): conjugate gradient needs all the "
                "data at once."
            )
        if not first and self._rhs is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with solver='cg'; refit with "
                "solver='direct' before calling partial_fit."
            )
        X, y = self._validate_training_data(X, y, reset=first)
        if first:
            self._reset_state()
        elif (y.ndim == 1) != (self._y_ndim == 1) or (
            y.ndim == 2 and y.shape[1] != self._n_targets
        ):
            shape = "1-d" if y.ndim == 1 else f"{y.shape[1]} column(s)"
            before = "1-d" if self._y_ndim == 1 else f"{self._n_targets} column(s)"
            raise ValueError(
                f"{type(self).__name__}: y of this batch is {shape} but y of the "
                f"earlier batches was {before}; the targets must not change."
            )
        self._absorb_batch(X, y)
        return self

    def predict(self, X):
        """Predict with the fitted Nyström kernel ridge model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _stream_predict(self._kernel, X, self.components_, self.dual_coef_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # ------------------------------------------------------------ internals
    def _validate_training_data(self, X, y, reset):
        return validate_data(
            self,
            X,
            y,
            reset=reset,
            multi_output=True,
            y_numeric=True,
            dtype=np.float64,
        )

    def _kernel(self, X, Y):
        if X.shape[0] == 0 or Y.shape[0] == 0:
            return np.zeros((X.shape[0], Y.shape[0]))
        if self.kernel == "rbf":
            # The hot path: called once per chunk and per row block, where
            # pairwise_kernels' input validation costs more than the kernel.
            gamma = 1.0 / X.shape[1] if self.gamma is None else self.gamma
            return _rbf_kernel(X, Y, gamma)
        if callable(self.kernel):
            params = self.kernel_params or {}
        else:
            params = {"gamma": self.gamma, "degree": self.degree, "coef0": self.coef0}
        return pairwise_kernels(X, Y, metric=self.kernel, filter_params=True, **params)

    def _kernel_diagonal(self, X):
        if isinstance(self.kernel, str) and self.kernel in _UNIT_DIAGONAL_KERNELS:
            return np.ones(X.shape[0])
        return _blockwise_diagonal(self._kernel, X)

    def _reset_state(self):
        # One generator for the whole stream, kept across partial_fit calls
        # so that successive batches get fresh draws; derived from
        # random_state the same way in fit and in the first partial_fit, so
        # that fit(X, y) equals partial_fit(X, y) on a fresh estimator.
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._rng = np.random.RandomState(seed)
        self._y_ndim = None
        self._dictionary = _Dictionary.empty(self.n_features_in_)
        self._ridge = (
            self.leverage_ridge
            if self.leverage_ridge is not None
            else self.epsilon * self.alpha
        )
        # Normal equations in the whitened basis of the current dictionary.
        self._whitening = np.zeros((0, 0))
        self._gram = np.zeros((0, 0))
        self._rhs = None
        self.n_samples_seen_ = 0
        self.n_iter_ = 0
        self._chunk_length = max(self.n_components, 64)

    def _absorb_batch(self, X, y, solve=True):
        """One pass of INK-ESTIMATE over the batch, then refresh the solution."""
        rng = self._rng
        n = X.shape[0]
        if self._y_ndim is None:
            self._y_ndim = y.ndim
            self._n_targets = 1 if y.ndim == 1 else y.shape[1]
        old = self._dictionary
        order = rng.permutation(n)
        dictionary, ridge = old, self._ridge
        start = 0
        while start < n:
            if dictionary.size == 0:
                # All the points of the first chunk are scored against
                # nothing and most get admitted: keep it to ~ the budget.
                size = max(self.n_components, 64)
            elif self.sampling == "uniform":
                size = _CHUNK_FACTOR * max(self.n_components, 64)
            else:
                size = self._chunk_length
            rows = order[start : start + size]
            X_chunk = X[rows]
            ids = self.n_samples_seen_ + rows
            if self.sampling == "uniform":
                dictionary = _reservoir_step(
                    dictionary,
                    X_chunk,
                    ids,
                    self.n_samples_seen_ + start,
                    self.n_components,
                    rng,
                )
            else:
                dictionary, ridge, admitted = _ink_estimate_step(
                    dictionary,
                    X_chunk,
                    ids,
                    self._kernel_diagonal(X_chunk),
                    kernel=self._kernel,
                    ridge=ridge,
                    n_copies=self.n_copies,
                    epsilon=self.epsilon,
                    budget=self.n_components,
                    rng=rng,
                )
                self._chunk_length = _next_chunk_length(
                    rows.size, admitted, self.n_components
                )
            start += size
            self.n_iter_ += 1
            if self.verbose:
                print(
                    f"[NystromKRR] chunk {self.n_iter_}: {dictionary.size} "
                    f"landmarks, leverage ridge {ridge:.3g}"
                )
        self._ridge = ridge
        self.n_samples_seen_ += n
        if self.sampling == "uniform":
            # Reservoir sampling has no leverage scores to maintain, hence no
            # K_DD during the pass; its importance weights are n_seen / m.
            m = dictionary.size
            dictionary.gram = self._kernel(dictionary.points, dictionary.points)
            dictionary.probabilities = np.full(m, m / self.n_samples_seen_)

        # Carry the earlier batches' normal equations over to the new basis.
        self._dictionary = dictionary
        if not solve:
            return
        R_new = _whitening_factor(dictionary.gram)
        if self._rhs is not None and self._gram.size:
            M = _change_of_basis(
                self._whitening, self._kernel(old.points, dictionary.points), R_new
            )
            gram = M.T @ self._gram @ M
            rhs = M.T @ self._rhs
        else:
            gram = np.zeros((R_new.shape[0],) * 2)
            rhs = np.zeros((R_new.shape[0],) + y.shape[1:])
        batch_gram, batch_rhs = _whitened_normal_equations(
            self._kernel, X, y, dictionary.points, R_new
        )
        self._gram = gram + batch_gram
        self._rhs = rhs + batch_rhs
        self._whitening = R_new
        self._set_fitted_attributes()

    def _set_fitted_attributes(self, solve=True):
        d = self._dictionary
        self.components_ = d.points
        self.component_indices_ = d.ids
        self.n_components_ = d.size
        self.leverage_ridge_ = float(self._ridge)
        n_copies = 1 if self.sampling == "uniform" else self.n_copies
        weights = _importance_weights(d, n_copies)
        self.sampling_probabilities_ = d.probabilities
        self.component_copies_ = d.copies
        self.component_weights_ = weights
        self.leverage_scores_, _ = _ink_scores(
            d.gram, weights, self._ridge, self.epsilon
        )
        # The estimates carry the (1 - epsilon) safety factor; undo it here so
        # that the estimate is centred on d_eff rather than biased low.
        self.effective_dimension_ = float(
            weights @ self.leverage_scores_ / (1.0 - self.epsilon)
        )
        if solve:
            self.n_cg_iter_ = 0
            self.dual_coef_ = _solve_whitened(
                self._gram, self._rhs, self._whitening, self.alpha
            )


# ---------------------------------------------------------------------------
# Private solvers: arrays in, arrays out.
# ---------------------------------------------------------------------------


class _Dictionary:
    """The INK-ESTIMATE state: points, their stream ids, p_i, q_i and K_DD."""

    __slots__ = ("copies", "gram", "ids", "points", "probabilities")

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
    return np.clip((1.0 - epsilon) * (1.0 - ridge * diag_inv) / weights, 0.0, 1.0)


def _new_point_scores(residual, ridge, epsilon):
    # a = (k_xx - k_Dx^T S M^-1 S^T k_Dx) / gamma is the score of x against
    # the dictionary alone; adding x itself with weight 1 (as the paper does
    # for the arriving column) gives a / (1 + a) by Sherman-Morrison.
    a = np.maximum(residual / ridge, 0.0)
    return np.clip((1.0 - epsilon) * a / (1.0 + a), 0.0, 1.0)


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
# rejected by the same rows whatever the rounds): 8 was 3-15% faster than 32
# at m = 50 and m = 800, a wash at m = 200.
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
        copies[idx] = np.maximum(binom.ppf(u[idx], n_copies, tau[idx]), 1)
    return copies, tau


def _shrink(dictionary, tau, rng):
    """SHRINK: ``p_i <- min(tau_i, p_i)``, ``q_i ~ Binomial(q_i, p_new / p_old)``.

    Returns the thinned dictionary and the indices of the surviving points.
    Keeping ``p`` non-increasing is what makes the ratio a probability.
    """
    p_old = dictionary.probabilities
    p_new = np.minimum(tau, p_old)
    ratio = np.divide(p_new, p_old, out=np.zeros_like(p_new), where=p_old > 0)
    copies = rng.binomial(dictionary.copies, np.clip(ratio, 0.0, 1.0))
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
    """One chunk of the stream with INK-ESTIMATE; return (dictionary, ridge, n_added).

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
    while True:
        tau, _ = _ink_scores(
            dictionary.gram, _importance_weights(dictionary, n_copies), ridge, epsilon
        )
        dictionary, _ = _shrink(dictionary, tau, rng)
        if dictionary.size <= budget:
            break
        # d_eff(c * gamma) >= d_eff(gamma) / c, so growing the ridge by the
        # overflow ratio cannot push the expected size far below the budget,
        # and it avoids many small steps when the ridge starts far too small.
        ridge *= max(_RIDGE_GROWTH, dictionary.size / budget)
    return dictionary, ridge, added.size


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


def _reservoir_step(dictionary, X_new, ids, n_seen, budget, rng):
    """Uniform reservoir sampling (Vitter's algorithm R) over one chunk.

    The t-th point of the stream (0-based) fills a free slot while
    ``t < budget``, and otherwise replaces slot ``j ~ U{0..t}`` if ``j <
    budget``; after the chunk the reservoir is a uniform sample of everything
    seen.
    """
    points = np.vstack([dictionary.points, X_new[: max(0, budget - dictionary.size)]])
    kept_ids = np.concatenate(
        [dictionary.ids, ids[: points.shape[0] - dictionary.size]]
    )
    first_replacing = points.shape[0] - dictionary.size
    t = n_seen + np.arange(first_replacing, X_new.shape[0])
    slots = rng.randint(0, t + 1) if t.size else np.zeros(0, dtype=np.int64)
    # Later points overwrite earlier ones in the same slot, as in the loop.
    for j, slot in zip(
        np.flatnonzero(slots < budget) + first_replacing, slots[slots < budget]
    ):
        points[slot] = X_new[j]
        kept_ids[slot] = ids[j]
    m = points.shape[0]
    return _Dictionary(
        points, kept_ids, np.ones(m), np.ones(m, dtype=np.int64), np.zeros((0, 0))
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


def _whitened_normal_equations(kernel, X, y, landmarks, R):
    """``Phi^T Phi`` and ``Phi^T y`` for ``Phi = K(X, landmarks) R^-1``, by row blocks.

    Each block costs one triangular solve and one rank-k update (``syrk``):
    about ``2 n m^2`` flops in all, memory one block of K_nm.  Whitening the
    blocks before accumulating keeps the rounding error at ``eps ||Phi||^2``;
    accumulating ``C^T C`` and whitening afterwards would amplify it by the
    condition number of ``K_DD`` (it fails outright for wide kernels).
    """
    r = R.shape[0]
    gram = np.zeros((r, r), order="F")
    rhs = np.zeros((r,) + y.shape[1:])
    if r == 0:
        return gram, rhs
    for rows in _row_blocks(X.shape[0], r):
        # Phi_b^T = R^-T C_b^T; C_b^T is Fortran-ordered, no copy is made.
        Phi_t = linalg.solve_triangular(
            R,
            kernel(X[rows], landmarks).T,
            trans="T",
            check_finite=False,
            overwrite_b=True,
        )
        gram = _syrk(1.0, Phi_t, beta=1.0, c=gram, trans=0, overwrite_c=True)
        rhs += Phi_t @ y[rows]
    # syrk fills the upper triangle only.
    return np.triu(gram) + np.triu(gram, 1).T, rhs


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


def _preconditioned_cg(
    kernel, X, y, landmarks, R, weights, alpha, *, tol, max_iter, verbose=0
):
    """Solve ``(Phi^T Phi + alpha I) beta = Phi^T y``, ``Phi = K(X, D) R^-1``, by PCG.

    FALKON-style (Rudi, Carratino, Rosasco 2017): every product with
    ``Phi^T Phi`` streams row blocks of ``K(X, D)``, so ``K_nm`` is never
    stored and an iteration costs ``O(n m)``.  The preconditioner uses the
    weighted dictionary as a sketch of the data: ``C^T C = sum_i k_i k_i^T ~
    W diag(w) W``, hence ``Phi^T Phi ~ R diag(w) R^T`` and we precondition
    with ``P = R diag(w) R^T + alpha I`` (for uniform landmarks ``w = n/m``,
    FALKON's preconditioner).  Columns of a 2-d ``y`` are solved together.

    Returns ``(beta, n_iter)``.
    """
    m = R.shape[0]
    Y = y.reshape(len(y), -1)
    blocks = list(_row_blocks(X.shape[0], m))
    # Every iteration needs all of K_nm.  Recomputing it costs n m kernel
    # evaluations (an exp each for rbf), ten times the two matrix-vector
    # products; keep the blocks when K_nm is small enough.
    cached = None
    if 8 * X.shape[0] * m <= _CG_CACHE_BYTES:
        cached = [kernel(X[rows], landmarks) for rows in blocks]

    def kernel_blocks():
        if cached is not None:
            yield from zip(blocks, cached)
        else:
            for rows in blocks:
                yield rows, kernel(X[rows], landmarks)

    def normal_matvec(V):
        U = linalg.solve_triangular(R, V, check_finite=False)
        out = alpha * V
        acc = np.zeros_like(V)
        for _, Kb in kernel_blocks():
            acc += Kb.T @ (Kb @ U)
        return out + linalg.solve_triangular(R, acc, trans="T", check_finite=False)

    rhs = np.zeros((m, Y.shape[1]))
    for rows, Kb in kernel_blocks():
        rhs += Kb.T @ Y[rows]
    rhs = linalg.solve_triangular(R, rhs, trans="T", check_finite=False)

    P = (R * weights[None, :]) @ R.T
    P[np.diag_indices_from(P)] += alpha
    P_factor = linalg.cho_factor(P, check_finite=False)

    beta = np.zeros_like(rhs)
    resid = rhs.copy()
    z = linalg.cho_solve(P_factor, resid, check_finite=False)
    direction = z.copy()
    rz = np.einsum("ij,ij->j", resid, z)
    rhs_norm = np.maximum(np.linalg.norm(rhs, axis=0), np.finfo(float).tiny)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        Ad = normal_matvec(direction)
        step = rz / np.maximum(np.einsum("ij,ij->j", direction, Ad), 1e-300)
        beta += step * direction
        resid -= step * Ad
        rel = np.linalg.norm(resid, axis=0) / rhs_norm
        if verbose:
            print(f"[NystromKRR] cg iteration {n_iter}: residual {rel.max():.2e}")
        if rel.max() <= tol:
            break
        z = linalg.cho_solve(P_factor, resid, check_finite=False)
        rz_new = np.einsum("ij,ij->j", resid, z)
        direction = z + (rz_new / np.maximum(rz, 1e-300)) * direction
        rz = rz_new
    else:
        warnings.warn(
            f"NystromKRR: conjugate gradient reached max_iter={max_iter} with "
            f"relative residual {rel.max():.2e} > tol={tol}. Increase max_iter "
            "or use solver='direct'.",
            ConvergenceWarning,
        )
    return beta.reshape((m,) + y.shape[1:]), n_iter


def _stream_predict(kernel, X, landmarks, dual_coef):
    out = np.empty((X.shape[0],) + dual_coef.shape[1:])
    for rows in _row_blocks(X.shape[0], landmarks.shape[0]):
        out[rows] = kernel(X[rows], landmarks) @ dual_coef
    return out


# Entries of K per tile in _rbf_kernel: 2 MB, so that the elementwise passes
# after the GEMM run in cache rather than from memory.
_RBF_TILE = 2**18


def _rbf_kernel(X, Y, gamma):
    """``exp(-gamma ||x - y||^2)`` as sklearn's ``rbf_kernel``, without validation.

    The exponent is ``2 gamma x.y - gamma |x|^2 - gamma |y|^2`` (the expansion
    sklearn uses for float64 input, scaled by ``-gamma`` before rather than
    after), clipped at 0 and exponentiated in place.  Tiles of rows keep the
    four elementwise passes in cache: out of cache they cost more than the
    GEMM and the exp together.
    """
    K = np.empty((X.shape[0], Y.shape[0]))
    x_sq = gamma * np.einsum("ij,ij->i", X, X)
    y_sq = gamma * np.einsum("ij,ij->i", Y, Y)
    Y_scaled_t = (2.0 * gamma) * Y.T
    step = max(1, _RBF_TILE // max(Y.shape[0], 1))
    for start in range(0, X.shape[0], step):
        tile = K[start : start + step]
        np.matmul(X[start : start + step], Y_scaled_t, out=tile)
        tile -= x_sq[start : start + step, None]
        tile -= y_sq
        np.minimum(tile, 0.0, out=tile)
        np.exp(tile, out=tile)
    return K


def _blockwise_diagonal(kernel, X, block=256):
    """``k(x_i, x_i)`` for every row, without forming the n x n kernel."""
    diag = np.empty(X.shape[0])
    for start in range(0, X.shape[0], block):
        Xb = X[start : start + block]
        diag[start : start + block] = np.diag(kernel(Xb, Xb))
    return diag
