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

Layout: the public class :class:`CEBMF`, then the private solver
(:func:`_fit_ebmf` and the rank-one update it is made of), which works on
arrays.
"""

import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from scipy.linalg.blas import dger
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank import _dask
from sklearn_lowrank._threads import bounded_blas_threads, bounded_fit
from sklearn_lowrank._validation import check_side_data
from sklearn_lowrank.ebmf._cebnm import CovariateBasis, cebnm
from sklearn_lowrank.ebmf._ebnm import (
    FAMILIES,
    drop_covariates,
    posterior_moments,
)

__all__ = ["CEBMF"]

_LOG_2PI = np.log(2.0 * np.pi)


class CEBMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Covariate-moderated empirical Bayes matrix factorization.

    Fits ``X ~ L F^T + E`` by variational empirical Bayes: each loading
    vector ``l_k`` and factor ``f_k`` has a sparsity-inducing prior
    (point-normal, point-Laplace or an adaptive-shrinkage scale mixture)
    estimated from the data, factors are added greedily and refined by
    backfitting, and factors the data do not support shrink to zero and are
    dropped, so ``n_components`` is only an upper bound.  When row covariates
    are passed to :meth:`fit` (or column covariates to the constructor), the
    prior mixture weights of each loading (factor) depend on them through a
    multinomial-logistic model fitted inside every update (cEBMF); without
    covariates this is plain EBMF (flashier's ``flash(backfit=TRUE)``).
    With covariates, EBMF is fitted first and the covariate model starts
    from it, so the final ELBO is never below EBMF's.

    Missing entries (NaN) are allowed and simply left out of the likelihood.

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
        Maximum number of backfitting sweeps (and of iterations when fitting
        one new factor in the greedy stage).
    tol : float, default=1e-6
        Stop when one sweep raises the ELBO by less than
        ``tol * n_observed_entries``.
    random_state : int, RandomState instance or None, default=None
        Seeds the starting vectors of the greedy factor initialisation.
    verbose : int, default=0
        Print progress (factors added, ELBO per sweep, dropped factors).

    Attributes
    ----------
    components_ : ndarray of shape (`n_components_`, n_features)
        Posterior means of the factors ``F^T``.
    loadings_ : ndarray of shape (n_samples, `n_components_`)
        Posterior means of the training loadings ``L``.
    n_components_ : int
        Number of factors kept.
    noise_variance_ : ndarray
        Estimated noise variance: shape (1,), (n_samples,) or (n_features,)
        for ``noise`` "constant", "row" or "column".
    elbo_ : float
        Final evidence lower bound (including the covariate-model penalty).
    elbo_curve_ : ndarray
        ELBO after each factor accepted in the greedy stage, then after every
        update (loadings or factors, with the noise) of backfitting; it is
        non-decreasing.
    loadings_priors_ : list of MixturePrior
        Fitted prior of each loading vector (covariate-moderated if row
        covariates were given).
    factors_priors_ : list of MixturePrior
        Fitted prior of each factor.
    n_iter_ : int
        Number of backfitting sweeps run.
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
        GridSearchCV(est, ...).fit(X, row_covariates=Z)

    For new rows, :meth:`transform` uses the covariate-moderated prior if
    their covariates are given, else the population-average prior weights.

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
                f"CEBMF: prior must be one of {sorted(FAMILIES)} or a pair of "
                f"them (loadings, factors); got {prior!r}."
            )
        return tuple(prior)

    def _design(self, covariates, n, name, axis_name, basis=None):
        """Covariate design matrix (intercept first) and the fitted basis."""
        if covariates is None:
            return np.ones((n, 1)), None
        Z = check_side_data(
            covariates, n, estimator=self, name=name, axis_name=axis_name
        )
        if basis is None:
            basis = CovariateBasis(self.covariate_basis).fit(Z)
        return basis.transform(Z), basis

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y=None, row_covariates=None):
        """Fit the factorization.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN marks a missing entry.
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
        X = validate_data(
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=True
        )
        n, p = X.shape
        prior_l, prior_f = self._priors()
        observed = ~np.isnan(X)
        _check_no_empty_lines(observed)
        row_design, self._row_basis = self._design(
            row_covariates, n, "row_covariates", "rows"
        )
        col_design, self._col_basis = self._design(
            self.column_covariates, p, "column_covariates", "columns"
        )
        # Every step is level-1/2 BLAS (memory bound), where extra threads only
        # add wake-up latency: measured 2-10x slower with 2 threads on a
        # loaded 2-core machine, so the solver runs on one BLAS thread.
        with bounded_blas_threads(max_threads=1):
            result = _fit_ebmf(
                X,
                observed,
                n_components=min(self.n_components, n, p),
                priors=(prior_l, prior_f),
                designs=(row_design, col_design),
                alpha=self.covariate_alpha,
                noise=self.noise,
                max_iter=self.max_iter,
                tol=self.tol,
                rng=check_random_state(self.random_state),
                verbose=self.verbose,
            )
        if result["n_iter"] >= self.max_iter and not result["converged"]:
            warnings.warn(
                f"CEBMF: backfitting did not converge in max_iter={self.max_iter} "
                "sweeps; increase max_iter or tol.",
                ConvergenceWarning,
            )
        self.loadings_ = result["L"]
        self.components_ = result["F"].T.copy()
        self._factor_second_moments = result["F2"]
        self.loadings_priors_ = result["priors_l"]
        self.factors_priors_ = result["priors_f"]
        self.n_components_ = self.components_.shape[0]
        tau_r, tau_c = result["tau"]
        if self.noise == "constant":
            self.noise_variance_ = np.array([1.0 / tau_r[0]])
        elif self.noise == "row":
            self.noise_variance_ = 1.0 / tau_r
        else:
            self.noise_variance_ = 1.0 / tau_c
        self._tau = (tau_r, tau_c)
        self.elbo_curve_ = np.asarray(result["elbo_curve"])
        self.elbo_ = float(self.elbo_curve_[-1]) if self.elbo_curve_.size else np.nan
        self.n_iter_ = result["n_iter"]
        # Priors for new rows without covariates: population-average weights.
        self._marginal_loadings_priors = [
            drop_covariates(g, row_design) for g in self.loadings_priors_
        ]
        return self

    def fit_transform(self, X, y=None, row_covariates=None):
        """Fit, then return the posterior-mean loadings of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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

    @_dask.rowwise_transform(lambda est: est.n_components_)  # rows are independent
    def transform(self, X, row_covariates=None):
        """Posterior-mean loadings of rows given the fitted factors.

        The factors, their priors and the noise model stay fixed; each row's
        loadings are refined by coordinate ascent until they stop moving.
        Rows are treated independently, so the result for a row does not
        depend on the other rows passed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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
            Posterior means of the loadings.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False
        )
        n = X.shape[0]
        if row_covariates is not None and self._row_basis is not None:
            design, _ = self._design(
                row_covariates, n, "row_covariates", "rows", basis=self._row_basis
            )
            priors = self.loadings_priors_
        else:
            if row_covariates is not None:
                # Validate anyway, so bad input is never silently ignored.
                check_side_data(
                    row_covariates, n, estimator=self, name="row_covariates"
                )
            design = np.ones((n, 1))
            priors = self._marginal_loadings_priors
        tau_r, tau_c = self._tau
        with bounded_blas_threads(max_threads=1):
            return _embed_rows(
                X,
                self.components_.T,
                self._factor_second_moments,
                priors,
                design,
                noise=self.noise,
                tau=(tau_r, tau_c),
                max_iter=self.max_iter,
            )

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
                f"CEBMF: inverse_transform expects {self.n_components_} columns "
                f"(n_components_), got an array of shape {X.shape}."
            )
        return X @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _check_no_empty_lines(observed):
    empty_rows = np.flatnonzero(~observed.any(axis=1))
    empty_cols = np.flatnonzero(~observed.any(axis=0))
    for idx, what in ((empty_rows, "rows"), (empty_cols, "columns")):
        if idx.size:
            shown = ", ".join(map(str, idx[:5])) + (", ..." if idx.size > 5 else "")
            raise ValueError(
                f"CEBMF: X has {idx.size} {what} with no observed entry (all "
                f"NaN): {what} {shown}. Remove them before fitting."
            )


# ---------------------------------------------------------------------------
# Solver: arrays in, arrays out.
# ---------------------------------------------------------------------------


def _subtract_outer(A, u, v):
    """``A -= outer(u, v)`` in place via BLAS ``dger`` (no n x p temporary)."""
    if A.flags.f_contiguous:
        dger(-1.0, u, v, a=A, overwrite_a=True)
    else:
        dger(-1.0, v, u, a=A.T, overwrite_a=True)


class _EBMFState:
    """Variational state: moments, priors, residual and noise precisions.

    ``R`` is the residual ``X - L F^T`` with zeros at missing entries.  The
    noise precision is ``tau_ij = tau_r[i] * tau_c[j]`` (one of the two is a
    vector of ones, or both are for constant noise with ``tau_r`` holding the
    value).  ``kl_l[k]`` and ``kl_f[k]`` are minus the KL divergences of each
    factor's posterior from its prior, so the ELBO is their sum plus the
    expected log-likelihood.
    """

    def __init__(self, X, observed, noise):
        self.n, self.p = X.shape
        self.noise = noise
        self.R = np.where(observed, X, 0.0)
        self.mask = None if observed.all() else observed.astype(np.float64)
        self.n_obs_rows = observed.sum(axis=1).astype(np.float64)
        self.n_obs_cols = observed.sum(axis=0).astype(np.float64)
        self.n_obs = float(self.n_obs_rows.sum())
        self.L = np.zeros((self.n, 0))
        self.L2 = np.zeros((self.n, 0))
        self.F = np.zeros((self.p, 0))
        self.F2 = np.zeros((self.p, 0))
        self.priors_l, self.priors_f = [], []
        self.kl_l, self.kl_f = [], []
        self.tau_r = np.ones(self.n)
        self.tau_c = np.ones(self.p)
        self.update_tau()

    @property
    def K(self):
        return self.L.shape[1]

    def masked_matvec(self, v, transpose=False):
        """``Z @ v`` (or ``Z^T @ v``) for the observation mask Z."""
        if self.mask is None:
            return np.full(self.p if transpose else self.n, v.sum())
        return (self.mask.T if transpose else self.mask) @ v

    def expected_sq_residual(self, axis):
        """Sums of ``E[(X_ij - (LF^T)_ij)^2]`` over observed entries.

        ``axis=1``: per row; ``axis=0``: per column; ``None``: total.
        """
        if axis == 0:
            base = np.einsum("ij,ij->j", self.R, self.R)
            var = np.zeros(self.p)
            for k in range(self.K):
                var += self.F2[:, k] * self.masked_matvec(self.L2[:, k], True)
                var -= self.F[:, k] ** 2 * self.masked_matvec(self.L[:, k] ** 2, True)
            return base + var
        base = np.einsum("ij,ij->i", self.R, self.R)
        var = np.zeros(self.n)
        for k in range(self.K):
            var += self.L2[:, k] * self.masked_matvec(self.F2[:, k])
            var -= self.L[:, k] ** 2 * self.masked_matvec(self.F[:, k] ** 2)
        total = base + var
        return total if axis == 1 else total.sum()

    def update_tau(self):
        """Closed-form precision update; returns the expected log-likelihood."""
        tiny = np.finfo(np.float64).tiny
        if self.noise == "constant":
            S = max(self.expected_sq_residual(None), tiny)
            tau = self.n_obs / S
            self.tau_r[:] = tau
            return -0.5 * (self.n_obs * (_LOG_2PI - np.log(tau)) + tau * S)
        axis, counts = (1, self.n_obs_rows) if self.noise == "row" else (0, None)
        if self.noise == "column":
            counts = self.n_obs_cols
        S = np.maximum(self.expected_sq_residual(axis), tiny)
        tau = counts / S
        if self.noise == "row":
            self.tau_r = tau
        else:
            self.tau_c = tau
        return -0.5 * float(np.sum(counts * (_LOG_2PI - np.log(tau)) + tau * S))

    def elbo(self, loglik):
        return loglik + float(np.sum(self.kl_l) + np.sum(self.kl_f))

    def add_factor(self, loading, f):
        self.L = np.column_stack([self.L, loading])
        self.L2 = np.column_stack([self.L2, loading**2])
        self.F = np.column_stack([self.F, f])
        self.F2 = np.column_stack([self.F2, f**2])
        self.priors_l.append(None)
        self.priors_f.append(None)
        self.kl_l.append(0.0)
        self.kl_f.append(0.0)
        self.subtract_rank_one(loading, f)

    def subtract_rank_one(self, u, v):
        _subtract_outer(self.R, u, v)
        if self.mask is not None:
            self.R *= self.mask

    def remove_factor(self, k):
        self.subtract_rank_one(-self.L[:, k], self.F[:, k])
        keep = np.arange(self.K) != k
        self.L, self.L2 = self.L[:, keep], self.L2[:, keep]
        self.F, self.F2 = self.F[:, keep], self.F2[:, keep]
        for lst in (self.priors_l, self.priors_f, self.kl_l, self.kl_f):
            del lst[k]

    def is_null(self, k):
        g_l, g_f = self.priors_l[k], self.priors_f[k]
        return (g_l is not None and g_l.is_null) or (g_f is not None and g_f.is_null)


def _rank_one_ebnm_inputs(R, mask_matvec, tau_own, tau_other, own, other, other2):
    """The EBNM data ``(x, s)`` for one side of a rank-one factor.

    For the loadings of factor k (flashier's ``calc.s2`` / ``calc.x``):
    ``1/s_i^2 = sum_j Z_ij tau_ij E[f_j^2]`` and
    ``x_i = s_i^2 sum_j Z_ij tau_ij (R_ij + l_i f_j) f_j`` where ``R`` is the
    full residual, so ``R + l f^T`` is the residual without factor k.
    """
    weighted_other = tau_other * other
    precision = tau_own * mask_matvec(tau_other * other2)
    numerator = tau_own * (
        R @ weighted_other + own * mask_matvec(weighted_other * other)
    )
    has_data = precision > 0
    s = np.full(own.shape, np.inf)
    x = np.zeros(own.shape)
    s[has_data] = 1.0 / np.sqrt(precision[has_data])
    x[has_data] = numerator[has_data] / precision[has_data]
    return x, s


def _neg_kl(result, x, s):
    """Minus KL(q || g) = logLik - E_q log N(x; theta, s^2) (flashier)."""
    fin = np.isfinite(s)
    xo, so = x[fin], s[fin]
    e, e2 = result.mean[fin], result.mean2[fin]
    expected_normal_loglik = -0.5 * np.sum(
        _LOG_2PI + np.log(so**2) + (e2 - 2 * xo * e + xo**2) / so**2
    )
    return result.log_likelihood - result.penalty - expected_normal_loglik


def _update_side(state, k, side, prior, design, alpha):
    """Update ``q(l_k)`` (side="loadings") or ``q(f_k)`` and its prior."""
    if side == "loadings":
        R, own, own2, other, other2 = state.R, state.L, state.L2, state.F, state.F2
        tau_own, tau_other = state.tau_r, state.tau_c
        priors, kls = state.priors_l, state.kl_l

        def matvec(v):
            return state.masked_matvec(v)
    else:
        R, own, own2, other, other2 = state.R.T, state.F, state.F2, state.L, state.L2
        tau_own, tau_other = state.tau_c, state.tau_r
        priors, kls = state.priors_f, state.kl_f

        def matvec(v):
            return state.masked_matvec(v, transpose=True)

    x, s = _rank_one_ebnm_inputs(
        R, matvec, tau_own, tau_other, own[:, k], other[:, k], other2[:, k]
    )
    # A warm-started partial fit of the prior is enough: the next sweep
    # resumes it, and each step still raises the ELBO.
    max_steps = 200 if priors[k] is None else 25
    result = cebnm(
        x, s, prior, design, alpha=alpha, init=priors[k], max_steps=max_steps
    )
    delta = result.mean - own[:, k]
    if side == "loadings":
        state.subtract_rank_one(delta, other[:, k])
    else:
        state.subtract_rank_one(other[:, k], delta)
    own[:, k] = result.mean
    own2[:, k] = result.mean2
    priors[k] = result.prior
    kls[k] = _neg_kl(result, x, s)


