"""The :class:`AltMinCompleter` estimator (solvers in ``_solvers.py``).

Implements robust alternating minimization after

    Yuzhou Gu, Zhao Song, Junze Yin and Lichen Zhang, "Low Rank Matrix
    Completion via Robust Alternating Minimization in Nearly Linear Time",
    ICLR 2024, arXiv:2302.11068.

The algorithm is the alternating minimization of Jain, Netrapalli and
Sanghavi (STOC 2013): a spectral initialization from the observed matrix,
then alternating least-squares updates of the column factor and the row
factor on the observed entries, each followed by a QR orthonormalization.
The paper's contribution is that each least-squares update may be solved only
*approximately* (a sketch-preconditioned iterative solver) and the iterates
still converge to the unknown matrix.

Everything works on the observed entries only, stored in CSR form, and never
forms the dense matrix in ``fit``; the per-row least-squares problems are
solved in blocks of rows with batched dense linear algebra.
"""

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank import _dask
from sklearn_lowrank._linalg import power_of_two_scale
from sklearn_lowrank._messages import verbose_print, warn, warn_not_converged
from sklearn_lowrank._threads import blas_workers, bounded_blas_threads, bounded_fit
from sklearn_lowrank._validation import check_rank
from sklearn_lowrank.completion._solvers import (
    altmin,
    fit_column_biases,
    observed_csr,
    row_of_entry,
    rowwise_dot,
    select_rank,
    shrunken_row_means,
    solve_rows,
)

__all__ = ["AltMinCompleter"]

# Largest dense output (in entries) that ``transform`` builds for sparse input:
# 2**27 float64 entries = 1 GiB.  Beyond that, use ``fold_in`` or
# ``predict_entries``.
_MAX_DENSE_ENTRIES = 2**27

# Over-estimated rank diagnosis (when the sweeps do not converge): a ratio of
# consecutive singular values of the fitted factors above _RANK_GAP is a gap,
# reported when the held-out entries of at most about _DIAGNOSTIC_ROWS rows
# confirm it or when the ratio exceeds _RANK_GAP_ALONE.
_RANK_GAP = 4.0
_RANK_GAP_ALONE = 20.0

# n_components="auto": at most this many sweeps per candidate fit, and ranks
# up to this value.
_AUTO_MAX_ITER = 30
_AUTO_MAX_RANK = 200
_DIAGNOSTIC_ROWS = 5000


class AltMinCompleter(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Low-rank matrix completion by robust alternating minimization.

    Fits ``X ~ offsets + row_factors_ @ components_`` of rank ``n_components``
    on the observed entries of X only, by alternating least squares on the
    row factor and the column factor (Jain, Netrapalli and Sanghavi, 2013)
    with the fast, approximate per-row solves of Gu, Song, Yin and Zhang
    (2023).  ``transform`` returns X with its missing entries filled in and
    its observed entries kept, as scikit-learn's imputers do; new rows are
    completed by *folding them in*: a least-squares fit of their observed
    entries with ``components_`` fixed.

    **Which entries are observed.**  Dense X: every entry that is not NaN.
    Sparse X (the recommender convention): every *stored* entry, explicit
    zeros included; entries that are not stored are missing.  This is the
    opposite of :class:`~sklearn.impute.SimpleImputer` on sparse input, where
    an implicit zero is a value.  ``fit`` never densifies sparse input.

    Parameters
    ----------
    n_components : int or "auto", default=10
        Rank of the completion; must be smaller than both dimensions of X.
        ``"auto"`` chooses it on held-out observed entries: every tenth
        observed entry of each row is held out, ranks 1, 2, ... are fitted
        on the rest (at most 30 sweeps each) until the held-out error has
        not improved for two ranks in a row, and the best rank is refitted
        on all entries (``n_components_``, errors in ``rank_errors_``).
        Costs about ``best rank + 2`` extra fits.

    solver : {"exact", "cg", "sketch"}, default="exact"
        How the per-row (per-column) least-squares problems of each
        alternating step are solved.  Rows are always solved in blocks: rows
        with similar numbers of observations are grouped, their design
        matrices gathered (zero-padded) into a fixed working budget and
        solved with batched dense linear algebra, the blocks shared between
        the package's worker threads (one BLAS thread each, never more
        threads than the BLAS limit in force when ``fit`` is called).

        - ``"exact"``: normal equations, ``O(d k^2 + k^3)`` per row with
          ``d`` observations: one batched product, one batched solve.  The
          fastest at ranks up to about 50 in NumPy.
        - ``"cg"``: ``n_inner_iter`` conjugate-gradient steps per row,
          warm-started from the previous factor: ``O(d k)`` per step.
        - ``"sketch"``: the paper's solver: conjugate gradient preconditioned
          by the triangular factor of a CountSketch (``4 k`` rows) of each
          row's design matrix, ``O(d k)`` per step plus ``O(k^3)`` per row;
          rows with at most ``4 k`` observations are not compressed.  Robust
          when the rows' normal matrices are ill-conditioned.

        With ``"cg"`` and ``"sketch"`` the final row factor is one exact
        solve, so that ``transform`` reproduces it.

    n_inner_iter : int, default=3
        Conjugate-gradient steps per least-squares solve (``solver="cg"`` or
        ``"sketch"``).

    alpha : float, default=0.0
        Ridge regularization of every row's (column's) least-squares problem,
        relative to the normal matrix of an *average* row (``p I`` with
        orthonormal factors, ``p`` the observed fraction), so the same value
        fits any scale and sampling rate.  Rows and columns with few
        observations are shrunk most.  0 for exact recovery; for noisy data
        or ratings try 0.1 to 10 (choose it with ``GridSearchCV``, which uses
        :meth:`score`).

    max_iter : int, default=100
        Maximum number of sweeps (one sweep updates the column factor, then
        the row factor).

    tol : float, default=1e-7
        Stop when the relative change of the completed matrix between two
        sweeps, ``||M_t - M_{t-1}||_F / ||M_t||_F`` (computed from the factors
        in ``O((n_rows + n_cols) k^2)``, on values divided by their scale so
        that it cannot over- or underflow), falls below ``tol``.  At
        ``max_iter`` a ConvergenceWarning says what to change; when the
        fitted factors show fewer strong components than ``n_components``
        (and held-out observed entries agree), it names the over-estimated
        rank, since more sweeps do not help then.

    center : bool or "biases", default=False
        What is removed before the low-rank fit and added back when
        completing.  False: nothing.  True: the mean of the observed entries
        (``mean_``).  ``"biases"``: the mean plus shrunken row and column
        biases (``row_biases_``, ``column_biases_``; each a mean of the
        residuals shrunk towards 0 as ``sum / (count + 10)``), the usual
        baseline of rating data, where biases carry much of the signal.
        Leave False for matrices that are exactly low rank.

    incoherence : float or None, default=None
        If given (the incoherence parameter ``mu`` of the theory), rows of
        the spectral initialization whose norm exceeds
        ``2 * mu * sqrt(k / n_rows)`` are zeroed before orthonormalization
        (the clipping step of the analysis).  None skips the clipping.

    random_state : int, RandomState instance or None, default=None
        Seeds the randomized SVD of the initialization and the sketches.

    verbose : int, default=0
        If positive, print the time of the spectral start, and the relative
        change and the time of every sweep.

    Attributes
    ----------
    n_components_ : int
        Rank used (``n_components``, or the rank chosen by ``"auto"``).

    rank_errors_ : dict or None
        With ``n_components="auto"``, the held-out RMSE of each rank tried;
        None otherwise.

    components_ : ndarray of shape (n_components, n_features)
        Column factor with orthonormal rows.

    row_factors_ : ndarray of shape (n_samples, n_components)
        Row factor of the training data: the completion of training entry
        ``(i, j)`` is ``mean_ + row_biases_[i] + column_biases_[j] +
        row_factors_[i] @ components_[:, j]``.

    mean_ : float
        Mean subtracted before fitting (0.0 unless ``center`` is set).

    row_biases_ : ndarray of shape (n_samples,)
        Row biases of the training rows (zeros unless ``center="biases"``).

    column_biases_ : ndarray of shape (n_features,)
        Column biases (zeros unless ``center="biases"``).

    observed_fraction_ : float
        Fraction of the training entries that were observed; sets the scale
        of the ridge (see ``alpha``) when folding new rows in.

    reconstruction_err_ : float
        Frobenius norm of the residual on the observed training entries (in
        the units of X; computed on values divided by their scale, so 1e-200
        or 1e+200 data give the correspondingly scaled number).

    n_iter_ : int
        Number of sweeps run.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.impute.IterativeImputer : Round-robin per-feature regression
        imputation (not low rank).
    sklearn.impute.KNNImputer : Imputation from the nearest rows.
    sklearn.decomposition.TruncatedSVD : Low-rank approximation of fully
        observed (sparse) data.

    Notes
    -----
    *All-missing rows and columns.*  A training row without observed entries
    gets the mean of the other rows' factors, a column without observed
    entries the mean of the other columns' factors (a warning says so); a new
    row without observed entries is folded in to the mean training row
    factor.  The output never contains NaN.

    *Rows with fewer than ``n_components`` observations* have an
    underdetermined least-squares problem; a tiny ridge (and ``alpha``) gives
    them the minimum-norm-like solution.

    References
    ----------
    .. [1] Y. Gu, Z. Song, J. Yin and L. Zhang, "Low Rank Matrix Completion
       via Robust Alternating Minimization in Nearly Linear Time", ICLR 2024,
       arXiv:2302.11068.
    .. [2] P. Jain, P. Netrapalli and S. Sanghavi, "Low-rank Matrix
       Completion using Alternating Minimization", STOC 2013.

    Examples
    --------
    >>> from sklearn_lowrank import AltMinCompleter
    >>> from sklearn_lowrank.datasets import make_completion_problem
    >>> X, M, mask = make_completion_problem(200, 150, 3, observed_fraction=0.3,
    ...                                      random_state=0)
    >>> completer = AltMinCompleter(n_components=3, random_state=0)
    >>> X_filled = completer.fit_transform(X)
    >>> err = np.linalg.norm((X_filled - M)[~mask]) / np.linalg.norm(M[~mask])
    >>> bool(err < 1e-6)
    True
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "solver": [StrOptions({"exact", "cg", "sketch"})],
        "n_inner_iter": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "center": ["boolean", StrOptions({"biases"})],
        "incoherence": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=10,
        *,
        solver="exact",
        n_inner_iter=3,
        alpha=0.0,
        max_iter=100,
        tol=1e-7,
        center=False,
        incoherence=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.solver = solver
        self.n_inner_iter = n_inner_iter
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.center = center
        self.incoherence = incoherence
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y=None):
        """Fit the low-rank factors on the observed entries of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Partially observed matrix: NaN marks missing entries in dense
            input; in sparse input the stored entries are the observed ones.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = self._check_X(X, reset=True)
        n_rows, n_cols = X.shape
        name = type(self).__name__
        if n_rows < 2:
            raise ValueError(f"{name} needs at least 2 rows; got n_samples={n_rows}.")
        if n_cols < 2:
            raise ValueError(
                f"{name} needs at least 2 columns; got n_features={n_cols}."
            )
        if self.n_components != "auto":
            check_rank(self.n_components, X.shape, estimator=self, strict=True)
        # A private copy only when the values are changed (centering).
        rows_obs = observed_csr(X, copy=bool(self.center))
        if rows_obs.nnz == 0:
            raise ValueError(f"{name}: X has no observed entries; nothing to fit.")
        n_empty_rows = int(np.sum(np.diff(rows_obs.indptr) == 0))
        n_empty_cols = n_cols - int(
            np.count_nonzero(np.bincount(rows_obs.indices, minlength=n_cols))
        )
        if n_empty_rows or n_empty_cols:
            warn(
                f"{name}: {n_empty_rows} row(s) and {n_empty_cols} column(s) of X "
                "have no observed entry; they are completed from the mean row "
                "(column) factor."
            )
        rng = check_random_state(self.random_state)
        k = self.n_components
        self.rank_errors_ = None
        if k == "auto":
            k = self._select_rank(rows_obs, rng)
        self.n_components_ = k
        degrees_of_freedom = k * (n_rows + n_cols - k)
        if rows_obs.nnz < 2 * degrees_of_freedom:
            # Below ~2x the information limit alternating minimization has no
            # unique answer and its factors can grow without bound.
            warn(
                f"{name}: only {rows_obs.nnz} observed entries for "
                f"{degrees_of_freedom} degrees of freedom of a rank-{k} "
                f"{n_rows} x {n_cols} matrix (fewer than twice as many); the "
                "completion is likely unreliable. Lower n_components or set "
                "alpha > 0."
            )
        self.observed_fraction_ = rows_obs.nnz / (n_rows * n_cols)
        self.mean_ = 0.0
        if self.center:
            # Mean of the values divided by their scale: no overflow at 1e300.
            scale = power_of_two_scale(rows_obs.data)
            self.mean_ = float(np.mean(rows_obs.data / scale)) * scale
        self.column_biases_ = np.zeros(n_cols)
        if self.center == "biases":
            self.column_biases_ = fit_column_biases(rows_obs, self.mean_)
        self.row_biases_ = self._row_biases(rows_obs)
        if self.center:
            rows_obs.data -= self._offsets_at(rows_obs, self.row_biases_)

        clock = [time.perf_counter()]

        def report(n_iter, change):
            if not self.verbose:
                return
            now = time.perf_counter()
            seconds, clock[0] = now - clock[0], now
            if n_iter == 0:
                verbose_print(self, f"spectral start: {seconds:.2f} s")
            else:
                verbose_print(
                    self,
                    f"sweep {n_iter}: relative change {change:.3e} ({seconds:.2f} s)",
                )

        # The per-row solves run in blocks shared between worker threads,
        # each with one BLAS thread (k x k systems, thin products).
        with blas_workers() as workers:
            U, V, n_iter, converged, residual_norm = altmin(
                rows_obs,
                k,
                solver=self.solver,
                n_inner_iter=self.n_inner_iter,
                alpha=self.alpha,
                max_iter=self.max_iter,
                tol=self.tol,
                incoherence=self.incoherence,
                rng=rng,
                workers=workers,
                report=report,
            )
        self.components_ = V.T
        self.row_factors_ = U
        self.n_iter_ = n_iter
        self.reconstruction_err_ = residual_norm
        if not converged:
            warn_not_converged(
                self,
                n_iter=n_iter,
                what="sweeps",
                advice=self._convergence_advice(rows_obs),
            )
        return self

    def fit_transform(self, X, y=None):
        """Fit on X and return X with its missing entries filled in.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Partially observed matrix (see :meth:`fit`).
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            X with observed entries kept and missing entries completed.
        """
        return self.fit(X).transform(X)

    def fold_in(self, X, return_biases=False):
        """Row factors of (new) rows, fitted to their observed entries.

        Each row's factor is the (ridge) least-squares fit of its observed
        entries with ``components_`` fixed: one half-step of alternating
        minimization.  Rows without observed entries get the mean training
        row factor.  Works on sparse input without densifying, so a
        recommender can score every column for new rows as
        ``model.mean_ + b[:, None] + model.column_biases_ + F @
        model.components_`` with ``F, b = model.fold_in(X_new,
        return_biases=True)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Partially observed rows, with the training columns.
        return_biases : bool, default=False
            Also return the rows' biases (zeros unless ``center="biases"``).

        Returns
        -------
        factors : ndarray of shape (n_samples, n_components)
            Row factors.
        biases : ndarray of shape (n_samples,)
            Row biases; only if ``return_biases`` is True.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        factors, biases = self._fold_in(observed_csr(X, copy=False))
        return (factors, biases) if return_biases else factors

    @_dask.rowwise_transform(lambda est: est.n_features_in_)  # rows fold in alone
    def transform(self, X):
        """Return X with its missing entries completed by the fitted model.

        Rows are folded in (see :meth:`fold_in`); observed entries are kept.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Partially observed rows: NaN marks missing entries in dense
            input; in sparse input the stored entries are the observed ones.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            Dense completed matrix.  For sparse input larger than 2**27
            entries this raises a ValueError: use :meth:`fold_in` or
            :meth:`predict_entries` to score only the entries you need.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        if sp.issparse(X) and X.shape[0] * X.shape[1] > _MAX_DENSE_ENTRIES:
            raise ValueError(
                f"{type(self).__name__}.transform would build a dense "
                f"{X.shape[0]} x {X.shape[1]} array; use fold_in(X) and "
                "components_, or predict_entries, to score the entries you need."
            )
        rows_obs = observed_csr(X, copy=False)
        factors, biases = self._fold_in(rows_obs)
        filled = factors @ self.components_
        filled += self.mean_ + biases[:, np.newaxis] + self.column_biases_
        # Keep the observed entries, as an imputer does.
        coo = rows_obs.tocoo()
        filled[coo.row, coo.col] = coo.data
        return filled

    def predict_entries(self, rows, cols):
        """Completed values of the training matrix at given positions.

        Parameters
        ----------
        rows : array-like of int of shape (n_entries,)
            Row indices into the training matrix.
        cols : array-like of int of shape (n_entries,)
            Column indices.

        Returns
        -------
        values : ndarray of shape (n_entries,)
            ``mean_ + row_biases_[rows] + column_biases_[cols] +
            row_factors_[rows] . components_[:, cols]``.
        """
        check_is_fitted(self)
        name = type(self).__name__
        rows, cols = np.asarray(rows), np.asarray(cols)
        for label, index in (("rows", rows), ("cols", cols)):
            if index.size and not np.issubdtype(index.dtype, np.integer):
                # Reading 1.7 as row 1 would silently answer another question.
                if not (
                    np.issubdtype(index.dtype, np.floating)
                    and np.all(np.isfinite(index))
                    and np.all(index == np.round(index))
                ):
                    raise ValueError(
                        f"{name}.predict_entries: {label} must be integer "
                        f"indices; got {index.dtype} values such as "
                        f"{index.ravel()[:3].tolist()}."
                    )
        rows, cols = rows.astype(np.intp), cols.astype(np.intp)
        if rows.shape != cols.shape or rows.ndim != 1:
            raise ValueError(
                f"{name}.predict_entries: rows and cols must be 1-D arrays of "
                f"the same length; got shapes {rows.shape} and {cols.shape}."
            )
        n_rows, n_cols = self.row_factors_.shape[0], self.components_.shape[1]
        if (
            rows.size
            and (rows.min() < 0 or rows.max() >= n_rows or cols.min() < 0)
            or (cols.size and cols.max() >= n_cols)
        ):
            raise ValueError(
                f"{name}.predict_entries: indices out of range for the fitted "
                f"{n_rows} x {n_cols} matrix."
            )
        return self._predict(self.row_factors_, self.row_biases_, rows, cols)

    def score(self, X, y=None):
        """Negative RMSE on held-out observed entries of X (higher is better).

        Every fifth observed entry of each row (by position, so the score is
        deterministic; the last one in rows with 2 to 4 entries) is hidden,
        the row is folded in on the others, and the hidden entries are
        predicted.  This is a genuine out-of-sample score
        for model selection (e.g. ``GridSearchCV`` over ``n_components`` or
        ``alpha``), unlike the residual on the entries the model saw.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Partially observed rows with the training columns.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Minus the root-mean-square error on the hidden entries.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return -self._held_out_rmse(observed_csr(X, copy=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags

    def _check_X(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=("csr", "csc", "coo"),
            dtype=(np.float64, np.float32),
            ensure_all_finite="allow-nan",
        )
        if sp.issparse(X) and np.isnan(X.data).any():
            raise ValueError(
                f"{type(self).__name__}: sparse X contains NaN among its stored "
                "entries. For sparse input the stored entries (explicit zeros "
                "included) are the observed ones and missing entries are simply "
                "not stored; remove the NaN entries instead of storing them."
            )
        return X

    def _select_rank(self, rows_obs, rng):
        """``n_components="auto"``: the rank that best predicts held-out entries.

        The offsets (``center``) are estimated on all observed entries, as
        in ``fit``, and removed; the candidate fits run at most
        ``_AUTO_MAX_ITER`` sweeps each, and the search stops two ranks after
        the best one.  Ranks above ``_AUTO_MAX_RANK`` or needing more than half
        the observed entries as degrees of freedom are not tried.
        """
        n_rows, n_cols = rows_obs.shape
        # Largest rank with at least twice as many training entries (90% of
        # the observed ones) as degrees of freedom.
        limit = 0.9 * rows_obs.nnz / (2 * (n_rows + n_cols))
        max_rank = int(max(1, min(limit, min(n_rows, n_cols) - 1, _AUTO_MAX_RANK)))
        # Offsets as fit will compute them, then removed for the candidates.
        offsets = self._baseline_offsets(rows_obs)
        centered = sp.csr_matrix(rows_obs, dtype=np.float64, copy=True)
        centered.data -= offsets
        seeds = rng.randint(np.iinfo(np.int32).max, size=max_rank)

        def fit_rank(train, rank):
            with blas_workers() as workers:
                U, V, *_ = altmin(
                    train,
                    rank,
                    solver=self.solver,
                    n_inner_iter=self.n_inner_iter,
                    alpha=self.alpha,
                    max_iter=min(self.max_iter, _AUTO_MAX_ITER),
                    tol=self.tol,
                    incoherence=self.incoherence,
                    rng=np.random.RandomState(seeds[rank - 1]),
                    workers=workers,
                )
            return U, V

        def report(rank, error):
            if self.verbose:
                verbose_print(self, f"rank {rank}: held-out RMSE {error:.3e}")

        rank, self.rank_errors_ = select_rank(
            centered, max_rank, fit_rank=fit_rank, report=report
        )
        return rank

    def _baseline_offsets(self, rows_obs):
        """Mean and biases at the stored entries, as ``fit`` estimates them."""
        if not self.center:
            return np.zeros(rows_obs.nnz)
        scale = power_of_two_scale(rows_obs.data)
        mean = float(np.mean(rows_obs.data / scale)) * scale
        offsets = np.full(rows_obs.nnz, mean)
        if self.center == "biases":
            col_biases = fit_column_biases(rows_obs, mean)
            residual = rows_obs.data - mean - col_biases[rows_obs.indices]
            row_biases = shrunken_row_means(rows_obs, residual)
            offsets += col_biases[rows_obs.indices]
            offsets += np.repeat(row_biases, np.diff(rows_obs.indptr))
        return offsets

    def _convergence_advice(self, rows_obs):
        """What to change when the sweeps did not converge.

        Alternating minimization with a rank above the matrix's does not
        converge (the extra directions keep moving) and raising ``max_iter``
        does not help.  It shows as a gap in the singular values of the
        fitted factors; when a model truncated at the gap also predicts
        held-out observed entries at least as well, the rank is the problem.
        """
        default = (
            "increase max_iter or raise tol; if more sweeps do not help, "
            "n_components may exceed the rank of the matrix (compare ranks "
            "with score(X) or GridSearchCV)"
        )
        k = self.components_.shape[0]
        U = self.row_factors_
        size = float(np.max(np.abs(U)))
        if k < 2 or not (size > 0 and np.isfinite(size)):
            return default
        # Right singular vectors of U V^T from the k x k Gram of U (scaled).
        eigenvalues, W = np.linalg.eigh((U / size).T @ (U / size))
        order = np.argsort(eigenvalues)[::-1]
        singular = np.sqrt(np.clip(eigenvalues[order], 0, None))
        W = W[:, order]
        ratios = singular[:-1] / np.maximum(singular[1:], singular[0] * 1e-300)
        candidates = np.flatnonzero(ratios >= _RANK_GAP) + 1
        if candidates.size == 0:
            return default
        rank = int(candidates[0])
        # Held-out observed entries of a bounded subsample of rows (every
        # s-th row).  The components saw these entries, which favours the
        # larger rank: a smaller rank that still predicts them better is
        # strong evidence; so is a very large gap on its own.
        step = max(1, rows_obs.shape[0] // _DIAGNOSTIC_ROWS)
        sample = rows_obs[::step]
        try:
            full_rmse = self._held_out_rmse(sample)
            low_rmse = self._held_out_rmse(sample, W[:, :rank].T @ self.components_)
        except ValueError:  # no row with 2 observed entries to hold one out
            full_rmse = low_rmse = np.nan
        confirmed = low_rmse <= full_rmse
        if not confirmed and ratios[rank - 1] < _RANK_GAP_ALONE:
            return default
        advice = (
            f"lower n_components: the fitted factors have only {rank} strong "
            f"components (their singular values drop by a factor "
            f"{ratios[rank - 1]:.3g} after the first {rank}"
        )
        if confirmed:
            advice += (
                f", and a rank-{rank} model predicts held-out observed entries "
                f"better: RMSE {low_rmse:.3g} vs {full_rmse:.3g}"
            )
        return advice + (
            f"), so n_components={k} is probably over-estimated and raising "
            f"max_iter will not help; try n_components={rank} (compare ranks "
            "with score(X) or GridSearchCV)"
        )

    def _row_biases(self, rows_obs):
        if self.center != "biases":
            return np.zeros(rows_obs.shape[0])
        return shrunken_row_means(
            rows_obs, rows_obs.data - self.mean_ - self.column_biases_[rows_obs.indices]
        )

    def _offsets_at(self, rows_obs, row_biases):
        """Mean plus biases at the stored entries of ``rows_obs``."""
        return (
            self.mean_
            + np.repeat(row_biases, np.diff(rows_obs.indptr))
            + self.column_biases_[rows_obs.indices]
        )

    def _fold_in(self, rows_obs, components=None):
        if components is None:
            components = self.components_
        biases = self._row_biases(rows_obs)
        rows_obs = sp.csr_matrix(rows_obs, dtype=np.float64, copy=True)
        rows_obs.data -= self._offsets_at(rows_obs, biases)
        scale = power_of_two_scale(rows_obs.data)
        with bounded_blas_threads(max_threads=1):
            factors, _ = solve_rows(
                rows_obs,
                components.T,
                ridge=self.alpha * self.observed_fraction_,
                scale=scale,
            )
        factors *= scale
        empty = np.diff(rows_obs.indptr) == 0
        # The mean training row factor, in the basis of ``components``.
        factors[empty] = self.row_factors_.mean(axis=0) @ (
            self.components_ @ components.T
        )
        return factors, biases

    def _predict(self, factors, biases, rows, cols, components=None):
        if components is None:
            components = self.components_
        return (
            self.mean_
            + biases[rows]
            + self.column_biases_[cols]
            + rowwise_dot(factors, components.T, rows, cols)
        )

    def _held_out_rmse(self, rows_obs, components=None):
        """RMSE on every fifth observed entry of each row, folded in on the rest."""
        # Position of each stored entry within its row.
        counts = np.diff(rows_obs.indptr)
        position = np.arange(rows_obs.nnz) - np.repeat(rows_obs.indptr[:-1], counts)
        row_count = np.repeat(counts, counts)
        # Every fifth entry; rows with 2 to 4 entries hide their last one.
        hidden = (position % 5 == 4) | (
            (position == row_count - 1) & (row_count >= 2) & (row_count < 5)
        )
        if not hidden.any():
            raise ValueError(
                f"{type(self).__name__}.score needs rows with at least 2 observed "
                "entries, to hold one out."
            )
        keep = ~hidden
        seen = sp.csr_matrix(
            (rows_obs.data[keep], rows_obs.indices[keep], _kept_indptr(rows_obs, keep)),
            shape=rows_obs.shape,
        )
        factors, biases = self._fold_in(seen, components)
        entry_rows = row_of_entry(rows_obs)
        pred = self._predict(
            factors, biases, entry_rows[hidden], rows_obs.indices[hidden], components
        )
        # Scaled, so that 1e+-200 data neither overflows nor underflows.
        errors = pred - rows_obs.data[hidden]
        scale = power_of_two_scale(errors)
        return scale * float(np.sqrt(np.mean((errors / scale) ** 2)))


def _kept_indptr(csr, keep):
    """Row pointer of ``csr`` after dropping the stored entries where ~keep."""
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return kept_before[csr.indptr]
