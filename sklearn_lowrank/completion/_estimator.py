"""Low-rank matrix completion by robust alternating minimization.

Implements :class:`AltMinCompleter`, after

    Yuzhou Gu, Zhao Song, Junze Yin and Lichen Zhang, "Low Rank Matrix
    Completion via Robust Alternating Minimization in Nearly Linear Time",
    ICLR 2024, arXiv:2302.11068.

The algorithm is the alternating minimization of Jain, Netrapalli and
Sanghavi (STOC 2013): a spectral initialization from the rescaled observed
matrix, then alternating least-squares updates of the column factor and the
row factor on the observed entries, each followed by a QR orthonormalization.
The paper's contribution is that each least-squares update may be solved only
*approximately*: a sketch-preconditioned iterative solver then costs
``O(|Omega| k)`` per pass instead of the ``O(|Omega| k^2)`` of the exact normal
equations, and the iterates still converge to the unknown matrix.

Everything here works on the observed entries only, stored in CSR form; the
per-row (per-column) least-squares problems are solved all at once through
sparse-times-dense products (``scipy.sparse``) and batched dense solves, never
with a Python loop over rows and never forming the dense matrix in ``fit``.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.linalg import qr, solve_triangular, svd
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank import _dask
from sklearn_lowrank._threads import bounded_blas_threads, bounded_fit
from sklearn_lowrank._validation import check_rank

__all__ = ["AltMinCompleter"]

# Largest dense output (in entries) that ``transform`` builds for sparse input:
# 2**27 float64 entries = 1 GiB.  Beyond that, use ``fold_in`` or
# ``predict_entries``.
_MAX_DENSE_ENTRIES = 2**27

# Entries processed at once when gathering factor rows per observed entry;
# bounds the temporaries to a few tens of MB whatever |Omega| is.
_CHUNK = 2**18

# Relative ridge always added to the normal equations so that rows with fewer
# than k observations (or a rank-deficient factor) stay solvable; far below
# the accuracy any test or user asks for.
_JITTER = 1e-12


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
    n_components : int, default=10
        Rank of the completion; must be smaller than both dimensions of X.

    solver : {"exact", "cg", "sketch"}, default="exact"
        How each batch of per-row (per-column) least-squares problems is
        solved.

        - ``"exact"``: normal equations, accumulated for all rows at once by
          one sparse product and solved by a batched dense solve:
          ``O(|Omega| k^2 + n k^3)`` per half-sweep.  Fastest in practice for
          ``n_components`` up to a few tens.
        - ``"cg"``: ``n_inner_iter`` conjugate-gradient steps per row,
          warm-started from the previous factor: ``O(|Omega| k)`` per step.
          With orthonormalized factors and incoherent sampling each row's
          normal matrix is close to a multiple of the identity, so a few
          steps are enough.
        - ``"sketch"``: the paper's solver: each row's design matrix is
          compressed by a CountSketch, its QR factor ``R`` preconditions the
          conjugate-gradient steps (``O(|Omega| k + n k^3)`` per pass).
          Robust when the rows' normal matrices are ill-conditioned.

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
        in ``O((n_rows + n_cols) k^2)``), falls below ``tol``.

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
        If positive, print the residual and the relative change every sweep.

    Attributes
    ----------
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
        Frobenius norm of the residual on the observed training entries.

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
        "n_components": [Interval(Integral, 1, None, closed="left")],
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

    def _validate_X(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=("csr", "csc", "coo"),
            dtype=np.float64,
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
        X = self._validate_X(X, reset=True)
        n_rows, n_cols = X.shape
        name = type(self).__name__
        if n_rows < 2:
            raise ValueError(f"{name} needs at least 2 rows; got n_samples={n_rows}.")
        if n_cols < 2:
            raise ValueError(
                f"{name} needs at least 2 columns; got n_features={n_cols}."
            )
        k = check_rank(self.n_components, X.shape, estimator=self, strict=True)
        rows_obs = _observed_csr(X)
        if rows_obs.nnz == 0:
            raise ValueError(f"{name}: X has no observed entries; nothing to fit.")
        n_empty_rows = int(np.sum(np.diff(rows_obs.indptr) == 0))
        n_empty_cols = n_cols - int(np.unique(rows_obs.indices).size)
        if n_empty_rows or n_empty_cols:
            warnings.warn(
                f"{name}: {n_empty_rows} row(s) and {n_empty_cols} column(s) of X "
                "have no observed entry; they are completed from the mean row "
                "(column) factor.",
                UserWarning,
            )
        degrees_of_freedom = k * (n_rows + n_cols - k)
        if rows_obs.nnz < 2 * degrees_of_freedom:
            # Below ~2x the information limit alternating minimization has no
            # unique answer and its factors can grow without bound.
            warnings.warn(
                f"{name}: only {rows_obs.nnz} observed entries for "
                f"{degrees_of_freedom} degrees of freedom of a rank-{k} "
                f"{n_rows} x {n_cols} matrix (fewer than twice as many); the "
                "completion is likely unreliable. Lower n_components or set "
                "alpha > 0.",
                UserWarning,
            )
        self.observed_fraction_ = rows_obs.nnz / (n_rows * n_cols)
        self.mean_ = float(rows_obs.data.mean()) if self.center else 0.0
        self.column_biases_ = np.zeros(n_cols)
        if self.center == "biases":
            self.column_biases_ = _fit_column_biases(rows_obs, self.mean_)
        self.row_biases_ = self._row_biases(rows_obs)
        rows_obs.data -= self._offsets_at(rows_obs, self.row_biases_)

        rng = check_random_state(self.random_state)
        # Thin n x k matrices and batches of k x k systems: one BLAS thread
        # (see bounded_blas_threads); the sparse products are serial anyway.
        with bounded_blas_threads(max_threads=1):
            U, V, n_iter, converged = _altmin(
                rows_obs,
                k,
                solver=self.solver,
                n_inner_iter=self.n_inner_iter,
                alpha=self.alpha,
                max_iter=self.max_iter,
                tol=self.tol,
                incoherence=self.incoherence,
                rng=rng,
                verbose=self.verbose,
            )
        if not converged:
            warnings.warn(
                f"Maximum number of iterations {self.max_iter} reached. Increase "
                "it to improve convergence.",
                ConvergenceWarning,
            )
        self.components_ = V.T
        self.row_factors_ = U
        self.n_iter_ = n_iter
        residual = rows_obs.data - _sampled_products(U, V, rows_obs)
        self.reconstruction_err_ = float(np.linalg.norm(residual))
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
        X = self._validate_X(X, reset=False)
        factors, biases = self._fold_in(_observed_csr(X))
        return (factors, biases) if return_biases else factors

    def _row_biases(self, rows_obs):
        if self.center != "biases":
            return np.zeros(rows_obs.shape[0])
        return _shrunken_row_means(
            rows_obs, rows_obs.data - self.mean_ - self.column_biases_[rows_obs.indices]
        )

    def _offsets_at(self, rows_obs, row_biases):
        """Mean plus biases at the stored entries of ``rows_obs``."""
        return (
            self.mean_
            + np.repeat(row_biases, np.diff(rows_obs.indptr))
            + self.column_biases_[rows_obs.indices]
        )

    def _fold_in(self, rows_obs):
        biases = self._row_biases(rows_obs)
        rows_obs = rows_obs.copy()
        rows_obs.data -= self._offsets_at(rows_obs, biases)
        # Thin n x k matrices and batches of k x k systems: one BLAS thread
        # (see bounded_blas_threads); the sparse products are serial anyway.
        with bounded_blas_threads(max_threads=1):
            factors = _solve_exact(
                rows_obs, self.components_.T, self.alpha * self.observed_fraction_
            )
        empty = np.diff(rows_obs.indptr) == 0
        factors[empty] = self.row_factors_.mean(axis=0)
        return factors, biases

    def _predict(self, factors, biases, rows, cols):
        return (
            self.mean_
            + biases[rows]
            + self.column_biases_[cols]
            + _rowwise_dot(factors, self.components_.T, rows, cols)
        )

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
        if _dask.is_dask_collection(X):  # rows are folded in independently
            return _dask.transform_row_blocks(
                self.transform, X, self.n_features_in_, type(self).__name__
            )
        X = self._validate_X(X, reset=False)
        if sp.issparse(X) and X.shape[0] * X.shape[1] > _MAX_DENSE_ENTRIES:
            raise ValueError(
                f"{type(self).__name__}.transform would build a dense "
                f"{X.shape[0]} x {X.shape[1]} array; use fold_in(X) and "
                "components_, or predict_entries, to score the entries you need."
            )
        rows_obs = _observed_csr(X)
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
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        if rows.shape != cols.shape or rows.ndim != 1:
            raise ValueError("rows and cols must be 1-D arrays of the same length.")
        n_rows, n_cols = self.row_factors_.shape[0], self.components_.shape[1]
        if (
            rows.size
            and (rows.min() < 0 or rows.max() >= n_rows or cols.min() < 0)
            or (cols.size and cols.max() >= n_cols)
        ):
            raise ValueError(
                f"indices out of range for the fitted {n_rows} x {n_cols} matrix."
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
        X = self._validate_X(X, reset=False)
        rows_obs = _observed_csr(X)
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
        factors, biases = self._fold_in(seen)
        row_of_entry = np.repeat(np.arange(rows_obs.shape[0]), counts)
        pred = self._predict(
            factors, biases, row_of_entry[hidden], rows_obs.indices[hidden]
        )
        return -float(np.sqrt(np.mean((pred - rows_obs.data[hidden]) ** 2)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags


# --------------------------------------------------------------------------
# Private solvers: arrays in, arrays out.
# --------------------------------------------------------------------------


def _observed_csr(X):
    """The observed entries of X as a CSR matrix (stored entries = observed).

    Dense X: the non-NaN entries.  Sparse X: every stored entry, explicit
    zeros included (duplicates of COO input are summed by the conversion).
    Indices are sorted, so rows and columns are visited in order.
    """
    if sp.issparse(X):
        obs = sp.csr_matrix(X, dtype=np.float64, copy=True)
        obs.sum_duplicates()
        return obs
    X = np.asarray(X, dtype=np.float64)
    observed = ~np.isnan(X)
    rows, cols = np.nonzero(observed)
    indptr = np.concatenate([[0], np.cumsum(observed.sum(axis=1))])
    return sp.csr_matrix((X[rows, cols], cols, indptr), shape=X.shape)


# Shrinkage of the bias estimates: a bias is ``sum / (count + 10)``, so a row
# or column seen a few times stays close to 0 (cf. the baseline estimates of
# Koren, "Factor in the neighbors", 2010, and Surprise's reg_u / reg_i).
_BIAS_SHRINKAGE = 10.0


def _shrunken_row_means(csr, values):
    """Per-row ``sum(values) / (count + _BIAS_SHRINKAGE)`` over stored entries."""
    counts = np.diff(csr.indptr)
    sums = np.bincount(_row_of_entry(csr), weights=values, minlength=csr.shape[0])
    return sums / (counts + _BIAS_SHRINKAGE)


def _fit_column_biases(obs, mean, n_rounds=10):
    """Column biases of the baseline ``mean + b_i + c_j``, fitted alternately.

    The row biases are re-derived from the columns' by the caller, so that
    fitting and folding in compute them the same way.
    """
    rows, cols = _row_of_entry(obs), obs.indices
    col_counts = np.bincount(cols, minlength=obs.shape[1])
    row_biases = np.zeros(obs.shape[0])
    for _ in range(n_rounds):
        residual = obs.data - mean - row_biases[rows]
        col_sums = np.bincount(cols, weights=residual, minlength=obs.shape[1])
        col_biases = col_sums / (col_counts + _BIAS_SHRINKAGE)
        row_biases = _shrunken_row_means(obs, obs.data - mean - col_biases[cols])
    return col_biases


def _kept_indptr(csr, keep):
    """Row pointer of ``csr`` after dropping the stored entries where ~keep."""
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return kept_before[csr.indptr]


def _pattern(csr, values):
    """A CSR matrix with the sparsity pattern of ``csr`` and new ``values``."""
    return sp.csr_matrix((values, csr.indices, csr.indptr), shape=csr.shape)


def _rowwise_dot(A, B, rows, cols):
    """``A[rows[e]] . B[cols[e]]`` for every e, in bounded-memory chunks."""
    out = np.empty(rows.size)
    for start in range(0, rows.size, _CHUNK):
        stop = start + _CHUNK
        # np.take is several times faster than fancy indexing for row gathers.
        out[start:stop] = np.einsum(
            "ij,ij->i",
            np.take(A, rows[start:stop], axis=0),
            np.take(B, cols[start:stop], axis=0),
        )
    return out


def _row_of_entry(csr):
    return np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))


def _sampled_products(U, V, csr):
    """``(U @ V.T)`` at the stored positions of ``csr`` (SDDMM), O(|Omega| k)."""
    return _rowwise_dot(U, V, _row_of_entry(csr), csr.indices)


def _ridge(trace, k, ridge):
    """Per-row ridge: ``ridge`` plus a tiny jitter relative to each row's scale."""
    lam = ridge + _JITTER * trace / k
    # A row with no observation has a zero normal matrix: any positive ridge
    # makes its (zero right-hand side) system solvable, with solution 0.
    lam[trace == 0] = 1.0
    return lam