def _update_factor(state, k, priors, designs, alpha):
    """Both halves of factor k, each followed by the noise update."""
    _update_side(state, k, "loadings", priors[0], designs[0], alpha)
    loglik = state.update_tau()
    elbos = [state.elbo(loglik)]
    _update_side(state, k, "factors", priors[1], designs[1], alpha)
    loglik = state.update_tau()
    elbos.append(state.elbo(loglik))
    return elbos


def _initial_rank_one(R, rng, n_iter=50, tol=1e-6):
    """Leading singular pair of the residual by power iteration.

    flashier starts from alternating least squares on the residual from a
    random vector; for the unpenalised rank-one problem that is the power
    method.  Scaled so that ``||l|| = ||f||`` (flashier's ``scale.EF``).
    """
    v = rng.standard_normal(R.shape[1])
    v /= np.linalg.norm(v)
    sigma = 0.0
    for _ in range(n_iter):
        u = R @ v
        norm_u = np.linalg.norm(u)
        if norm_u == 0:
            break
        u /= norm_u
        v = R.T @ u
        new_sigma = np.linalg.norm(v)
        if new_sigma == 0:
            break
        v /= new_sigma
        converged = abs(new_sigma - sigma) <= tol * new_sigma
        sigma = new_sigma
        if converged:
            break
    return u * np.sqrt(sigma), v * np.sqrt(sigma)


def _lift_prior(prior, design):
    """A covariate-free prior written in a covariate design (zero slopes).

    The weights, and so the ELBO, are unchanged; the covariate coefficients
    then start from zero.
    """
    if prior is None or prior.is_null or prior.coef.shape[0] == design.shape[1]:
        return prior
    coef = np.zeros((design.shape[1], prior.coef.shape[1]))
    coef[0] = prior.coef[0]
    return replace(prior, coef=coef)


def _greedy(
    state, n_components, priors, designs, alpha, max_iter, abs_tol, rng, curve, verbose
):
    """Add one factor at a time while it raises the ELBO; return the ELBO."""
    elbo = state.elbo(state.update_tau())
    for k in range(n_components):
        tau_saved = (state.tau_r.copy(), state.tau_c.copy())
        l0, f0 = _initial_rank_one(state.R, rng)
        state.add_factor(l0, f0)
        previous = -np.inf
        for _ in range(max_iter):
            new = _update_factor(state, k, priors, designs, alpha)[-1]
            if state.is_null(k) or new - previous <= abs_tol:
                break
            previous = new
        if state.is_null(k) or not new > elbo + abs_tol:
            state.remove_factor(k)
            state.tau_r, state.tau_c = tau_saved
            if verbose:
                print(f"CEBMF: factor {k + 1} does not raise the ELBO; greedy stops.")
            break
        elbo = new
        curve.append(elbo)
        if verbose:
            print(f"CEBMF: greedy added factor {k + 1}, ELBO {elbo:.6g}")
    return elbo


def _backfit(state, elbo, priors, designs, alpha, max_iter, abs_tol, curve, verbose):
    """Sweep over the factors until the ELBO stops rising.

    Returns ``(elbo, n_sweeps, converged)``.
    """
    n_iter, converged = 0, state.K == 0
    while state.K and n_iter < max_iter:
        n_iter += 1
        start = elbo
        for k in range(state.K):
            if state.is_null(k):
                continue
            trace = _update_factor(state, k, priors, designs, alpha)
            curve.extend(trace)
            elbo = trace[-1]
        if verbose:
            print(f"CEBMF: backfit sweep {n_iter}, ELBO {elbo:.6g}")
        if elbo - start <= abs_tol:
            converged = True
            break
    return elbo, n_iter, converged


def _fit_ebmf(
    X,
    observed,
    *,
    n_components,
    priors,
    designs,
    alpha,
    noise,
    max_iter,
    tol,
    rng,
    verbose=0,
):
    """Greedy EBMF/cEBMF followed by backfitting.

    With covariates, plain EBMF is fitted first (greedy + backfit) and the
    covariate-moderated priors then start from its solution with zero
    covariate slopes.  Since the covariate model nests the plain one, this
    continues the same monotone ascent: the final ELBO is at least that of
    EBMF, and cEBMF only moves away from EBMF where the covariates earn it.

    Returns a dict with the posterior means ``L`` (n, K) and ``F`` (p, K),
    the second moments ``F2``, the fitted priors, the precisions ``tau``,
    the ELBO trace, ``n_iter`` (backfitting sweeps) and ``converged``.
    """
    state = _EBMFState(X, observed, noise)
    abs_tol = tol * state.n_obs
    curve = []
    plain = tuple(np.ones((d.shape[0], 1)) for d in designs)
    has_covariates = any(d.shape[1] > 1 for d in designs)
    elbo = _greedy(
        state,
        n_components,
        priors,
        plain,
        alpha,
        max_iter,
        abs_tol,
        rng,
        curve,
        verbose,
    )
    elbo, n_iter, converged = _backfit(
        state, elbo, priors, plain, alpha, max_iter, abs_tol, curve, verbose
    )
    if has_covariates:
        if verbose:
            print("CEBMF: EBMF fitted; now moderating the priors by the covariates.")
        state.priors_l = [_lift_prior(g, designs[0]) for g in state.priors_l]
        state.priors_f = [_lift_prior(g, designs[1]) for g in state.priors_f]
        elbo, more, converged = _backfit(
            state, elbo, priors, designs, alpha, max_iter, abs_tol, curve, verbose
        )
        n_iter += more

    # Drop factors that collapsed to zero (their KL terms are 0, so the ELBO
    # does not change).
    for k in reversed(range(state.K)):
        if state.is_null(k) or not np.any(state.L[:, k]) or not np.any(state.F[:, k]):
            if verbose:
                print(f"CEBMF: factor {k + 1} collapsed to zero and is dropped.")
            state.remove_factor(k)

    return dict(
        L=state.L,
        F=state.F,
        F2=state.F2,
        priors_l=state.priors_l,
        priors_f=state.priors_f,
        tau=(state.tau_r, state.tau_c),
        elbo_curve=curve,
        n_iter=n_iter,
        converged=converged,
    )


def _embed_rows(X, F, F2, priors, design, *, noise, tau, max_iter, tol=1e-8):
    """Posterior-mean loadings of new rows with the factors held fixed.

    Coordinate ascent over the factors for each row; a row stops once its
    loadings move by less than ``tol`` relative to their scale, so every row
    is processed independently of the others.
    """
    n, K = X.shape[0], F.shape[1]
    L = np.zeros((n, K))
    if K == 0:
        return L
    observed = ~np.isnan(X)
    Z = observed.astype(np.float64)
    R = np.where(observed, X, 0.0)
    tau_r_fit, tau_c = tau
    if noise == "row":
        tau_r = np.full(n, np.mean(tau_r_fit))
    else:
        tau_r = np.full(n, tau_r_fit[0] if noise == "constant" else 1.0)
    n_obs = observed.sum(axis=1)
    active = np.arange(n)
    L2 = np.zeros((n, K))
    for _ in range(max_iter):
        if active.size == 0:
            break
        Ra, Za, La, L2a = R[active], Z[active], L[active], L2[active]
        before = La.copy()
        for k in range(K):
            x, s = _rank_one_ebnm_inputs(
                Ra,
                lambda v, Za=Za: Za @ v,
                tau_r[active],
                tau_c,
                La[:, k],
                F[:, k],
                F2[:, k],
            )
            mean, mean2, _ = posterior_moments(x, s, priors[k], design[active])
            Ra -= np.outer(mean - La[:, k], F[:, k]) * Za
            La[:, k], L2a[:, k] = mean, mean2
        if noise == "row":
            S = np.einsum("ij,ij->i", Ra, Ra)
            S += np.sum(L2a * (Za @ F2) - La**2 * (Za @ F**2), axis=1)
            tau_r[active] = n_obs[active] / np.maximum(S, np.finfo(float).tiny)
        R[active], L[active], L2[active] = Ra, La, L2a
        change = np.max(np.abs(La - before), axis=1)
        scale = np.maximum(np.max(np.abs(La), axis=1), 1e-12)
        active = active[change > tol * scale]
    return L
