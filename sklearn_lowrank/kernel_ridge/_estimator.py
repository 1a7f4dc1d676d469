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

These are additions of this implementation, not of the paper, and are
documented as such in the User Guide:

- the *budget* ``n_components``: the RLS ridge ``gamma`` grows whenever the
  dictionary would exceed it (which only lowers the probabilities and so
  keeps the SHRINK step valid), and the dictionary is then filled up to
  exactly the budget with uniformly drawn points (adding landmarks can only
  shrink ``K - K_nys``); ``n_components="auto"`` is the paper's own
  self-sized dictionary;
- INK-ESTIMATE scores a uniform prefix of the shuffled stream,
  ``max(16 m, 4096)`` points, as BLESS (Rudi et al., 2018) estimates
  leverage scores from uniform subsamples; the rest of the data only
  enters the solve;
- the stream is processed in chunks (new points of one chunk are scored
  against the dictionary but not against each other, which over-estimates
  their scores, the safe direction; the chunk length follows the admission
  rate, see :func:`~sklearn_lowrank.kernel_ridge._ink._next_chunk_length`);
  within a chunk, the Bernoulli trials of the new points are drawn by
  inversion before their scores are complete, so that scoring stops as soon
  as a point's rejection is certain; this changes the cost, not the
  distribution.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS, pairwise_kernels
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank._messages import verbose_print, warn, warn_not_converged
from sklearn_lowrank._threads import bounded_blas_threads, bounded_fit
from sklearn_lowrank.kernel_ridge._ink import (
    _MAX_SETTLE_ROUNDS,
    _Dictionary,
    _importance_weights,
    _ink_estimate_step,
    _ink_scores,
    _next_chunk_length,
    _reservoir_step,
)
from sklearn_lowrank.kernel_ridge._nystrom import (
    _UNIT_DIAGONAL_KERNELS,
    _blockwise_diagonal,
    _change_of_basis,
    _rbf_kernel,
    _solve_whitened,
    _stream_predict,
    _whitened_normal_equations,
    _whitening_factor,
)

__all__ = ["NystromKRR"]

# INK-ESTIMATE scores a uniform prefix of the (shuffled) stream of this many
# times the budget, and at least _SCORED_PREFIX_MIN points; the rest of the
# stream only enters the solve.  See the User Guide ("what the default does").
_SCORED_PREFIX_FACTOR = 16
_SCORED_PREFIX_MIN = 4096
# Largest number of landmarks whose m x m factorizations run on one BLAS thread.
_SMALL_DENSE = 1024
# Rows sampled to check that the kernel is not numerically degenerate on X.
_SCALE_CHECK_ROWS = 256


class NystromKRR(RegressorMixin, BaseEstimator):
    """Kernel ridge regression on a Nyström dictionary chosen by INK-ESTIMATE.

    Solves the :class:`~sklearn.kernel_ridge.KernelRidge` problem restricted to
    the span of ``n_components`` landmark points.  The landmarks are chosen
    by INK-ESTIMATE (Calandriello, Lazaric and Valko, 2016), which samples
    points with probabilities given by incrementally estimated ridge leverage
    scores, so that rare but influential regions of the input space (a small
    distant cluster, the edge of the data) get landmarks that uniform
    sampling misses.  ``partial_fit`` streams batches through the same
    dictionary, so data that does not fit in memory can be used.

    Read more in the :doc:`User Guide </guide/kernel_ridge>`.

    Parameters
    ----------
    n_components : int or "auto", default=500
        Number of landmarks.  An int is a budget that is met exactly, as by
        :class:`~sklearn.kernel_approximation.Nystroem`: the fitted model has
        ``min(n_components, n_samples_seen)`` landmarks; with
        ``sampling="ink_estimate"`` they are INK-ESTIMATE's dictionary (at
        most the budget, kept there by growing the leverage ridge) filled up
        with uniformly drawn points.  ``fit`` with ``n_components >
        n_samples`` warns and uses every sample.  ``"auto"`` is the paper's
        self-sized dictionary: no budget, the ridge stays at
        ``leverage_ridge`` and the dictionary has ``O(n_copies * d_eff)``
        points (``d_eff`` the effective dimension), however many that is.
    alpha : float, default=1.0
        Ridge penalty, on the same scale as ``KernelRidge(alpha=...)``: the
        objective is ``||y - f(X)||^2 + alpha ||f||_H^2``.  Must be > 0.
    kernel : str or callable, default="rbf"
        Kernel name from :data:`sklearn.metrics.pairwise.PAIRWISE_KERNEL_FUNCTIONS`
        (except ``"precomputed"``) or a callable ``k(x, y) -> float``, as in
        :class:`~sklearn.kernel_ridge.KernelRidge`.  The kernel must be
        positive semidefinite (a clear error says so otherwise).
    gamma : float, default=None
        Kernel coefficient of the rbf, laplacian, polynomial, exponential chi2
        and sigmoid kernels; ``None`` means the kernel's own default
        (``1 / n_features`` for rbf, 1 for chi2).  It is not rescaled with X:
        on data where the kernel is numerically the identity or constant
        (e.g. X scaled by 1e+-150) ``fit`` raises a ``ValueError``.
    degree : float, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=1
        Zero coefficient of the polynomial and sigmoid kernels.
    kernel_params : dict, default=None
        Extra keyword arguments of a callable kernel.
    sampling : {"ink_estimate", "uniform"}, default="ink_estimate"
        How landmarks are chosen.  ``"ink_estimate"`` is the paper's
        sequential ridge-leverage-score sampling, run on a uniform prefix of
        the shuffled stream of ``max(16 * n_components, 4096)`` points (all
        of it for ``n_components="auto"``); ``"uniform"`` is reservoir
        sampling (the usual Nyström baseline, as in
        :class:`~sklearn.kernel_approximation.Nystroem`).
    leverage_ridge : float, default=None
        Initial ridge ``gamma`` of the leverage scores.  ``None`` uses
        ``epsilon * alpha`` (the paper's choice ``gamma ~ epsilon * mu`` that
        makes the risk bound ``(1 + O(epsilon))``).  With a budget, the ridge
        grows whenever the dictionary would exceed it; the final value is
        ``leverage_ridge_``.
    n_copies : int, default=4
        Number of Bernoulli trials ``q_bar`` per new point (the paper's
        "sampling parameter").  The theory asks for ``q_bar`` of order
        ``log(n) / epsilon^2``; small values (2 to 10) work in practice.
    epsilon : float, default=0.5
        Accuracy parameter of the leverage score estimates, in (0, 1): the
        estimates are scaled by ``1 - epsilon`` so that, when the dictionary
        is an epsilon-accurate sketch, ``tau / a <= tau_est <= tau`` with
        ``a = (1 + epsilon) / (1 - epsilon)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the processing order and every Binomial draw.
    verbose : int, default=0
        When > 0, print the dictionary size and ridge after every chunk of
        the leverage pass, and the progress of the final solve.

    Attributes
    ----------
    components_ : ndarray of shape (n_landmarks, n_features)
        The landmark points: the leverage-sampled dictionary first, then the
        uniform fill-up points (``component_copies_ == 0``).
    component_indices_ : ndarray of shape (n_landmarks,)
        Position of each landmark in the stream of samples seen by ``fit`` /
        ``partial_fit`` (row of ``X`` for a single ``fit``).
    n_components_ : int
        Number of landmarks (``n_landmarks`` above):
        ``min(n_components, n_samples_seen_)`` for an int budget.
    leverage_scores_ : ndarray of shape (n_landmarks,)
        Estimated ridge leverage scores ``tau_i(leverage_ridge_)`` of the
        landmarks on the samples scored, from the weighted dictionary (for
        fill-up landmarks: their score as new points against it).
    sampling_probabilities_ : ndarray of shape (n_landmarks,)
        INK-ESTIMATE's non-increasing sampling probabilities ``p_i``; the
        reservoir's inclusion probability ``n_components_ / n_samples_seen_``
        for uniform and fill-up landmarks.
    component_copies_ : ndarray of shape (n_landmarks,)
        Surviving copies ``q_i`` of each landmark (1 for uniform sampling, 0
        for fill-up landmarks, which are not part of the weighted sketch).
    component_weights_ : ndarray of shape (n_landmarks,)
        Importance weights ``q_i / (q_bar p_i)`` of the landmarks: the
        weighted dictionary estimates sums over the samples scored.
    leverage_ridge_ : float
        Final ridge ``gamma`` of the leverage scores (after budget growth).
    effective_dimension_ : float
        Estimated effective dimension ``d_eff(gamma) = sum_i tau_i`` of the
        samples scored: the importance-weighted sum of the dictionary's
        leverage score estimates, divided by ``1 - epsilon``.
    dual_coef_ : ndarray of shape (n_landmarks,) or (n_landmarks, n_targets)
        Coefficients of the landmarks: ``predict(x) = k(x, components_) @
        dual_coef_``.
    n_samples_seen_ : int
        Number of samples seen by ``fit`` / ``partial_fit``.
    n_samples_scored_ : int
        Number of those that INK-ESTIMATE scored (the uniform prefix of the
        stream; 0 for ``sampling="uniform"``).
    n_iter_ : int
        Number of dictionary updates of INK-ESTIMATE so far, one per chunk of
        the scored stream (0 for ``sampling="uniform"``).  Each is bounded:
        at most 200 ridge increases per chunk (a ``ConvergenceWarning`` if
        that is not enough to meet the budget).
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
    in one pass over a uniform prefix of that order, then the normal
    equations are accumulated exactly over all rows with the final
    landmarks.  ``y`` scaled by any factor (1e+-300 included) scales the
    predictions by the same factor.  With ``partial_fit`` the earlier batches
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
    >>> model.fit(X, y).n_components_
    100
    >>> bool(model.score(X, y) > 0.99)
    True
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
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
        self.random_state = random_state
        self.verbose = verbose

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
        budget = self._budget()
        if budget is not None and budget > n_samples:
            warn(
                f"{type(self).__name__}: n_components={budget} > n_samples="
                f"{n_samples}; using n_samples={n_samples} landmarks (every "
                "training point), as sklearn's Nystroem does.",
                UserWarning,
            )
            budget = n_samples
        self._stream = self._new_stream(budget)
        self._absorb_batch(X, y)
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
        first = getattr(self, "_stream", None) is None
        X, y = self._validate_training_data(X, y, reset=first)
        if first:
            self._stream = self._new_stream(self._budget())
        elif (y.ndim == 1) != (self._stream.y_ndim == 1) or (
            y.ndim == 2 and y.shape[1] != self._stream.n_targets
        ):
            before = self._stream
            shape = "1-d" if y.ndim == 1 else f"{y.shape[1]} column(s)"
            was = "1-d" if before.y_ndim == 1 else f"{before.n_targets} column(s)"
            raise ValueError(
                f"{type(self).__name__}: y of this batch is {shape} but y of the "
                f"earlier batches was {was}; the targets must not change."
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
    def _budget(self):
        return None if self.n_components == "auto" else int(self.n_components)

    def _validate_training_data(self, X, y, reset):
        if self.n_components == "auto" and self.sampling == "uniform":
            raise ValueError(
                f"{type(self).__name__}: n_components='auto' sizes the dictionary "
                "by leverage scores and needs sampling='ink_estimate', got "
                "sampling='uniform'."
            )
        y_dtype = getattr(y, "dtype", None)
        if y is not None and y_dtype is None:
            y_dtype = np.asarray(y).dtype
        if y_dtype is not None and getattr(y_dtype, "kind", "f") in "USO":
            # String targets: sklearn's regressors fail with numpy's wording
            # ("could not convert string to float"), not deep in a solver.
            try:
                y = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{type(self).__name__}: y: {exc}") from exc
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
            K = _rbf_kernel(X, Y, gamma)
        else:
            if callable(self.kernel):
                params = self.kernel_params or {}
            else:
                params = {"degree": self.degree, "coef0": self.coef0}
                # None is each kernel's own default (1 / n_features for most,
                # 1 for chi2), which sklearn's functions apply when omitted.
                if self.gamma is not None:
                    params["gamma"] = self.gamma
            with np.errstate(over="ignore", invalid="ignore"):
                K = pairwise_kernels(
                    X, Y, metric=self.kernel, filter_params=True, **params
                )
            K = np.asarray(K, dtype=np.float64)
        if not np.isfinite(K).all():
            raise ValueError(
                f"{type(self).__name__}: the {self._kernel_name()} kernel "
                "overflows on X (non-finite kernel values); rescale X (e.g. "
                "StandardScaler) or lower gamma / degree."
            )
        return K

    def _kernel_name(self):
        return self.kernel if isinstance(self.kernel, str) else "callable"

    def _kernel_diagonal(self, X):
        if isinstance(self.kernel, str) and self.kernel in _UNIT_DIAGONAL_KERNELS:
            return np.ones(X.shape[0])
        return _blockwise_diagonal(self._kernel, X)

    def _check_kernel_scale(self, sample):
        """Refuse data on which the kernel is numerically identity or constant.

        Both mean that the kernel's scale (``gamma``) does not match X's: with
        an identity kernel every point is "infinitely far" from every other
        and predictions are 0 away from the landmarks; with a constant one
        all points look alike.  X scaled by 1e+-150 with a fixed ``gamma``
        lands here, and so does constant X.
        """
        if sample.shape[0] < 2:
            return
        W = self._kernel(sample, sample)
        diag = np.abs(np.diag(W))
        scale = max(float(np.max(np.abs(W))), np.finfo(float).tiny)
        off = W[~np.eye(W.shape[0], dtype=bool)]
        if np.max(np.abs(off)) <= 1e-12 * max(float(diag.max()), 0.0):
            what = "the identity (all points far apart at this gamma)"
        elif np.ptp(W) <= 1e-12 * scale:
            what = "constant (all points alike at this gamma, or constant X)"
        else:
            return
        raise ValueError(
            f"{type(self).__name__}: the {self._kernel_name()} kernel is "
            f"numerically {what} on {sample.shape[0]} sampled rows of X, so "
            "the fit would carry no information; rescale X (e.g. "
            "StandardScaler) or choose gamma to match X's scale."
        )

    def _new_stream(self, budget):
        # Seeded the same way in fit and in the first partial_fit, so that
        # fit(X, y) equals partial_fit(X, y) on a fresh estimator.
        rng = check_random_state(self.random_state)
        stream = _NystromKRRStream()
        stream.rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
        stream.budget = budget
        stream.y_ndim = None
        stream.n_targets = None
        stream.dictionary = _Dictionary.empty(self.n_features_in_)
        stream.reservoir = _Dictionary.empty(self.n_features_in_)
        stream.ridge = (
            self.leverage_ridge
            if self.leverage_ridge is not None
            else self.epsilon * self.alpha
        )
        stream.chunk_length = max(budget or 0, 64)
        # INK-ESTIMATE scores this many points of the stream (a uniform
        # prefix, the stream being shuffled); see _SCORED_PREFIX_FACTOR.
        stream.scored_limit = (
            None
            if budget is None
            else max(_SCORED_PREFIX_FACTOR * budget, _SCORED_PREFIX_MIN)
        )
        stream.n_scored = 0
        stream.n_seen = 0
        stream.n_chunks = 0
        # Landmarks of the current solution and the normal equations in the
        # whitened basis of their kernel matrix.
        stream.landmarks = np.zeros((0, self.n_features_in_))
        stream.whitening = np.zeros((0, 0))
        stream.gram = np.zeros((0, 0))
        stream.rhs = None
        return stream

    def _absorb_batch(self, X, y):
        """One pass of the sampler over the batch, then refresh the solution."""
        s = self._stream
        rng = s.rng
        n = X.shape[0]
        if s.y_ndim is None:
            s.y_ndim = y.ndim
            s.n_targets = 1 if y.ndim == 1 else y.shape[1]
        order = rng.permutation(n)
        if s.n_seen == 0:
            self._check_kernel_scale(X[order[: min(n, _SCALE_CHECK_ROWS)]])
        try:
            self._sample_and_solve(X, y, order)
        except np.linalg.LinAlgError as exc:
            raise ValueError(
                f"{type(self).__name__}: {exc} The {self._kernel_name()} kernel "
                "must be positive semidefinite on X."
            ) from exc

    def _sample_and_solve(self, X, y, order):
        s = self._stream
        rng = s.rng
        n = X.shape[0]
        ids = s.n_seen + order
        if s.budget is not None:
            s.reservoir = _reservoir_step(
                s.reservoir, X, order, ids, s.n_seen, s.budget, rng
            )
        if self.sampling == "ink_estimate":
            n_score = n if s.scored_limit is None else s.scored_limit - s.n_scored
            n_score = max(0, min(n, n_score))
            # Many small factorizations and triangular solves: one BLAS
            # thread is as fast, and extra threads only spin-wait on a busy
            # machine.
            with bounded_blas_threads(max_threads=1):
                self._ink_pass(X, order[:n_score], ids[:n_score])
            s.n_scored += n_score
        s.n_seen += n
        self._solve(X, y)

    def _ink_pass(self, X, rows, ids):
        s = self._stream
        start = 0
        while start < rows.shape[0]:
            # The first chunk is scored against nothing and mostly admitted:
            # keep it to ~ the budget.
            size = max(s.budget or 0, 64) if s.dictionary.size == 0 else s.chunk_length
            chunk = slice(start, start + size)
            X_chunk = X[rows[chunk]]
            s.dictionary, s.ridge, admitted, settled = _ink_estimate_step(
                s.dictionary,
                X_chunk,
                ids[chunk],
                self._kernel_diagonal(X_chunk),
                kernel=self._kernel,
                ridge=s.ridge,
                n_copies=self.n_copies,
                epsilon=self.epsilon,
                budget=s.budget,
                rng=s.rng,
            )
            if not settled:
                warn_not_converged(
                    self,
                    n_iter=_MAX_SETTLE_ROUNDS,
                    what="leverage-ridge increases",
                    advice=(
                        "check that the kernel is positive semidefinite (the "
                        "dictionary was cut to the budget by copy count)"
                    ),
                )
            budget = s.budget if s.budget is not None else s.dictionary.size
            s.chunk_length = _next_chunk_length(X_chunk.shape[0], admitted, budget)
            start += size
            s.n_chunks += 1
            if self.verbose:
                verbose_print(
                    self,
                    f"chunk {s.n_chunks}: {s.dictionary.size} leverage-sampled "
                    f"landmarks, leverage ridge {s.ridge:.3g}",
                )

    def _landmarks(self):
        """Points and stream ids of the solution's landmarks.

        With a budget: the INK-ESTIMATE dictionary, filled up to exactly
        ``min(budget, n_seen)`` points from the uniform reservoir (adding
        landmarks can only make the Nyström approximation better: ``K -
        K_nys`` decreases in the PSD order).  Without one: the dictionary.
        """
        s = self._stream
        if self.sampling == "uniform":
            return s.reservoir.points, s.reservoir.ids
        d = s.dictionary
        if s.budget is None:
            return d.points, d.ids
        fill = np.flatnonzero(~np.isin(s.reservoir.ids, d.ids))
        fill = fill[: max(0, min(s.budget, s.n_seen) - d.size)]
        points = np.vstack([d.points, s.reservoir.points[fill]])
        return points, np.concatenate([d.ids, s.reservoir.ids[fill]])

    def _solve(self, X, y):
        """Carry the earlier batches' normal equations over, add this batch, solve."""
        s = self._stream
        points, ids = self._landmarks()
        m = points.shape[0]
        # m x m factorizations: below _SMALL_DENSE, BLAS threads buy little and
        # spin-wait on a busy machine (one thread keeps the fit load-robust).
        small = bounded_blas_threads(max_threads=1 if m <= _SMALL_DENSE else None)
        with small:
            W = self._kernel(points, points)
            R_new = _whitening_factor(W)
            if s.rhs is not None and s.gram.size:
                M = _change_of_basis(
                    s.whitening, self._kernel(s.landmarks, points), R_new
                )
                gram = M.T @ s.gram @ M
                rhs = M.T @ s.rhs
            else:
                gram = np.zeros((m, m))
                rhs = np.zeros((m,) + y.shape[1:])
        progress = None
        if self.verbose:

            def progress(done, total):
                verbose_print(self, f"solve: {done}/{total} rows accumulated")

        batch_gram, batch_rhs = _whitened_normal_equations(
            self._kernel, X, y, points, R_new, progress=progress
        )
        s.gram, s.rhs = gram + batch_gram, rhs + batch_rhs
        s.whitening, s.landmarks = R_new, points
        if not (np.isfinite(s.gram).all() and np.isfinite(s.rhs).all()):
            raise ValueError(
                f"{type(self).__name__}: the normal equations overflow; rescale X or y."
            )
        with bounded_blas_threads(max_threads=1 if m <= _SMALL_DENSE else None):
            self.dual_coef_ = _solve_whitened(s.gram, s.rhs, R_new, self.alpha)
        self.components_ = points
        self.component_indices_ = ids
        self.n_components_ = points.shape[0]
        self.n_samples_seen_ = s.n_seen
        self.n_iter_ = s.n_chunks
        self._set_leverage_attributes(W)

    def _set_leverage_attributes(self, W):
        s = self._stream
        m = self.n_components_
        self.leverage_ridge_ = float(s.ridge)
        if self.sampling == "uniform":
            weights = np.full(m, s.n_seen / max(m, 1))
            self.sampling_probabilities_ = np.full(m, m / s.n_seen)
            self.component_copies_ = np.ones(m, dtype=np.int64)
            self.component_weights_ = weights
            self.leverage_scores_, _ = _ink_scores(W, weights, s.ridge, self.epsilon)
            self.n_samples_scored_ = 0
            self.effective_dimension_ = float(
                weights @ self.leverage_scores_ / (1.0 - self.epsilon)
            )
            return
        d = s.dictionary
        k, n_fill = d.size, m - d.size
        weights = _importance_weights(d, self.n_copies)
        tau_dict, tau_fill = _ink_scores(
            W[:k, :k],
            weights,
            s.ridge,
            self.epsilon,
            cross=W[:k, k:],
            diag_new=np.diag(W)[k:].copy(),
        )
        # Fill-up landmarks are uniform draws, not part of the weighted
        # sketch: no copies, no weight; their probability is the reservoir's.
        self.leverage_scores_ = np.concatenate([tau_dict, tau_fill])
        self.sampling_probabilities_ = np.concatenate(
            [d.probabilities, np.full(n_fill, min(1.0, m / s.n_seen))]
        )
        self.component_copies_ = np.concatenate(
            [d.copies, np.zeros(n_fill, dtype=np.int64)]
        )
        self.component_weights_ = np.concatenate([weights, np.zeros(n_fill)])
        self.n_samples_scored_ = s.n_scored
        # The estimates carry the (1 - epsilon) safety factor; undo it here so
        # that the estimate is centred on d_eff rather than biased low.
        self.effective_dimension_ = float(weights @ tau_dict / (1.0 - self.epsilon))


class _NystromKRRStream:
    """Streaming state of :class:`NystromKRR`, created by ``fit`` / ``partial_fit``.

    A plain class (no ``__slots__``) so that pickle and skops round-trip it.
    Attributes are set by ``NystromKRR._new_stream``.
    """