def _solve_exact(obs, other, ridge):
    """Solve every row's ridge least squares exactly (batched normal equations).

    Row ``i`` solves ``min_x sum_{j in Omega_i} (obs_ij - other_j . x)^2 +
    ridge ||x||^2``.  The k x k normal matrices of all rows come out of one
    sparse product of the observation pattern with the n x k(k+1)/2 table of
    pairwise products of ``other``'s columns, so no |Omega| x k^2 temporary
    is formed; then one batched dense solve.
    """
    n_rows = obs.shape[0]
    k = other.shape[1]
    upper_a, upper_b = np.triu_indices(k)
    pattern = _pattern(obs, np.ones(obs.nnz))
    packed = pattern @ (other[:, upper_a] * other[:, upper_b])
    gram = np.empty((n_rows, k, k))
    gram[:, upper_a, upper_b] = packed
    gram[:, upper_b, upper_a] = packed
    rhs = obs @ other
    trace = np.einsum("ijj->i", gram)
    diag = np.arange(k)
    gram[:, diag, diag] += _ridge(trace, k, ridge)[:, np.newaxis]
    return np.linalg.solve(gram, rhs[:, :, np.newaxis])[:, :, 0]


def _count_sketch_preconditioner(obs, design, rng):
    """Inverse QR factors ``R_i^{-1}`` of CountSketches of each row's design.

    Row i's design matrix ``A_i`` (d_i x k; the rows of ``design`` from
    ``obs.indptr[i]`` to ``obs.indptr[i + 1]``) is compressed to
    ``S_i A_i`` with ``s = 4 k`` rows by a CountSketch (each observed entry
    hashed to one sketch row with a random sign), in O(|Omega| k) with k
    bincounts.  ``R_i`` of its QR satisfies ``R_i^T R_i ~ A_i^T A_i``, so
    ``R_i^{-1}`` preconditions the conjugate-gradient steps (the paper's
    sketch-and-precondition regression solver).
    """
    n_rows = obs.shape[0]
    k = design.shape[1]
    s = 4 * k
    rows = _row_of_entry(obs)
    bucket = rows * s + rng.randint(0, s, size=obs.nnz)
    sign = rng.choice([-1.0, 1.0], size=obs.nnz)
    sketch = np.empty((n_rows, s, k))
    for c in range(k):
        weights = sign * design[:, c]
        sketch[:, :, c] = np.bincount(
            bucket, weights=weights, minlength=n_rows * s
        ).reshape(n_rows, s)
    R = np.linalg.qr(sketch, mode="r")
    # Regularize tiny pivots (rows with d_i < k) before inverting.
    diag = np.arange(k)
    scale = np.abs(R[:, diag, diag]).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    small = np.abs(R[:, diag, diag]) < 1e-8 * scale
    R[:, diag, diag] = np.where(small, 1e-8 * scale, R[:, diag, diag])
    return np.linalg.inv(R)


def _solve_cg(obs, other, ridge, x0, n_steps, sketch_rng=None):
    """A few warm-started (preconditioned) CG steps on every row at once.

    Each step applies all rows' normal matrices through one sampled product
    (``t_e = p_{row(e)} . other_{col(e)}``) and one sparse product
    (``sum_e t_e other_{col(e)}``): O(|Omega| k), never O(|Omega| k^2).
    With ``sketch_rng``, each row is preconditioned by ``(R_i^T R_i)^{-1}``
    from a CountSketch of its design matrix (the paper's solver).
    """
    k = other.shape[1]
    counts = np.diff(obs.indptr)
    # Each observed entry's row of the design matrix, gathered once for all
    # the steps (|Omega| x k floats).
    design = np.take(other, obs.indices, axis=0)
    trace = np.asarray(_pattern(obs, np.ones(obs.nnz)) @ np.sum(other**2, axis=1))
    lam = _ridge(trace, k, ridge)
    precond = (
        None
        if sketch_rng is None
        else _count_sketch_preconditioner(obs, design, sketch_rng)
    )

    def apply_normal(P):
        # Rows are sorted in CSR order, so P's row of each entry is a repeat.
        t = np.einsum("ij,ij->i", design, np.repeat(P, counts, axis=0))
        return _pattern(obs, t) @ other + lam[:, np.newaxis] * P

    def apply_precond(R):
        if precond is None:
            return R
        z = np.einsum("nij,nj->ni", precond.transpose(0, 2, 1), R)
        return np.einsum("nij,nj->ni", precond, z)

    x = x0.copy()
    r = obs @ other - apply_normal(x)
    z = apply_precond(r)
    p = z.copy()
    rz = np.einsum("ij,ij->i", r, z)
    for _ in range(n_steps):
        Ap = apply_normal(p)
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


