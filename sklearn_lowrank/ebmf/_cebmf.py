"""Covariate-moderated empirical Bayes matrix factorization (cEBMF).

The model (Wang and Stephens, "Empirical Bayes Matrix Factorization", JMLR
2021; the R package flashier) is ``X = L F^T + E`` with independent Gaussian
noise of precision ``tau_ij`` (constant, per row or per column), independent
priors ``l_ik ~ g^l_k`` and ``f_jk ~ g^f_k`` estimated from the data, and a
mean-field variational posterior ``q(L, F) = prod_k q(l_k) q(f_k)``.  Each
rank-one update turns into an empirical Bayes normal means (EBNM) problem
whose solver returns the posterior moments and the fitted prior; factors are
added greedily and then refined by backfitting, every step raising the
evidence lower bound (ELBO).

cEBMF (Denault, Tayeb, Carbonetto, Willwerscheid and Stephens,
"Covariate-moderated Empirical Bayes Matrix Factorization", NeurIPS 2025,
arXiv:2505.11639) lets the prior of each loading depend on row covariates
(and of each factor on column covariates): only the EBNM solver changes, to
the covariate-moderated solver of :mod:`sklearn_lowrank.ebmf._cebnm`.

Layout: the public class :class:`CEBMF` here; the solver (initialisation,
backfitting sweeps, null checks, fold-in of new rows) in
:mod:`sklearn_lowrank.ebmf._flash`, which works on arrays.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank import _dask
from sklearn_lowrank._messages import verbose_print, warn, warn_not_converged
from sklearn_lowrank._threads import bounded_blas_threads, bounded_fit
from sklearn_lowrank._validation import check_observed_lines, check_side_data
from sklearn_lowrank.ebmf._cebnm import CovariateBasis
from sklearn_lowrank.ebmf._ebnm import FAMILIES, drop_covariates
from sklearn_lowrank.ebmf._flash import (
    dense_rows,
    embed_rows,
    fit_ebmf,
    make_data,
    rescale_prior,
    row_blocks,
    scan_data,
)

__all__ = ["CEBMF"]


class CEBMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Covariate-moderated empirical Bayes matrix factorization.

    Fits ``X ~ L F^T + E`` by variational empirical Bayes: each loading
    vector ``l_k`` and factor ``f_k`` has a sparsity-inducing prior
    (point-normal, point-Laplace or an adaptive-shrinkage scale mixture)
    estimated from the data, all factors start from a truncated SVD and are
    refined by backfitting sweeps, and factors whose removal does not lower
    the evidence lower bound (ELBO) are dropped (flashier's null check), so
    ``n_components`` is only an upper bound.  When row covariates
    are passed to :meth:`fit` (or column covariates to the constructor), the
    prior mixture weights of each loading (factor) depend on them through a
    multinomial-logistic model fitted inside every update (cEBMF); without
    covariates this is plain EBMF (flashier's ``flash(backfit=TRUE)``).
    With covariates, EBMF is fitted first and the covariate model starts
    from it, so the final ELBO is never below EBMF's.

    Missing entries (NaN) are allowed and simply left out of the likelihood.
    A scipy sparse ``X`` is never densified, for every ``noise`` model: its
    implicit zeros are observed zeros and the residual ``X - L F^T`` is
    handled implicitly (``R v = X v - L (F^T v)``).  Only a sparse ``X``
    that stores NaN (missing entries) is densified, with a warning, because
    missing entries need the masked residual.

    Read more in the :doc:`User Guide </guide/ebmf>`.

    Parameters
    ----------
    n_components : int, default=10
        Maximum number of factors.  The fitted number is ``n_components_``.
    prior : {"point_normal", "point_laplace", "ash"} or tuple of two, \
            default="point_normal"
        Prior family of the loadings and factors; a pair
        ``(loadings_prior, factors_prior)`` sets them separately.
        ``"point_normal"`` is flashier's default; ``"ash"`` is a scale
        mixture of normals on a fixed grid (more flexible, slower).
    noise : {"constant", "row", "column"}, default="constant"
        Structure of the noise variance: one value, one per row or one per
        column (flashier's ``var_type`` 0, 1, 2).
    column_covariates : array-like of shape (n_features, n_column_covariates), \
            default=None
        Covariates of the columns of X, moderating the factor priors.  A
        constructor parameter rather than a fit parameter because
        cross-validation splits rows: a feature-aligned fit parameter would
        be mis-sliced when X is square.
    covariate_basis : {"rbf", "spline", "linear"} or transformer, default="rbf"
        Features of the covariates on which the prior weights are a
        multinomial-logistic (softmax) function.  ``"rbf"`` standardises the
        covariates and uses Gaussian radial basis functions on up to 50
        centres (a Nystroem map; nonlinear, with interactions, the linear
        stand-in for the paper's neural network); ``"spline"`` expands each
        covariate in a cubic B-spline basis (additive logits); ``"linear"``
        uses the standardised covariates; a scikit-learn transformer is
        cloned and fitted on the covariates.
    covariate_alpha : float, default=1.0
        Ridge penalty on the covariate coefficients of the prior-weight
        model (a Gaussian log-prior, included in the objective).  Larger
        values pull cEBMF towards plain EBMF.
    max_iter : int, default=200
        Maximum number of backfitting sweeps (of each of the two stages when
        covariates are given: EBMF, then the covariate model).  A safety cap:
        fits normally stop at ``tol`` after a few dozen sweeps.
    tol : float, default=1e-6
        Stop when one sweep raises the ELBO by less than
        ``tol * n_observed_entries`` (the ELBO gain per entry, which does not
        depend on the scale of X).
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized SVD that starts the factors and the centres of
        the ``"rbf"`` covariate basis.
    verbose : int, default=0
        Print progress (ELBO per sweep, extrapolation step, dropped factors).

    Attributes
    ----------
    components_ : ndarray of shape (`n_components_`, n_features)
        Posterior means of the factors ``F^T``; shape (0, n_features) when
        no factor was kept.
    loadings_ : ndarray of shape (n_samples, `n_components_`)
        Posterior means of the training loadings ``L``.
    n_components_ : int
        Number of factors kept; 0 (with a warning) when no factor raises the
        ELBO, e.g. on pure noise or all-zero X.
    noise_variance_ : ndarray
        Estimated noise variance: shape (1,), (n_samples,) or (n_features,)
        for ``noise`` "constant", "row" or "column".  With no factor kept it
        is the mean square of X; for all-zero X, the smallest normal float.
        ``inf`` (with a warning) where it exceeds the float64 range.
    elbo_ : float
        Final evidence lower bound (including the covariate-model penalty),
        in the units of X: scaling X by ``c`` shifts it by
        ``-n_observed_entries * log(c)``.  Finite for rank-0 fits.
    elbo_curve_ : ndarray
        ELBO after every half-sweep (all loadings or all factors, with the
        noise) and every null check of backfitting; it is non-decreasing.
        For a rank-0 fit, the ELBO of the model without factors.
    loadings_priors_ : list of MixturePrior
        Fitted prior of each loading vector (covariate-moderated if row
        covariates were given).
    factors_priors_ : list of MixturePrior
        Fitted prior of each factor.
    n_iter_ : int
        Number of backfitting sweeps run (both stages).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.FactorAnalysis : Gaussian latent factors, no sparsity.
    sklearn.decomposition.TruncatedSVD : Least-squares low-rank approximation.
    sklearn.decomposition.NMF : Non-negative factorization.

    Notes
    -----
    Row covariates are a fit parameter routed through meta-estimators by
    metadata routing::

        import sklearn
        sklearn.set_config(enable_metadata_routing=True)
        est = CEBMF().set_fit_request(row_covariates=True)
        est.set_score_request(row_covariates=True)
        GridSearchCV(est, {"n_components": [1, 3, 5]}).fit(X, row_covariates=Z)

    Without ``scoring``, GridSearchCV uses :meth:`score`, the held-out
    log-likelihood per entry of the validation rows folded into the fitted
    model.  For new rows, :meth:`transform` uses the covariate-moderated
    prior if their covariates are given, else the population-average prior
    weights.

    The solver works on ``X`` divided by a power of 4 near its root mean
    square, so ``c * X`` gives the same factors with loadings and components
    scaled by ``sqrt(c)`` and noise variance by ``c**2``, for any ``c`` that
    keeps ``X`` finite.

    References
    ----------
    .. [1] W. Wang and M. Stephens, "Empirical Bayes Matrix Factorization",
       Journal of Machine Learning Research 22(120), 2021.
    .. [2] W. R. P. Denault, K. Tayeb, P. Carbonetto, J. Willwerscheid and
       M. Stephens, "Covariate-moderated Empirical Bayes Matrix
       Factorization", NeurIPS 2025, arXiv:2505.11639.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lowrank import CEBMF
    >>> from sklearn_lowrank.datasets import make_tiling_covariates
    >>> X, signal, coords, L, F = make_tiling_covariates(
    ...     n_rows=300, n_cols=100, noise=1.0, random_state=0)
    >>> est = CEBMF(n_components=5, random_state=0)
    >>> loadings = est.fit_transform(X, row_covariates=coords)
    >>> est.n_components_
    3
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "prior": [StrOptions(set(FAMILIES)), tuple],
        "noise": [StrOptions({"constant", "row", "column"})],
        "column_covariates": ["array-like", None],
        "covariate_basis": [
            StrOptions({"rbf", "spline", "linear"}),
            HasMethods(["fit", "transform"]),
        ],
        "covariate_alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=10,
        *,
        prior="point_normal",
        noise="constant",
        column_covariates=None,
        covariate_basis="rbf",
        covariate_alpha=1.0,
        max_iter=200,
        tol=1e-6,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.prior = prior
        self.noise = noise
        self.column_covariates = column_covariates
        self.covariate_basis = covariate_basis
        self.covariate_alpha = covariate_alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _priors(self):
        prior = self.prior
        if isinstance(prior, str):
            return prior, prior
        if len(prior) != 2 or any(p not in FAMILIES for p in prior):
            raise ValueError(
                f"{type(self).__name__}: prior must be one of {sorted(FAMILIES)} "
                f"or a pair of them (loadings, factors); got {prior!r}."
            )
        return tuple(prior)

    def _design(self, covariates, n, name, axis_name, basis=None, rng=None):
        """Covariate design matrix (intercept first) and the fitted basis."""
        if covariates is None:
            return np.ones((n, 1)), None
        Z = check_side_data(
            covariates, n, estimator=self, name=name, axis_name=axis_name
        )
        if basis is None:
            basis = CovariateBasis(self.covariate_basis, random_state=rng).fit(Z)
        return basis.transform(Z), basis

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y=None, row_covariates=None):
        """Fit the factorization.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data; NaN marks a missing entry.  A sparse matrix is used without
            densifying it (its implicit zeros are observed zeros) unless it
            stores NaN.
        y : Ignored
            Not used, present for API consistency.
        row_covariates : array-like of shape (n_samples, n_row_covariates), \
                default=None
            Covariates of the rows, moderating the loading priors.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = self._check_X(X, reset=True)
        n, p = X.shape
        rng = check_random_state(self.random_state)
        prior_l, prior_f = self._priors()
        scale, n_missing = scan_data(X)
        if n_missing and sp.issparse(X):
            warn(
                f"{type(self).__name__}: X is sparse and stores {n_missing} NaN "
                "(missing) entries; missing entries need the dense masked "
                f"solver, so X is densified ({n} x {p} float64, "
                f"{n * p * 8 / 2**20:.0f} MB). Pass a sparse matrix without "
                "NaN (implicit zeros are observed zeros) to keep it sparse."
            )
            X = X.toarray()
        if n_missing:
            check_observed_lines(~np.isnan(X), estimator=self)
        row_design, self._row_basis = self._design(
            row_covariates, n, "row_covariates", "rows", rng=rng
        )
        col_design, self._col_basis = self._design(
            self.column_covariates, p, "column_covariates", "columns", rng=rng
        )
        report = None
        if self.verbose:

            def report(message):
                verbose_print(self, message)

        # One BLAS thread: the passes over X are thin products (K columns)
        # bound by memory traffic, the rest is level-1/2 work and small
        # L-BFGS problems, where extra threads only add wake-up latency.
        with bounded_blas_threads(max_threads=1):
            result = fit_ebmf(
                make_data(X, scale, missing=n_missing > 0),
                n_components=min(self.n_components, n, p),
                priors=(prior_l, prior_f),
                designs=(row_design, col_design),
                alpha=self.covariate_alpha,
                noise=self.noise,
                max_iter=self.max_iter,
                tol=self.tol,
                rng=rng,
                report=report,
            )
        state = result["state"]
        if not result["converged"]:
            warn_not_converged(
                self,
                n_iter=result["n_iter"],
                what="backfitting sweeps",
                advice="increase max_iter, or raise tol (the ELBO gain per "
                "sweep and observed entry at which to stop)",
            )
        # Internal state in the units of X / scale (used by transform and
        # score); public attributes in the units of X.  The square root of a
        # power of 4 is a power of 2, so the conversion is exact.
        self._scale = scale
        root = np.sqrt(scale)
        self._F = state.F
        self._F2 = state.F2
        self._priors_l = state.priors_l
        self._tau = (state.tau0, state.tau_r, state.tau_c)
        self.loadings_ = state.L * root
        self.components_ = state.F.T * root
        self.loadings_priors_ = [rescale_prior(g, root) for g in state.priors_l]
        self.factors_priors_ = [rescale_prior(g, root) for g in state.priors_f]
        self.n_components_ = self.components_.shape[0]
        precision = {
            "constant": np.array([state.tau0]),
            "row": state.tau_r,
            "column": state.tau_c,
        }[self.noise]
        with np.errstate(over="ignore", under="ignore"):
            self.noise_variance_ = (np.float64(scale) / np.sqrt(precision)) ** 2
        if not np.all(np.isfinite(self.noise_variance_)):
            warn(
                f"{type(self).__name__}: the noise variance exceeds the largest "
                "float64 (X is of magnitude "
                f"{scale:.1e}); noise_variance_ holds inf there. The factors, "
                "loadings, elbo_ and score are unaffected; divide X by a "
                "constant to read the variance."
            )
        jacobian = state.n_obs * np.log(scale)
        self.elbo_curve_ = np.asarray(result["elbo_curve"]) - jacobian
        self.elbo_ = float(self.elbo_curve_[-1])
        self.n_iter_ = result["n_iter"]
        # Priors for new rows without covariates: population-average weights.
        self._marginal_priors_l = [
            drop_covariates(g, row_design) for g in state.priors_l
        ]
        if self.n_components_ == 0:
            warn(
                f"{type(self).__name__}: no factor was kept: no rank-one "
                "structure raises the ELBO (X looks like pure noise, or is "
                "constant zero). components_ has shape (0, n_features), "
                "transform returns shape (n_samples, 0) and noise_variance_ "
                "holds the variance of X around zero."
            )
        return self

    def fit_transform(self, X, y=None, row_covariates=None):
        """Fit, then return the posterior-mean loadings of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data; NaN marks a missing entry.
        y : Ignored
            Not used, present for API consistency.
        row_covariates : array-like of shape (n_samples, n_row_covariates), \
                default=None
            Covariates of the rows.

        Returns
        -------
        loadings : ndarray of shape (n_samples, `n_components_`)
            Posterior means of the loadings (as :meth:`transform`).
        """
        return self.fit(X, row_covariates=row_covariates).transform(
            X, row_covariates=row_covariates
        )

    def _check_X(self, X, *, reset):
        # NaN marks a missing entry; sparse input stays sparse.
        return validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            reset=reset,
        )

    def _fold_in(self, X, row_covariates, row_elbo):
        """Embed rows of X block by block (rows are independent)."""
        X = self._check_X(X, reset=False)
        n = X.shape[0]
        if row_covariates is not None and self._row_basis is not None:
            design, _ = self._design(
                row_covariates, n, "row_covariates", "rows", basis=self._row_basis
            )
            priors = self._priors_l
        else:
            if row_covariates is not None:
                # Validate anyway, so bad input is never silently ignored.
                check_side_data(
                    row_covariates, n, estimator=self, name="row_covariates"
                )
            design = np.ones((n, 1))
            priors = self._marginal_priors_l
        # score uses the plug-in factors (posterior means), as
        # FactorAnalysis.score uses its fitted parameters; transform uses
        # their second moments, so that it reproduces the fitted loadings.
        F2 = self._F**2 if row_elbo else self._F2
        loadings = np.empty((n, self.n_components_))
        elbo, n_obs = np.empty(n), np.empty(n)
        with bounded_blas_threads(max_threads=1):
            for rows in row_blocks(n, X.shape[1]):
                block = dense_rows(X, rows)
                block /= self._scale
                out = embed_rows(
                    block,
                    self._F,
                    F2,
                    priors,
                    design[rows],
                    noise=self.noise,
                    tau=self._tau,
                    max_iter=self.max_iter,
                    row_elbo=row_elbo,
                )
                if row_elbo:
                    loadings[rows], elbo[rows], n_obs[rows] = out
                else:
                    loadings[rows] = out
        loadings *= np.sqrt(self._scale)
        if row_elbo:
            return loadings, elbo, n_obs
        return loadings

    @_dask.rowwise_transform(lambda est: est.n_components_)  # rows are independent
    def transform(self, X, row_covariates=None):
        """Posterior-mean loadings of rows given the fitted factors.

        The factors, their priors and the noise model stay fixed; each row's
        loadings are refined by coordinate ascent until they stop moving.
        Rows are treated independently, so the result for a row does not
        depend on the other rows passed.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to embed; NaN marks a missing entry (a row with no observed
            entry gets the prior mean, zero).
        row_covariates : array-like of shape (n_samples, n_row_covariates), \
                default=None
            Covariates of these rows.  If the model was fitted with row
            covariates and these are omitted, the population-average prior
            weights are used.

        Returns
        -------
        loadings : ndarray of shape (n_samples, `n_components_`)
            Posterior means of the loadings; shape (n_samples, 0) when no
            factor was kept.
        """
        check_is_fitted(self)
        return self._fold_in(X, row_covariates, row_elbo=False)

    def score(self, X, y=None, row_covariates=None):
        """Average log-likelihood per observed entry of (new) rows.

        Each row is folded in: with the fitted factors ``F`` (posterior
        means), priors and noise variance fixed, its loadings get the
        mean-field posterior that :meth:`transform` computes, and the row
        contributes its evidence lower bound
        ``E_q[log p(x_i | l_i, F)] - KL(q(l_i) || g)``, a lower bound on
        ``log p(x_i | F, g, noise)`` that is exact with one factor.  With
        ``noise="row"`` each new row's noise variance is estimated by the
        same fold-in.  The result is the sum over rows divided by the number
        of observed entries, in the units of X, so it is comparable across
        ``n_components`` and other settings on the same held-out rows: this
        is what :class:`~sklearn.model_selection.GridSearchCV` maximises
        when no ``scoring`` is given.  (It is per entry;
        :meth:`sklearn.decomposition.FactorAnalysis.score` is per row.)

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score; NaN marks a missing entry.
        y : Ignored
            Not used, present for API consistency.
        row_covariates : array-like of shape (n_samples, n_row_covariates), \
                default=None
            Covariates of these rows (as in :meth:`transform`).

        Returns
        -------
        score : float
            Average log-likelihood per observed entry.
        """
        check_is_fitted(self)
        _, elbo, n_obs = self._fold_in(X, row_covariates, row_elbo=True)
        return float(elbo.sum() / max(n_obs.sum(), 1.0) - np.log(self._scale))

    def inverse_transform(self, X):
        """Reconstruct data from loadings: ``X @ components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_components_`)
            Loadings, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The low-rank reconstruction.
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_components_:
            raise ValueError(
                f"{type(self).__name__}: inverse_transform expects "
                f"{self.n_components_} columns (n_components_), got an array of "
                f"shape {X.shape}."
            )
        return X @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags
