"""Sketched least squares for tall problems: sketch-and-solve and -precondition.

Sketch-and-solve is the estimator of Song, Ye, Yin and Zhang, "A Nearly-Optimal
Bound for Fast Regression with l-infinity Guarantee" (ICML 2023,
arXiv:2302.00248): draw an oblivious sketch ``S`` (m x n, m << n) and solve the
small problem ``min ||S A x - S b||``.  Its coordinate-wise guarantee
``||x' - x*||_inf <= eps / sqrt(d) * ||A x* - b|| * ||A^+||`` is proven for
Gaussian sketches (and for the SRHT in the form of Price, Song and Woodruff,
ICALP 2017); for the other sketches it is an empirical property (the main
proof of the 2023 paper has been challenged, see the user guide).

Sketch-and-precondition (Blendenpik, Avron, Maymounkov and Toledo, SISC 2010;
LSRN, Meng, Saunders and Mahoney, SISC 2014) uses the same sketch only to
build a preconditioner ``N = V diag(1/sigma)`` from the SVD of ``S A``; then
``A N`` has a condition number close to 1 whatever the conditioning of ``A``,
and conjugate gradients on the preconditioned normal equations reach the
exact least-squares solution in a number of passes over ``A`` that does not
depend on ``cond(A)``.  Neither mode ever factorizes the full ``A``.

The sketch operators live in :mod:`sklearn_lowrank._sketches`.
"""

from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.stats import t as student_t
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank import _dask
from sklearn_lowrank._linalg import power_of_two_scale
from sklearn_lowrank._messages import (
    estimator_name,
    verbose_print,
    warn_not_converged,
)
from sklearn_lowrank._sketches import (
    ROW_BLOCK_SKETCHES,
    SKETCHES,
    apply_sketch,
    gaussian_sketch_size,
    sketch_row_block,
)
from sklearn_lowrank._threads import (
    blas_workers,
    bounded_blas_threads,
    bounded_fit,
)
from sklearn_lowrank._validation import (
    check_sample_weight,
    check_sample_weight_totals,
)

__all__ = ["SketchedLeastSquares"]

# Sketch rows per column of A in precondition mode, at least and at most.
# cond(A N) ~ (1 + sqrt(d/m)) / (1 - sqrt(d/m)) sets the CG rate, so more
# rows mean fewer passes over A, with diminishing returns beyond 200 d (the
# pass counts are in the user guide).
_PRECONDITION_MIN_OVERSAMPLING = 20
_PRECONDITION_MAX_OVERSAMPLING = 200
# A pass over A is memory bound (nnz(A) numbers streamed) while the QR of the
# m x d sketch, 2 m d^2 flops, runs at BLAS-3 speed, an order of magnitude
# more numbers per second: m = 20 nnz(A) / d^2 makes the QR cost about two
# passes, and the total time is flat around it (user guide, "Performance").
_SKETCH_ROWS_PER_PASS_ENTRY = 20
# Entries per row block in the fused passes over a dense A (2 MB): the block
# read for A z is still in cache for A^T r, and the products stay long
# enough for BLAS; smaller blocks pay per-call overhead (user guide).
_PASS_BLOCK_ENTRIES = 1 << 18
# A centered column whose sketch norm is below this fraction of the rounding
# scale of its centering may be constant (rounding leaves ~n eps of it); such
# columns are then checked exactly on the data (min == max).  Real columns
# only get here when |mean| / std > 1e8, and then pass the check.
_CONSTANT_RTOL = 1e-8