def _orthonormalize(F):
    """Thin QR ``F = Q R`` of a tall, skinny matrix, by CholeskyQR2.

    Two rounds of ``R = chol(F^T F)``, ``Q = F R^{-1}`` are orthonormal to
    machine precision whenever ``cond(F) < ~1e7`` and cost two small GEMMs:
    on a shared machine LAPACK's Householder QR of an n x k matrix can be two
    orders of magnitude slower (its threads spin while competing for cores).
    Falls back to Householder QR when F is (numerically) rank deficient.
    """
    Q = F
    R = np.eye(F.shape[1])
    try:
        for _ in range(2):
            L = np.linalg.cholesky(Q.T @ Q)
            Q = solve_triangular(L, Q.T, lower=True).T
            R = L.T @ R
    except np.linalg.LinAlgError:
        return qr(F, mode="economic")
    if not np.all(np.isfinite(Q)) or np.abs(Q.T @ Q - np.eye(F.shape[1])).max() > 1e-8:
        return qr(F, mode="economic")
    return Q, R


def _top_left_singular_vectors(A, k, n_iter, rng):
    """Top-k left singular vectors of a sparse matrix by subspace iteration.

    A randomized range finder (Halko, Martinsson and Tropp, 2011) with
    ``n_iter`` power iterations, re-orthonormalized at every product.
    """
    n_over = min(k + 10, min(A.shape)) - k
    Q, _ = _orthonormalize(A @ rng.standard_normal((A.shape[1], k + n_over)))
    for _ in range(n_iter):
        Q, _ = _orthonormalize(np.asarray(A.T @ Q))
        Q, _ = _orthonormalize(np.asarray(A @ Q))
    # Small SVD of Q^T A (k + n_over rows) gives the singular vectors.
    B = np.asarray((A.T @ Q).T)
    W, _, _ = svd(B, full_matrices=False)
    return Q @ W[:, :k]


def _spectral_init(obs, k, incoherence, rng):
    """Top-k left singular vectors of the rescaled observed matrix.

    ``(1 / p) P_Omega(M)`` with ``p = |Omega| / (m n)`` has expectation M, so
    its top singular space approximates M's (JNS13, step 2).  With
    ``incoherence`` the rows that are too heavy are clipped (JNS13, step 3).
    """
    n_rows = obs.shape[0]
    U = _top_left_singular_vectors(obs, k, 7, rng)
    if incoherence is not None:
        heavy = np.linalg.norm(U, axis=1) > 2 * incoherence * np.sqrt(k / n_rows)
        U[heavy] = 0.0
        # Re-orthonormalize; a clipped-out direction is refilled at random.
        U[:, np.linalg.norm(U, axis=0) == 0] = rng.standard_normal(
            (n_rows, int(np.sum(np.linalg.norm(U, axis=0) == 0)))
        )
    U, _ = _orthonormalize(U)
    return U


def _fill_empty(F, counts):
    """Give factor rows without observations the mean of the others."""
    empty = counts == 0
    if empty.any() and not empty.all():
        F[empty] = F[~empty].mean(axis=0)
    return F


def _altmin(
    obs, k, *, solver, n_inner_iter, alpha, max_iter, tol, incoherence, rng, verbose
):
    """Alternating minimization on the observed entries.

    Parameters
    ----------
    obs : CSR matrix of shape (n_rows, n_cols)
        Observed entries (centered if requested).
    k : int
        Rank.

    Returns
    -------
    U : ndarray of shape (n_rows, k)
        Row factor (carries the scale).
    V : ndarray of shape (n_cols, k)
        Orthonormal column factor.
    n_iter : int
    converged : bool
    """
    obs_t = obs.T.tocsr()  # columns as rows: the column updates' CSR
    row_counts = np.diff(obs.indptr)
    col_counts = np.diff(obs_t.indptr)
    U_hat = _spectral_init(obs, k, incoherence, rng)
    # Warm start of the column factor for the iterative solvers: with
    # M ~ U_hat V^T, V ~ M^T U_hat, estimated unbiasedly by obs^T U_hat / p.
    p = obs.nnz / (obs.shape[0] * obs.shape[1])
    V = np.asarray(obs_t @ U_hat) / p
    # With an orthonormal basis the average row's (column's) normal matrix is
    # about p * I: alpha is relative to that, one ridge for every row, so rows
    # with few observations are shrunk more than well-observed ones.
    ridge = alpha * p

    def half_step(mat, basis, warm):
        if solver == "exact":
            return _solve_exact(mat, basis, ridge)
        sketch_rng = rng if solver == "sketch" else None
        return _solve_cg(mat, basis, ridge, warm, n_inner_iter, sketch_rng)

    previous = None
    converged = False
    for n_iter in range(1, max_iter + 1):
        V = _fill_empty(half_step(obs_t, U_hat, V), col_counts)
        V_hat, R_v = _orthonormalize(V)
        # M ~ U_hat V^T = (U_hat R_v^T) V_hat^T: the row factor's warm start.
        U = _fill_empty(half_step(obs, V_hat, U_hat @ R_v.T), row_counts)
        current = (U, V_hat)
        change = _relative_change(previous, current)
        previous = current
        if verbose:
            print(f"[AltMinCompleter] sweep {n_iter}: relative change {change:.3e}")
        if change <= tol:
            converged = True
            break
        U_hat, R_u = _orthonormalize(U)
        # M ~ U V_hat^T = U_hat (V_hat R_u^T)^T: the column factor's warm start.
        V = V_hat @ R_u.T
    U, V_hat = previous
    if solver != "exact":
        # The row factor is what transform reproduces by folding the training
        # rows in; make it the exact least-squares fit (one O(|Omega| k^2) pass).
        U = _fill_empty(_solve_exact(obs, V_hat, ridge), row_counts)
    return U, V_hat, n_iter, converged


def _relative_change(previous, current):
    """``||U1 V1^T - U0 V0^T||_F / ||U1 V1^T||_F`` from k x k Gram matrices."""
    U1, V1 = current
    if previous is None:
        return np.inf
    U0, V0 = previous
    # V's columns are orthonormal, so ||U V^T||^2 = ||U||^2.
    norm1 = np.sum(U1**2)
    norm0 = np.sum(U0**2)
    cross = np.sum((U1.T @ U0) * (V1.T @ V0))
    diff = max(norm1 + norm0 - 2 * cross, 0.0)
    return float(np.sqrt(diff / norm1)) if norm1 > 0 else 0.0