class SketchedLeastSquares(RegressorMixin, BaseEstimator):
    """Least squares for tall data by random sketching.

    Fits ``y ~ X coef + intercept`` for ``n_samples >> n_features`` without
    factorizing the full ``X``.  Two modes:

    - ``"precondition"`` (default): a sketch of ``X`` gives a preconditioner
      under which conjugate gradients on the normal equations converge in a
      number of passes over ``X`` independent of its condition number
      (Blendenpik / LSRN).  The result is the exact least-squares solution,
      to ``tol``.
    - ``"sketch_and_solve"``: the solution of the sketched problem
      ``min ||S X coef - S y||`` itself (Song, Ye, Yin and Zhang, 2023), an
      approximation with a coordinate-wise error bound, at the cost of one
      sketch of ``X``.

    Read more in the user guide (``docs/guide/least_squares.rst``).

    Parameters
    ----------
    mode : {"precondition", "sketch_and_solve"}, default="precondition"
        Exact least squares via a sketched preconditioner, or the
        sketch-and-solve estimate.
    sketch : {"auto", "srtt", "gaussian", "countsketch", "sparse_sign"}, \
            default="auto"
        Sketch operator (see :mod:`sklearn_lowrank._sketches`).  ``"auto"``
        is ``"countsketch"`` in precondition mode (the cheapest; sketch
        quality only changes the number of passes), and in sketch-and-solve
        mode ``"srtt"`` for dense ``X`` (the paper's dense fast sketch) and
        ``"sparse_sign"`` for sparse ``X``.  In :meth:`partial_fit`
        (sketch-and-solve) ``"auto"`` is ``"sparse_sign"``; ``"srtt"`` is
        not available there because it mixes all rows.
    sketch_size : int or None, default=None
        Number of rows ``m`` of the sketch.  If None: in precondition mode
        ``20 nnz(X) / n_features^2`` (the QR of the sketch then costs about
        two passes over ``X``, and more rows mean fewer passes), clipped to
        ``[20, 200] * n_features`` and to half the rows above the floor
        (``20 * n_features`` for the Gaussian sketch, whose cost grows with
        ``m``); in sketch-and-solve mode the smallest ``m`` for
        which the Gaussian-sketch bound gives accuracy ``epsilon`` with
        probability ``1 - delta``, ``m = (sqrt(d) + sqrt(2 log(2/delta)) +
        sqrt(2 d log(4 d/delta)) / epsilon)^2`` (about ``9.5e3`` for
        ``d = 100`` at the defaults).  If ``m >= n_samples`` nothing is
        gained by sketching and the problem is solved exactly.
    epsilon : float, default=0.5
        Target accuracy of sketch-and-solve, in the coordinate-wise bound
        ``||coef - coef*||_inf <= epsilon / sqrt(d) * ||X coef* - y|| *
        ||X^+||``; only used to choose ``sketch_size``.
    delta : float, default=0.05
        Failure probability allowed for that bound: used to choose
        ``sketch_size`` and as the confidence ``1 - delta`` of
        ``coef_error_bound_``.
    fit_intercept : bool, default=True
        Whether to fit an intercept.  Centering is applied implicitly, so
        sparse ``X`` stays sparse and is never copied.
    tol : float, default=1e-10
        Precondition mode stops when, for every target, the normal-equation
        residual satisfies ``||X_c^T r|| <= tol * ||X_c|| * ||r||`` (``X_c``
        the centered ``X``, ``r`` the residual) or the residual itself is
        below ``tol * (||y_c|| + ||X_c|| ||coef||)`` (consistent systems).
    max_iter : int, default=100
        Maximum number of conjugate-gradient passes in precondition mode.
    random_state : int, RandomState instance or None, default=None
        Seed of the sketch.
    verbose : int, default=0
        Print the sketch and the convergence of the iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (0.0 if ``fit_intercept=False``).
    n_iter_ : int
        Conjugate-gradient passes over ``X`` (0 in sketch-and-solve mode,
        for the one-pass :meth:`partial_fit` solutions and when every
        column of ``X`` is constant).
    coef_error_bound_ : ndarray of the shape of ``coef_``
        Only after a sketch-and-solve fit: with probability at least
        ``1 - delta``, simultaneously for every coefficient,
        ``|coef_[j] - coef*[j]| <= coef_error_bound_[j]``, where ``coef*``
        is the exact least-squares solution.  It is computed from the
        sketched problem alone, ``t_{m-r}^{-1}(1 - delta / (2 d t)) *
        ||S X coef - S y|| / sqrt(m - r) * ||(S X)^+ e_j||`` (``m`` sketch
        rows, ``r`` the rank, ``t`` targets), and is *proven* for
        ``sketch="gaussian"`` (exactly, at every size); for the other
        sketches it is the same formula, measured but not proven (user
        guide).  Zero when no sketch was needed (``sketch_ == "identity"``).
    sketch_ : str
        The sketch used (``"auto"`` resolved; ``"identity"`` when
        ``sketch_size >= n_samples`` and the problem was solved exactly;
        ``"streaming_qr"`` for :meth:`partial_fit` in precondition mode).
    sketch_size_ : int
        Rows of the sketch actually used.
    preconditioner_ : ndarray of shape (n_features, rank)
        ``N = V diag(1 / sigma)`` from the SVD of the sketched, centered
        ``X``: ``X_c N`` is well conditioned.  Only after :meth:`fit` in
        precondition mode.
    n_samples_seen_ : int
        Number of samples fitted (summed over :meth:`partial_fit` calls).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has feature names
        that are all strings.

    See Also
    --------
    sklearn.linear_model.LinearRegression : Dense direct least squares
        (LAPACK); exact and the right choice for small or wide problems.
    scipy.sparse.linalg.lsqr : Unpreconditioned iterative least squares; its
        iteration count grows with the condition number.

    Notes
    -----
    ``partial_fit`` sees each row block once, so it cannot make the passes
    over ``X`` that precondition mode needs.  It supports:

    - ``mode="sketch_and_solve"`` with the sketches that are sums over row
      blocks (``gaussian``, ``countsketch``, ``sparse_sign``):
      ``S X = sum_k S_k X_k`` is accumulated and the small sketched problem
      re-solved after every block;
    - ``mode="precondition"``: the *exact* least-squares solution from a
      one-pass streaming QR of ``[X_k, 1, y_k]`` (``O(n d^2)`` flops, memory
      ``O(d^2)``), i.e. the factorization that :meth:`fit` avoids, but
      without ever holding more than one block.

    Memory: ``fit`` never copies ``X`` (float64 input), and keeps ``O(m d)``
    for the sketch plus a few row blocks.

    Degenerate and extreme input: a column that is exactly constant (over
    the rows of positive weight, in :meth:`partial_fit` over the blocks seen)
    carries no information once centered; its coefficient is 0 (the
    minimum-norm solution) and no pass is spent on it.
    If every column is constant, ``coef_`` is zero, ``intercept_`` the
    weighted mean of ``y`` (0 without ``fit_intercept``) and ``n_iter_`` 0.
    ``y`` is handled in power-of-two units and all stopping norms are
    computed scaled, so multiplying ``X`` or ``y`` by any constant (1e-300
    to 1e300) gives the correspondingly scaled fit; coefficients that do not
    fit in float64 (tiny ``X``, huge ``y``) raise a ``ValueError``.

    References
    ----------
    .. [1] Z. Song, M. Ye, J. Yin, L. Zhang. "A Nearly-Optimal Bound for Fast
       Regression with l-infinity Guarantee". ICML 2023, arXiv:2302.00248.
    .. [2] E. Price, Z. Song, D. P. Woodruff. "Fast Regression with an
       l-infinity Guarantee". ICALP 2017.
    .. [3] H. Avron, P. Maymounkov, S. Toledo. "Blendenpik: Supercharging
       LAPACK's Least-Squares Solver". SIAM J. Sci. Comput. 32(3), 2010.
    .. [4] X. Meng, M. A. Saunders, M. W. Mahoney. "LSRN: A Parallel
       Iterative Solver for Strongly Over- or Underdetermined Systems".
       SIAM J. Sci. Comput. 36(2), 2014.

    Examples
    --------
    >>> from sklearn_lowrank import SketchedLeastSquares
    >>> from sklearn_lowrank.datasets import make_leverage_regression
    >>> X, y, coef = make_leverage_regression(
    ...     5000, 20, condition_number=1e6, noise=0.1, random_state=0)
    >>> reg = SketchedLeastSquares(random_state=0).fit(X, y)
    >>> reg.n_iter_ < 30
    True
    >>> float(abs(reg.coef_ - coef).max()) < 1e-2
    True
    """

    _parameter_constraints: dict = {
        "mode": [StrOptions({"precondition", "sketch_and_solve"})],
        "sketch": [StrOptions({"auto", *SKETCHES})],
        "sketch_size": [Interval(Integral, 1, None, closed="left"), None],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        mode="precondition",
        sketch="auto",
        sketch_size=None,
        epsilon=0.5,
        delta=0.05,
        fit_intercept=True,
        tol=1e-10,
        max_iter=100,
        random_state=None,
        verbose=0,
    ):
        self.mode = mode
        self.sketch = sketch
        self.sketch_size = sketch_size
        self.epsilon = epsilon
        self.delta = delta
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y, sample_weight=None):
        """Fit the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape \
                (n_samples, n_features)
            Training data; CSR/CSC sparse input is used as is.  A dask array
            chunked by rows is fitted block by block, never gathered (user
            guide: scaling out).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (weighted least squares).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        rows = _row_source(self, X, y, sample_weight)
        self._drop_stream()
        n_samples, n_features = rows.shape
        sketch = self._resolve_sketch(rows.sparse, by_blocks=rows.by_blocks)
        sketch_size = self._resolve_sketch_size(n_samples, n_features, rows.nnz, sketch)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if sketch_size >= n_samples:
            # Sketching cannot reduce anything: the "sketch" is X itself.
            rows = rows.in_memory(self)
            sketch, sketch_size = "identity", n_samples
        SX, SY, x_mean, y_mean, raw_scale = rows.sketch(
            sketch, sketch_size, seed, fit_intercept=self.fit_intercept
        )
        _check_sums_finite(self, SX, SY, x_mean, y_mean)
        if self.verbose:
            verbose_print(
                self,
                f"{sketch} sketch, {sketch_size} x {n_features}{rows.description}",
            )
        # Work in units where y is O(1) (a power of two: exact), so that no
        # squared norm of y can overflow or underflow; X needs no rescaling
        # (every quantity below is linear in it).
        y_scale = power_of_two_scale(SY)
        SY /= y_scale
        # Columns that are exactly constant (zero after centering) get a zero
        # coefficient; their centered sketch is rounding noise, not data.
        suspects = _column_norms(SX) <= _CONSTANT_RTOL * raw_scale
        free = ~rows.constant_columns(suspects)
        SX[:, ~free] = 0.0

        precond, coef = _sketched_solution(SX, SY)
        n_iter = 0
        if self.mode == "precondition":
            with rows.residual_passes(x_mean, y_mean / y_scale, y_scale) as passes:
                coef, n_iter = _preconditioned_normal_cg(
                    coef,
                    precond,
                    residual_pass=passes,
                    y_norm=_column_norms(SY),
                    sketch_size=np.inf if sketch == "identity" else sketch_size,
                    free=free,
                    tol=self.tol,
                    max_iter=self.max_iter,
                    estimator=self,
                )
            self.preconditioner_ = precond
        else:
            # The exact solve (identity sketch) has no sketching error.
            bound = (
                np.zeros_like(coef)
                if sketch == "identity"
                else _linf_error_bound(SX, SY, coef, precond, self.delta)
            )
            self.coef_error_bound_ = _as_coef_shape(y_scale * bound, rows.y_ndim)
        with np.errstate(over="ignore"):  # overflow is reported just below
            coef = coef * y_scale
        _check_coef_finite(self, coef)
        self._set_coef(coef, y_mean - x_mean @ coef, rows.y_ndim)
        self.n_iter_ = n_iter
        self.sketch_ = sketch
        self.sketch_size_ = sketch_size
        self.n_samples_seen_ = n_samples
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def partial_fit(self, X, y, sample_weight=None):
        """Add a block of rows and update the fit (one pass; see Notes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A block of rows.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets of these rows; the number of targets must not change.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : object
            Updated estimator.
        """
        first = not hasattr(self, "_stream")
        rows = _ArrayRows.validated(self, X, y, sample_weight, reset=first)
        X, Y = rows.X, rows.Y
        sample_weight = rows.weights_or_ones()
        n_samples, n_features = rows.shape
        if first:
            self._stream = self._new_stream(rows)
        stream = self._stream
        if Y.shape[1] != stream.n_targets:
            raise ValueError(
                f"{type(self).__name__}.partial_fit: y has {Y.shape[1]} target(s) "
                f"but earlier blocks had {stream.n_targets}."
            )
        sqrt_w = np.sqrt(sample_weight)
        stream.update_range(X, sample_weight)
        # Exactly constant columns (over the rows of positive weight) carry
        # nothing once centered; they get a zero coefficient, as in fit.
        free = ~stream.constant_columns(self.fit_intercept)
        if self.mode == "precondition":
            block = _design_block(X, Y, sqrt_w, self.fit_intercept)
            stack = block if stream.R is None else np.vstack([stream.R, block])
            # "raw" returns the economic (c x c) R and, with overwrite_a, works
            # in the stacked block: no second copy of the block.
            stream.R = scipy.linalg.qr(
                stack, mode="raw", overwrite_a=True, check_finite=False
            )[1]
            coef = _solve_streaming_qr(
                stream.R, np.r_[free, [True] * self.fit_intercept]
            )
            if self.fit_intercept:
                intercept = coef[n_features]
            else:
                intercept = np.zeros(Y.shape[1])
            self._set_coef(coef[:n_features], intercept, stream.y_ndim)
        else:
            rng = np.random.default_rng([stream.seed, stream.n_blocks])
            parts = sketch_row_block(
                [X, Y, np.ones(n_samples)],
                stream.sketch_size,
                stream.sketch,
                rng,
                row_scale=sqrt_w,
            )
            stream.SX += parts[0]
            stream.SY += parts[1]
            stream.S1 += parts[2]
            stream.w_sum += sample_weight.sum()
            stream.x_sum += np.asarray(sample_weight @ X).ravel()
            stream.y_sum += sample_weight @ Y
            if self.fit_intercept and stream.w_sum > 0:
                x_mean = stream.x_sum / stream.w_sum
                y_mean = stream.y_sum / stream.w_sum
            else:
                x_mean, y_mean = np.zeros(n_features), np.zeros(Y.shape[1])
            SX = stream.SX - stream.S1 * x_mean
            SX[:, ~free] = 0.0
            SY = stream.SY - stream.S1 * y_mean
            y_scale = power_of_two_scale(SY)
            SY /= y_scale
            precond, coef = _sketched_solution(SX, SY)
            bound = _linf_error_bound(SX, SY, coef, precond, self.delta)
            with np.errstate(over="ignore"):  # overflow is reported below
                coef *= y_scale
            _check_coef_finite(self, coef)
            self.coef_error_bound_ = _as_coef_shape(y_scale * bound, stream.y_ndim)
            self._set_coef(coef, y_mean - x_mean @ coef, stream.y_ndim)
        stream.n_blocks += 1
        self.n_samples_seen_ = (
            getattr(self, "n_samples_seen_", 0) * (not first) + n_samples
        )
        self.n_iter_ = 0
        self.sketch_ = stream.sketch
        self.sketch_size_ = stream.sketch_size
        return self

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=["csr", "csc"])
        return X @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    # -- helpers ---------------------------------------------------------

    def _drop_stream(self):
        for attr in ("_stream", "preconditioner_", "coef_error_bound_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def _resolve_sketch_size(self, n_samples, n_features, X_nnz, sketch):
        name = type(self).__name__
        if self.mode == "sketch_and_solve" and n_samples < n_features:
            raise ValueError(
                f"{name}(mode='sketch_and_solve') needs at least as "
                f"many samples as features; got {n_samples} sample(s) and "
                f"{n_features} features. The problem is not overdetermined: use "
                f"mode='precondition' (exact, minimum-norm) or "
                f"sklearn.linear_model.LinearRegression."
            )
        if self.sketch_size is not None:
            m = self.sketch_size
        elif self.mode == "precondition":
            m = _precondition_sketch_size(n_samples, n_features, X_nnz, sketch)
        else:
            m = gaussian_sketch_size(n_features, self.epsilon, self.delta)
        if m < n_samples and m < n_features:
            raise ValueError(
                f"{name}: sketch_size={m} is smaller than "
                f"n_features={n_features}; the sketched matrix would be rank "
                f"deficient. Use sketch_size >= n_features (a few times more "
                f"is better)."
            )
        return int(m)

    def _resolve_sketch(self, sparse, by_blocks):
        """The sketch for this fit; ``by_blocks``: built as a sum over blocks."""
        if self.sketch != "auto":
            if by_blocks and self.sketch not in ROW_BLOCK_SKETCHES:
                raise ValueError(
                    f"{type(self).__name__}: sketch={self.sketch!r} mixes all rows, "
                    f"so it cannot be built block by block (in partial_fit or "
                    f"from dask row blocks); use one of {ROW_BLOCK_SKETCHES} "
                    f"(or 'auto')."
                )
            return self.sketch
        if self.mode == "precondition":
            return "countsketch"
        return "sparse_sign" if sparse or by_blocks else "srtt"

    def _new_stream(self, rows):
        n_features, n_targets = rows.shape[1], rows.Y.shape[1]
        if self.mode == "precondition":
            return _LeastSquaresStream(
                n_targets=n_targets,
                y_ndim=rows.y_ndim,
                sketch="streaming_qr",
                sketch_size=0,
                n_features=n_features,
            )
        if self.sketch_size is not None:
            m = self.sketch_size
        else:
            m = gaussian_sketch_size(n_features, self.epsilon, self.delta)
        if m < n_features:
            raise ValueError(
                f"{type(self).__name__}: sketch_size={m} is smaller than "
                f"n_features={n_features}; the sketched matrix would be rank "
                f"deficient. Use sketch_size >= n_features."
            )
        return _LeastSquaresStream(
            n_targets=n_targets,
            y_ndim=rows.y_ndim,
            sketch=self._resolve_sketch(rows.sparse, by_blocks=True),
            sketch_size=m,
            seed=int(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            ),
            n_features=n_features,
        )

    def _set_coef(self, coef, intercept, y_ndim):
        # coef: (n_features, n_targets); sklearn stores (n_targets, n_features).
        # Without an intercept the means are zero, so intercept is zero too.
        if y_ndim == 1:
            self.coef_ = coef[:, 0].copy()
            self.intercept_ = float(intercept[0])
        else:
            self.coef_ = np.ascontiguousarray(coef.T)
            self.intercept_ = np.asarray(intercept, dtype=float).copy()


class _LeastSquaresStream:
    """What :meth:`SketchedLeastSquares.partial_fit` carries between blocks.

    Precondition mode keeps the R factor of the streaming QR; sketch-and-solve
    keeps the accumulated sketch ``S [X, Y, 1]`` and the weighted sums that
    give the means.  A plain class (no ``__slots__``): pickle and skops
    round-trip it.
    """

    def __init__(
        self, *, n_targets, y_ndim, sketch, sketch_size, seed=None, n_features=0
    ):
        self.n_targets = n_targets
        self.y_ndim = y_ndim
        self.sketch = sketch
        self.sketch_size = sketch_size
        self.seed = seed
        self.n_blocks = 0
        self.R = None
        m = sketch_size
        self.SX = np.zeros((m, n_features))
        self.SY = np.zeros((m, n_targets))
        self.S1 = np.zeros((m, 1))
        self.w_sum = 0.0
        self.x_sum = np.zeros(n_features)
        self.y_sum = np.zeros(n_targets)
        # Range of each column over the rows of positive weight.
        self.x_min = np.full(n_features, np.inf)
        self.x_max = np.full(n_features, -np.inf)

    def update_range(self, X, sample_weight):
        """Fold a block's column minima and maxima into the stream's."""
        rows = sample_weight > 0
        if not rows.any():
            return
        X = X[rows]
        low = X.min(axis=0)
        high = X.max(axis=0)
        if sp.issparse(low):
            low, high = low.toarray().ravel(), high.toarray().ravel()
        np.minimum(self.x_min, np.asarray(low).ravel(), out=self.x_min)
        np.maximum(self.x_max, np.asarray(high).ravel(), out=self.x_max)

    def constant_columns(self, fit_intercept):
        """Columns constant so far: all of them when centered, else the zeros."""
        constant = self.x_min == self.x_max
        if not fit_intercept:
            constant &= self.x_max == 0
        return constant


# -- row sources -------------------------------------------------------------
#
# ``fit`` talks to its data only through a row source: the sketch pass (with
# the weighted means) and the fused residual passes of the CG.  One source
# holds in-memory rows, the other row blocks of a dask array; ``fit`` is the
# same for both.


def _row_source(est, X, y, sample_weight):
    """Validate ``X, y, sample_weight`` into the matching row source."""
    if _dask.is_dask_collection(X):
        return _DaskRows.validated(est, X, y, sample_weight)
    return _ArrayRows.validated(est, X, y, sample_weight, reset=True)


class _ArrayRows:
    """Rows held in memory: a float64 array or CSR/CSC matrix ``X``.

    ``weights`` is None for unit weights, which keeps the per-row multiply
    out of the hot loops.
    """

    by_blocks = False
    description = ""

    def __init__(self, X, Y, weights, y_ndim):
        self.X, self.Y, self.weights, self.y_ndim = X, Y, weights, y_ndim
        self.shape = X.shape
        self.sparse = sp.issparse(X)
        self.nnz = X.nnz if self.sparse else X.size

    @classmethod
    def validated(cls, est, X, y, sample_weight, reset):
        # float64 input is used as is (never copied); sparse stays sparse.
        X, y = validate_data(
            est,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=np.float64,
            multi_output=True,
            y_numeric=True,
        )
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, X.shape[0], estimator=est)
        # sklearn converts object targets only; strings in a str array get
        # the same "could not convert string to float" as in its regressors.
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, input_name="y", estimator=est
        )
        return cls(X, y.reshape(X.shape[0], -1), weights, y.ndim)

    def in_memory(self, est):
        return self

    def weights_or_ones(self):
        return np.ones(self.shape[0]) if self.weights is None else self.weights

    def sketch(self, sketch, sketch_size, seed, *, fit_intercept):
        """Centered ``S X_c, S Y_c`` (``"identity"``: ``W^1/2 X_c`` itself)."""
        X, Y = self.X, self.Y
        w = self.weights_or_ones()
        if fit_intercept:
            w_total = w.sum()
            x_mean = np.asarray(w @ X).ravel() / w_total
            y_mean = w @ Y / w_total
        else:
            x_mean, y_mean = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
        sqrt_w = np.sqrt(w)
        if sketch == "identity":
            dense = X.toarray() if self.sparse else X
            SX = sqrt_w[:, None] * (dense - x_mean)
            SY = sqrt_w[:, None] * (Y - y_mean)
            raw_scale = _column_norms(sqrt_w[:, None] * dense)
            raw_scale += _column_norms(sqrt_w[:, None]) * np.abs(x_mean)
            return SX, SY, x_mean, y_mean, raw_scale
        SX, SY, S1 = apply_sketch(
            [X, Y, np.ones(X.shape[0])],
            sketch_size,
            sketch,
            np.random.default_rng(seed),
            row_scale=None if self.weights is None else sqrt_w,
        )
        return _center(SX, SY, S1, x_mean, y_mean)

    def constant_columns(self, candidates):
        """Which ``candidates`` (a mask) are constant over the weighted rows."""
        constant = np.zeros_like(candidates)
        columns = np.flatnonzero(candidates)
        if columns.size == 0:
            return constant
        # One slice of all candidate columns (a CSR column slice scans X).
        block = self.X[:, columns]
        if self.weights is not None:
            block = block[self.weights > 0]
        if block.shape[0] == 0:
            constant[columns] = True
            return constant
        low, high = block.min(axis=0), block.max(axis=0)
        if self.sparse:
            low, high = low.toarray().ravel(), high.toarray().ravel()
        constant[columns] = low == high
        return constant

    @contextmanager
    def residual_passes(self, x_mean, y_mean, y_scale):
        """Yield ``residual_pass(z, with_targets) -> (g, rr)`` for the CG.

        Targets are divided by ``y_scale`` (``y_mean`` already is).
        """
        Y = self.Y if y_scale == 1 else self.Y / y_scale
        with blas_workers() as workers:
            yield _in_memory_residual_pass(
                self.X, Y, x_mean, y_mean, self.weights, workers
            )


class _DaskRows:
    """Row blocks of a dask array ``X`` (with ``Y`` and weights chunked alike).

    The sketch ``S X = sum_k S_k X_k`` draws block ``k``'s columns of ``S``
    from ``(seed, k)``, so it differs from the in-memory sketch, but
    precondition mode converges to the same exact solution.
    """

    by_blocks = True
    sparse = False

    def __init__(self, X, Y, W, y_ndim, estimator_name):
        self.X, self.Y, self.W, self.y_ndim = X, Y, W, y_ndim
        self.estimator_name = estimator_name
        self.shape = X.shape
        self.nnz = X.shape[0] * X.shape[1]
        self.description = f", {X.numblocks[0]} dask row blocks"
        self.blocks = _dask.row_blocks(X, Y, W)

    @classmethod
    def validated(cls, est, X, y, sample_weight):
        name = type(est).__name__
        X = _dask.check_row_chunked(X, estimator=est)
        if X.ndim != 2:
            raise ValueError(
                f"{name}: X must be 2-D; got a {X.ndim}-D dask array. "
                f"Reshape it, e.g. X.reshape(-1, 1) for one feature."
            )
        if y is None:
            raise ValueError(f"{name} requires y to be passed, got None.")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(
                f"{name}: X has shape {X.shape}; need at least one "
                f"sample and one feature."
            )
        # The values are checked block by block in the sketch pass; here
        # only the feature count and names (sklearn's convention for input
        # that is not converted).
        validate_data(est, X, skip_check_array=True, reset=True)
        Y = _dask.aligned(y, X.chunks[0], "y", estimator=est)
        y_ndim = Y.ndim
        if y_ndim == 1:
            Y = Y.reshape(X.shape[0], 1)
        W = None
        if sample_weight is not None:
            W = _dask.aligned(
                sample_weight, X.chunks[0], "sample_weight", estimator=est
            )
        return cls(X, Y, W, y_ndim, name)

    def in_memory(self, est):
        """Too few rows for a sketch to save anything: gather them."""
        dask, _ = _dask._import_dask()
        X, Y = dask.compute(self.X, self.Y if self.y_ndim == 2 else self.Y[:, 0])
        W = None if self.W is None else self.W.compute()
        return _ArrayRows.validated(est, X, Y, W, reset=True)

    def sketch(self, sketch, sketch_size, seed, *, fit_intercept):
        sums = _dask.sum_over_row_blocks(
            _sketch_block,
            self.blocks,
            seed=seed,
            sketch_size=sketch_size,
            sketch=sketch,
            weighted=self.W is not None,
        )
        SX, SY, S1, n_negative, w_total, x_sum, y_sum = sums
        w_total = float(w_total[0])
        if not all(np.isfinite(a).all() for a in (SX, SY, x_sum, y_sum, [w_total])):
            raise ValueError(
                f"{self.estimator_name}: X, y or sample_weight contains NaN or "
                f"infinity (dask input)."
            )
        check_sample_weight_totals(
            n_negative[0], w_total, estimator=self.estimator_name
        )
        if fit_intercept:
            x_mean, y_mean = x_sum / w_total, y_sum / w_total
        else:
            x_mean, y_mean = np.zeros(self.shape[1]), np.zeros(SY.shape[1])
        return _center(SX, SY, S1, x_mean, y_mean)

    def constant_columns(self, candidates):
        """Which ``candidates`` (a mask) are constant: one pass, if any."""
        if not candidates.any():
            return candidates
        dask, da = _dask._import_dask()
        columns = self.X[:, np.flatnonzero(candidates)]
        if self.W is not None:
            # Rows of zero weight do not count: NaN is ignored by nanmin/nanmax.
            columns = da.where(self.W[:, None] > 0, columns, np.nan)
        low, high = dask.compute(da.nanmin(columns, 0), da.nanmax(columns, 0))
        constant = np.zeros_like(candidates)
        constant[candidates] = ~(low < high)
        return constant

    @contextmanager
    def residual_passes(self, x_mean, y_mean, y_scale):
        def residual_pass(z, with_targets):
            return _dask.sum_over_row_blocks(
                _residual_block,
                self.blocks,
                coef=z,
                x_mean=x_mean,
                y_mean=y_mean,
                y_scale=y_scale,
                with_targets=with_targets,
            )

        yield residual_pass


def _as_float_block(Xb, Yb, wb):
    Xb = np.asarray(Xb, dtype=np.float64)
    Yb = np.asarray(Yb, dtype=np.float64).reshape(Xb.shape[0], -1)
    wb = np.ones(Xb.shape[0]) if wb is None else np.asarray(wb, dtype=np.float64)
    return Xb, Yb, wb


def _sketch_block(index, Xb, Yb, wb, *, seed, sketch_size, sketch, weighted):
    """One block's sketch ``S_k [X_k, Y_k, 1]`` plus its weighted moments."""
    Xb, Yb, wb = _as_float_block(Xb, Yb, wb)
    rng = np.random.default_rng([seed, index])
    SX, SY, S1 = sketch_row_block(
        [Xb, Yb, np.ones(Xb.shape[0])],
        sketch_size,
        sketch,
        rng,
        row_scale=np.sqrt(np.maximum(wb, 0)) if weighted else None,
    )
    return (
        SX,
        SY,
        S1,
        np.array([np.count_nonzero(wb < 0)]),
        np.array([wb.sum()]),
        wb @ Xb,
        wb @ Yb,
    )


def _residual_block(index, Xb, Yb, wb, *, coef, x_mean, y_mean, y_scale, with_targets):
    """One block's part of :func:`_normal_residual_pass` (the parts add up)."""
    Xb, Yb, wb = _as_float_block(Xb, Yb, wb)
    # A new array, not in place: the block may be a view of the user's y;
    # passes without targets do not read it.
    Yb = Yb / y_scale if with_targets else None
    # The per-block pass subtracts x_mean * sum(w r) for its own rows; the
    # correction is linear in the rows, so the block results simply add up.
    return _normal_residual_pass(Xb, Yb, coef, x_mean, y_mean, wb)


def _precondition_sketch_size(n_samples, n_features, nnz, sketch):
    """Default sketch rows in precondition mode: few passes, a cheap QR.

    ``20 nnz / d^2`` rows (the QR of the sketch then costs about two passes
    over ``X``), clipped to ``[20 d, 200 d]`` and to half the rows above
    ``20 d`` (a sketch as tall as ``X`` would only copy it).  A Gaussian
    sketch costs ``m nnz`` flops to apply, so it keeps the floor.
    """
    d = max(n_features, 1)
    low = _PRECONDITION_MIN_OVERSAMPLING * d
    if sketch == "gaussian":
        return low
    m = _SKETCH_ROWS_PER_PASS_ENTRY * nnz // (d * d)
    high = max(low, min(_PRECONDITION_MAX_OVERSAMPLING * d, n_samples // 2))
    return int(min(max(m, low), high))


def _column_norms(M):
    """Euclidean norm of each column, computed scaled: no over/underflow.

    ``np.linalg.norm(M, axis=0)`` squares the entries, so 1e200 gives inf and
    1e-200 gives 0; dividing by the column's largest entry first does not.
    """
    M = M.reshape(M.shape[0], -1)
    if M.shape[0] == 0:
        return np.zeros(M.shape[1])
    scale = np.max(np.abs(M), axis=0)
    safe = np.where(scale > 0, scale, 1.0)
    scaled = M / safe
    return scale * np.sqrt(np.einsum("ij,ij->j", scaled, scaled))


def _center(SX, SY, S1, x_mean, y_mean):
    """``S (X - 1 mean^T) = S X - (S 1) mean^T``: centering without a copy.

    Also returns, per column, the scale of the rounding error of that
    subtraction (``||S X_j|| + ||S 1|| |mean_j|``), below which a centered
    column is indistinguishable from a constant one.
    """
    raw_scale = _column_norms(SX) + _column_norms(S1) * np.abs(x_mean)
    SX -= S1 * x_mean
    SY -= S1 * y_mean
    return SX, SY, x_mean, y_mean, raw_scale


def _check_sums_finite(estimator, SX, SY, x_mean, y_mean):
    if not all(np.isfinite(a).all() for a in (SX, SY, x_mean, y_mean)):
        raise ValueError(
            f"{estimator_name(estimator)}: sums over the rows of X or y overflow "
            f"float64 (their values are too large); divide X or y by a "
            f"constant, the fit is equivariant."
        )


def _check_coef_finite(estimator, coef):
    if not np.isfinite(coef).all():
        raise ValueError(
            f"{estimator_name(estimator)}: the coefficients overflow float64 (y "
            f"is too large relative to X); divide y by a constant or multiply X "
            f"by one, the fit is equivariant."
        )


def _as_coef_shape(values, y_ndim):
    """``(d, t)`` per-coefficient values in the layout of ``coef_``."""
    return values[:, 0].copy() if y_ndim == 1 else np.ascontiguousarray(values.T)


def _linf_error_bound(SX, SY, coef, precond, delta):
    """Per-coefficient error bound of sketch-and-solve at confidence 1 - delta.

    For a Gaussian sketch (entries ``N(0, 1/m)``) and ``r* = b - A x*``
    orthogonal to the columns of ``A``, ``S [U, r*]`` is an i.i.d. Gaussian
    matrix (``U`` an orthonormal basis of ``A``), so given ``SA`` the error
    ``x' - x*`` is Gaussian with covariance ``OPT^2/m (A^T S^T S A)^+``
    while the sketched residual ``||S A x' - S b||^2`` is ``OPT^2/m``
    times an independent chi-square with ``m - r`` degrees of freedom
    (``r`` the rank).  Hence each
    ``(x'_j - x*_j) / (||SA x' - Sb|| / sqrt(m - r) * ||(SA)^+ e_j||)``
    has Student's t distribution with ``m - r`` degrees of freedom, exactly,
    and a union bound over the ``d t`` coefficients gives::

        |x'_j - x*_j| <= t_{m-r}^{-1}(1 - delta / (2 d t))
                         * ||SA x' - Sb|| / sqrt(m - r) * ||(SA)^+ e_j||

    for all ``j`` at once with probability at least ``1 - delta``.  This is
    the l-infinity statement of Song, Ye, Yin and Zhang (2023),
    ``eps / sqrt(d) * OPT * ||A^+||``, with every factor replaced by the
    quantity the fit has: ``||SA x' - Sb|| / sqrt(m - r)`` estimates
    ``OPT / sqrt(m)`` and ``||(SA)^+ e_j|| <= ||(SA)^+||``.  ``inf`` when
    ``m = r`` (no degree of freedom left to estimate ``OPT``).

    Returns
    -------
    bound : ndarray of shape (d, t)
    """
    m, d = SX.shape
    n_targets = SY.shape[1]
    rank = precond.shape[1]
    dof = m - rank
    if dof < 1:
        return np.full((d, n_targets), np.inf)
    residual = _column_norms(SY - SX @ coef)
    quantile = student_t.isf(delta / (2 * d * n_targets), dof)
    # ||(SA)^+ e_j|| = ||row j of V diag(1/sigma)||.
    leverage = _column_norms(precond.T) if rank else np.zeros(d)
    return quantile / np.sqrt(dof) * np.outer(leverage, residual)


def _sketched_solution(SX, SY):
    """Sketch-and-solve solution and the preconditioner from the sketch.

    Parameters
    ----------
    SX : ndarray of shape (m, d)
        Sketched (centered, weighted) design, ``m >= d``.
    SY : ndarray of shape (m, t)
        Sketched targets, with the same sketch.

    Returns
    -------
    precond : ndarray of shape (d, r)
        ``V_r diag(1/sigma_r)`` over the numerically nonzero singular values
        of ``SX``; ``X N`` is well conditioned when ``S`` embeds the column
        space of ``X``.
    coef : ndarray of shape (d, t)
        Minimum-norm solution of ``min ||SX coef - SY||``.
    """
    d = SX.shape[1]
    # QR of [SX, SY] (R only: [[R, Q^T SY], [0, *]]) then the SVD of the
    # d x d triangle: cheaper than an SVD of the tall SX and never forms U.
    # These factorizations are latency bound at these sizes, and OpenBLAS
    # threads only add synchronisation (badly so on a busy machine), so small
    # ones run on one thread, which is within the package's thread policy.
    small = SX.shape[0] * d * d < 2e9
    with bounded_blas_threads(max_threads=1 if small else None):
        R = scipy.linalg.qr(
            np.hstack([SX, SY]), mode="raw", overwrite_a=True, check_finite=False
        )[1]
        U, s, Vt = scipy.linalg.svd(R[:d, :d], full_matrices=False, check_finite=False)
    # Same cut-off as numpy.linalg.lstsq: directions below it are numerically
    # absent from the column space (rank-deficient X).
    cutoff = np.finfo(float).eps * max(SX.shape) * (s[0] if s.size else 0.0)
    keep = s > cutoff
    precond = Vt[keep].T / s[keep]
    coef = precond @ (U[:, keep].T @ R[:d, d:])
    return precond, coef


def _normal_residual_pass(X, Y, coef, x_mean, y_mean, weights):
    """One pass over X: ``g = X_c^T W r`` and ``||r||_W^2`` per target.

    ``r = Y_c - X_c coef`` with ``X_c = X - 1 x_mean^T`` and ``Y_c = Y - 1
    y_mean^T`` never formed; ``Y=None`` means ``Y_c = 0`` (then ``-g`` is the
    normal-equations operator applied to ``coef``); ``weights=None`` means
    ``W = I`` (no per-row multiply in the hot loop).  A dense X is walked in
    row blocks so that each block is reused from cache for ``X^T r``, which
    halves the memory traffic of two separate matrix-vector products.
    """
    shift = x_mean @ coef
    if sp.issparse(X) or X.shape[0] * X.shape[1] <= _PASS_BLOCK_ENTRIES:
        blocks = [(X, Y, weights)]
    else:
        step = max(1, _PASS_BLOCK_ENTRIES // X.shape[1])
        blocks = (
            (
                X[start : start + step],
                None if Y is None else Y[start : start + step],
                None if weights is None else weights[start : start + step],
            )
            for start in range(0, X.shape[0], step)
        )
    g = np.zeros_like(coef)
    wr_sum = np.zeros(coef.shape[1])
    rr = np.zeros(coef.shape[1])
    for Xb, Yb, wb in blocks:
        r = Xb @ coef
        r -= shift
        np.negative(r, out=r)
        if Yb is not None:
            # (Y - mean) first: exact for nearly constant targets, whose
            # deviations would otherwise be lost against Y's magnitude.
            r += Yb - y_mean
        wr = r if wb is None else wb[:, None] * r
        g += Xb.T @ wr
        wr_sum += wr.sum(axis=0)
        rr += np.einsum("ij,ij->j", wr, r)
    g -= np.outer(x_mean, wr_sum)
    return g, rr


def _preconditioned_normal_cg(
    coef,
    precond,
    *,
    residual_pass,
    y_norm,
    sketch_size,
    free,
    tol,
    max_iter,
    estimator,
):
    """Exact weighted least squares by CG on the preconditioned normal equations.

    Solves ``X_c^T W X_c coef = X_c^T W Y_c`` by conjugate gradients with
    the preconditioner ``N N^T`` (``N = precond``), i.e. CG on
    ``(X_c N)^T W (X_c N)``, whose condition number is ``cond(W^1/2 X_c N)^2``
    -- a small constant set by the sketch, independent of ``cond(X)``.  All
    targets iterate together (block products).  The recursively updated
    normal residual is verified by an explicit pass before stopping.

    Parameters
    ----------
    coef : ndarray of shape (d, t)
        Starting point (the sketch-and-solve solution).
    precond : ndarray of shape (d, r)
    residual_pass : callable
        ``residual_pass(z, with_targets) -> (g, rr)``: one pass over the
        data computing :func:`_normal_residual_pass` (with ``Y=None`` when
        not ``with_targets``), for an in-memory ``X``
        (:func:`_in_memory_residual_pass`) or dask row blocks.
    y_norm : ndarray of shape (t,)
        ``||Y_c||_W`` or its sketch, for the stopping rule of consistent
        systems.
    sketch_size : int
        Rows of the sketch (``inf`` for an exact, unsketched factorization).
    free : ndarray of bool, shape (d,)
        False for the columns that are constant: their centered normal
        residual is zero exactly, so its computed value (rounding noise) is
        dropped.
    tol : float
    max_iter : int
    estimator : estimator instance
        Named in the verbose lines and the ConvergenceWarning; its
        ``verbose`` is used.

    Returns
    -------
    coef : ndarray of shape (d, t)
    n_iter : int
        Number of CG iterations (each one pass over X).
    """
    coef = coef.copy()
    # ||X_c||_2 from the sketch's top singular value (an embedding keeps it
    # within a small factor), used to make the stopping rule scale-free.
    norm_x = 1.0 / _column_norms(precond[:, :1])[0] if precond.shape[1] else 0.0
    # The sketch may overestimate it by a factor up to ~(1 + sqrt(d/m));
    # deflate so that the rule holds for the true norm.
    norm_x /= 1.0 + np.sqrt(precond.shape[0] / max(sketch_size, 1))

    def explicit_pass(z):
        g, rr = residual_pass(z, True)
        g[~free] = 0.0
        if not (np.isfinite(g).all() and np.isfinite(rr).all()):
            raise ValueError(
                f"{estimator_name(estimator)}: the residual of the fit overflows "
                f"float64 (X holds values too large or too small for its "
                f"products with the coefficients); divide X by a constant, "
                f"the fit is equivariant."
            )
        return g, rr

    def converged(g, rr):
        # Quantities in units of y are O(1) (the caller scaled y), and the
        # column norms are computed scaled: nothing here over- or underflows
        # whatever the scale of X.
        r_norm = np.sqrt(np.maximum(rr, 0.0))
        normal_ok = _column_norms(g) <= tol * norm_x * r_norm
        small_r = r_norm <= tol * (y_norm + norm_x * _column_norms(coef))
        return normal_ok | small_r

    n_iter = 0
    g, rr = explicit_pass(coef)
    # Each restart makes at least one pass (n_iter grows) until max_iter, so
    # at most max_iter + 1 restarts.
    for _ in range(max_iter + 1):
        done = converged(g, rr)
        if estimator.verbose > 1:
            r_norm = np.sqrt(np.maximum(rr, 0.0))
            rel = np.max(_column_norms(g) / np.maximum(norm_x * r_norm, 1e-300))
            verbose_print(estimator, f"pass {n_iter}: normal residual {rel:.2e}")
        if done.all() or n_iter >= max_iter:
            break
        # (Re)start CG from the current, explicitly computed residual.
        z = precond @ (precond.T @ g)
        p = z.copy()
        gz = np.einsum("ij,ij->j", g, z)
        while n_iter < max_iter:
            Hp, pHp = residual_pass(p, False)
            Hp = -Hp
            Hp[~free] = 0.0
            n_iter += 1
            alpha = np.divide(gz, pHp, out=np.zeros_like(gz), where=pHp > 0)
            alpha[done] = 0.0
            coef += alpha * p
            g -= alpha * Hp
            # ||r - alpha X_c p||^2 = ||r||^2 - alpha g^T p (since g^T p = g^T z).
            rr = rr - alpha * gz
            done = done | converged(g, rr)
            if done.all():
                break
            z = precond @ (precond.T @ g)
            gz_new = np.einsum("ij,ij->j", g, z)
            beta = np.divide(gz_new, gz, out=np.zeros_like(gz), where=gz > 0)
            p = z + beta * p
            gz = gz_new
        # Verify with an explicit pass (the recursions drift slowly).
        g, rr = explicit_pass(coef)
    if not converged(g, rr).all():
        warn_not_converged(
            estimator,
            n_iter=n_iter,
            what="CG passes",
            advice=(
                f"increase max_iter, or sketch_size (a larger sketch gives a "
                f"better preconditioner, hence fewer passes), or tol (now {tol})"
            ),
        )
    return coef, n_iter


def _in_memory_residual_pass(X, Y, x_mean, y_mean, weights, workers):
    """The ``residual_pass`` of :func:`_preconditioned_normal_cg` for an array X.

    A dense ``X`` is split into contiguous row ranges, one per worker of
    :func:`~sklearn_lowrank._threads.blas_workers`; the partial ``(g, rr)``
    of :func:`_normal_residual_pass` add up over row ranges.
    """
    dense_and_large = not sp.issparse(X) and X.size > 4 * _PASS_BLOCK_ENTRIES
    no_targets = np.zeros_like(y_mean)

    def residual_pass(z, with_targets):
        def rows(start, stop):
            return _normal_residual_pass(
                X[start:stop],
                Y[start:stop] if with_targets else None,
                z,
                x_mean,
                y_mean if with_targets else no_targets,
                None if weights is None else weights[start:stop],
            )

        n, k = X.shape[0], workers.n_workers
        if not dense_and_large or k == 1:
            return rows(0, n)
        bounds = [n * i // k for i in range(k + 1)]
        parts = workers.map(rows, bounds[:-1], bounds[1:])
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    return residual_pass


def _design_block(X, Y, sqrt_w, fit_intercept):
    """Rows ``sqrt(w) [X, 1, Y]`` of one block, dense, for the streaming QR."""
    cols = [X.toarray() if sp.issparse(X) else X]
    if fit_intercept:
        cols.append(np.ones((X.shape[0], 1)))
    cols.append(Y)
    return sqrt_w[:, None] * np.hstack(cols)


def _solve_streaming_qr(R, free):
    """Least-squares coefficients from the R factor of ``[X, (1), Y]``.

    With ``[X, Y] = Q R``, ``min ||X c - Y||`` is solved by
    ``R_11 c = R_12``; lstsq on the small triangle gives the minimum-norm
    solution when ``X`` is rank deficient.  Coefficients where ``free`` is
    False are held at zero (``min ||X_free c - Y||`` is solved with the
    columns ``R_11[:, free]``, since ``X_free = Q R_11[:, free]``).
    """
    n_coef = free.size
    R11 = R[:n_coef, :n_coef]
    R12 = R[:n_coef, n_coef:]
    if R11.shape[0] < n_coef:
        # Fewer rows seen than columns: R is short; pad with zero rows.
        pad = n_coef - R11.shape[0]
        R11 = np.vstack([R11, np.zeros((pad, n_coef))])
        R12 = np.vstack([R12, np.zeros((pad, R12.shape[1]))])
    coef = np.zeros((n_coef, R12.shape[1]))
    coef[free] = scipy.linalg.lstsq(R11[:, free], R12, check_finite=False)[0]
    return coef
