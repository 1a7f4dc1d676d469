"""Empirical Bayes normal means (EBNM) solvers.

Given observations ``x_i ~ N(theta_i, s_i^2)`` with known ``s_i`` and
``theta_i ~ g``, an EBNM solver estimates ``g`` from a family by maximising the
marginal log-likelihood ``sum_i log int N(x_i; theta, s_i^2) g(dtheta)`` and
returns the exact posterior first and second moments of each ``theta_i``
(Stephens 2017, "False discovery rates: a new deal"; Willwerscheid, Carbonetto
and Stephens, "ebnm: an R package for solving the empirical Bayes normal means
problem", JSS 2025).  These are the building blocks of empirical Bayes matrix
factorization (Wang and Stephens, JMLR 2021).

Every family here is a finite mixture ``g = sum_k pi_k g_k`` whose first
component is a point mass at zero:

- ``"point_normal"``: ``pi_0 delta_0 + (1 - pi_0) N(0, sigma^2)``;
- ``"point_laplace"``: ``pi_0 delta_0 + (1 - pi_0) Laplace(0, 1 / a)``;
- ``"ash"``: ``sum_k pi_k N(0, sigma_k^2)`` on a fixed grid with
  ``sigma_0 = 0`` (adaptive shrinkage, normal scale mixture).

The mixture weights are ``softmax(B @ coef)`` for a design matrix ``B`` whose
first column is an intercept.  Plain EBNM is the intercept-only design; the
covariate-moderated EBNM of :mod:`sklearn_lowrank.ebmf._cebnm` passes a
covariate basis instead, so both share :func:`fit_mixture_prior`.
"""

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_ndtr

from sklearn_lowrank._threads import bounded_blas_threads

_LOG_2PI = np.log(2.0 * np.pi)

__all__ = [
    "FAMILIES",
    "EBNMResult",
    "MixturePrior",
    "ebnm",
    "fit_mixture_prior",
    "posterior_moments",
]


# ---------------------------------------------------------------------------
# Truncated normal moments, stable in the tails.
# ---------------------------------------------------------------------------


def _mills(z):
    """phi(z) / Phi(z), computed in log space so it stays finite for z << 0."""
    return np.exp(-0.5 * z**2 - 0.5 * _LOG_2PI - log_ndtr(z))


def _positive_truncnorm_moments(m, s):
    """First and second moments of N(m, s^2) truncated to [0, inf).

    With ``z = m / s`` and ``r = phi(z) / Phi(z)``: ``E = m + s r`` and
    ``E2 = m^2 + s^2 + m s r``.  For ``z << 0`` both are differences of
    nearly equal numbers, so there the asymptotic series of the inverse Mills
    ratio at ``c = -z`` is used: ``r - c = 1/c - 2/c^3 + 10/c^5 - 74/c^7``.
    """
    z = m / s
    far = z < -30.0
    r = _mills(np.where(far, 0.0, z))
    mean = m + s * r
    mean2 = m**2 + s**2 + m * s * r
    if np.any(far):
        c = -z[far]
        sf = s[far]
        r_minus_c = 1 / c - 2 / c**3 + 10 / c**5 - 74 / c**7
        mean[far] = sf * r_minus_c
        mean2[far] = sf**2 * (2 / c**2 - 10 / c**4 + 74 / c**6)
    return mean, mean2


# ---------------------------------------------------------------------------
# Families: component log-likelihoods, their gradient, posterior moments.
# ---------------------------------------------------------------------------


def _excess_variance(x, s):
    """Moment estimate of the prior variance, floored at a tenth of the noise."""
    return max(np.mean(x**2 - s**2), 0.1 * np.mean(s**2), 1e-300)


class _PointMassAndSlab:
    """Two components: the point mass at zero and one slab with one parameter."""

    n_theta = 1

    @staticmethod
    def n_components(grid):
        return 2


class _PointNormal(_PointMassAndSlab):
    """``pi_0 delta_0 + (1 - pi_0) N(0, sigma^2)``; ``theta = [log sigma^2]``."""

    name = "point_normal"

    @staticmethod
    def init_theta(x, s):
        return np.array([np.log(_excess_variance(x, s))])

    @staticmethod
    def loglik(x, s, theta, grid):
        s2 = s**2
        var1 = s2 + np.exp(theta[0])
        ell = np.empty((x.size, 2))
        ell[:, 0] = -0.5 * (_LOG_2PI + np.log(s2) + x**2 / s2)
        ell[:, 1] = -0.5 * (_LOG_2PI + np.log(var1) + x**2 / var1)
        return ell

    @staticmethod
    def grad_theta(x, s, theta, grid, resp):
        sigma2 = np.exp(theta[0])
        var1 = s**2 + sigma2
        d_ell = sigma2 * (x**2 - var1) / (2.0 * var1**2)
        return np.array([resp[:, 1] @ d_ell])

    @staticmethod
    def component_moments(x, s, theta, grid):
        sigma2 = np.exp(theta[0])
        shrink = sigma2 / (s**2 + sigma2)
        mean = np.zeros((x.size, 2))
        mean2 = np.zeros((x.size, 2))
        mean[:, 1] = shrink * x
        mean2[:, 1] = mean[:, 1] ** 2 + shrink * s**2
        return mean, mean2

    @staticmethod
    def component_variances(theta, grid):
        return np.array([0.0, np.exp(theta[0])])


class _PointLaplace(_PointMassAndSlab):
    """``pi_0 delta_0 + (1 - pi_0) Laplace(rate a)``; ``theta = [log a]``."""

    name = "point_laplace"

    @staticmethod
    def init_theta(x, s):
        # Laplace variance is 2 / a^2.
        return np.array([0.5 * np.log(2.0 / _excess_variance(x, s))])

    @staticmethod
    def _pieces(x, s, a):
        # Log weights of the positive and negative halves of the non-null
        # posterior (each a truncated normal), up to a common constant.
        lm_pos = -a * x + log_ndtr(x / s - s * a)
        lm_neg = a * x + log_ndtr(-(x / s + s * a))
        return lm_pos, lm_neg

    @classmethod
    def loglik(cls, x, s, theta, grid):
        a = np.exp(theta[0])
        s2 = s**2
        lm_pos, lm_neg = cls._pieces(x, s, a)
        ell = np.empty((x.size, 2))
        ell[:, 0] = -0.5 * (_LOG_2PI + np.log(s2) + x**2 / s2)
        ell[:, 1] = np.log(a / 2.0) + 0.5 * s2 * a**2 + np.logaddexp(lm_pos, lm_neg)
        return ell

    @classmethod
    def grad_theta(cls, x, s, theta, grid, resp):
        a = np.exp(theta[0])
        lm_pos, lm_neg = cls._pieces(x, s, a)
        lam = np.exp(lm_pos - np.logaddexp(lm_pos, lm_neg))
        u = x / s - s * a
        v = x / s + s * a
        d_ell_da = (
            1.0 / a
            + s**2 * a
            + lam * (-x - s * _mills(u))
            + (1.0 - lam) * (x - s * _mills(-v))
        )
        return np.array([resp[:, 1] @ (a * d_ell_da)])

    @classmethod
    def component_moments(cls, x, s, theta, grid):
        a = np.exp(theta[0])
        lm_pos, lm_neg = cls._pieces(x, s, a)
        lam = np.exp(lm_pos - np.logaddexp(lm_pos, lm_neg))
        pos_mean, pos_mean2 = _positive_truncnorm_moments(x - s**2 * a, s)
        # The negative half is minus a positive truncation of N(-(x + s^2 a), s^2).
        neg_mean, neg_mean2 = _positive_truncnorm_moments(-(x + s**2 * a), s)
        mean = np.zeros((x.size, 2))
        mean2 = np.zeros((x.size, 2))
        mean[:, 1] = lam * pos_mean - (1.0 - lam) * neg_mean
        mean2[:, 1] = lam * pos_mean2 + (1.0 - lam) * neg_mean2
        return mean, mean2

    @staticmethod
    def component_variances(theta, grid):
        return np.array([0.0, 2.0 / np.exp(2.0 * theta[0])])


class _Ash:
    """``sum_k pi_k N(0, grid_k^2)`` with ``grid_0 = 0``; no ``theta``."""

    name = "ash"
    n_theta = 0

    @staticmethod
    def n_components(grid):
        return grid.size

    @staticmethod
    def init_theta(x, s):
        return np.zeros(0)

    @staticmethod
    def make_grid(x, s, multiplier=2.0**0.5):
        """ashr's automatic grid: ``min(s) / 10`` to ``2 sqrt(max(x^2 - s^2))``.

        The upper end gets one extra factor of 2 of headroom because the grid
        stays fixed for the rest of the fit (a fixed grid keeps the ELBO
        monotone, flashr#26), while the factor scales still move a little.
        """
        low = np.min(s) / 10.0
        high = 4.0 * np.sqrt(max(np.max(x**2 - s**2), 0.0))
        high = max(high, 2.0 * low)
        n_grid = int(np.ceil(np.log(high / low) / np.log(multiplier))) + 1
        return np.concatenate([[0.0], low * multiplier ** np.arange(n_grid)])

    @staticmethod
    def loglik(x, s, theta, grid):
        var = s[:, None] ** 2 + grid[None, :] ** 2
        return -0.5 * (_LOG_2PI + np.log(var) + x[:, None] ** 2 / var)

    @staticmethod
    def grad_theta(x, s, theta, grid, resp):
        return np.zeros(0)

    @staticmethod
    def component_moments(x, s, theta, grid):
        g2 = grid[None, :] ** 2
        shrink = g2 / (s[:, None] ** 2 + g2)
        mean = shrink * x[:, None]
        mean2 = mean**2 + shrink * s[:, None] ** 2
        return mean, mean2

    @staticmethod
    def component_variances(theta, grid):
        return grid**2


FAMILIES = {f.name: f for f in (_PointNormal, _PointLaplace, _Ash)}


# ---------------------------------------------------------------------------
# Fitted prior and the one optimiser shared by EBNM and covariate EBNM.
# ---------------------------------------------------------------------------


@dataclass
class MixturePrior:
    """A fitted prior ``g(. ; B_i) = sum_k softmax(B_i @ coef)_k g_k``.

    Attributes
    ----------
    family : str
        One of ``FAMILIES``.
    coef : ndarray of shape (n_features, n_components)
        Logit coefficients; column 0 (the point mass at zero) is fixed at 0.
        Row 0 multiplies the intercept.
    theta : ndarray of shape (n_theta,)
        Global parameters of the non-null components (log scale / log rate).
    grid : ndarray or None
        Standard deviations of the ash components.
    is_null : bool
        True when all the weight is on the point mass at zero.
    """

    family: str
    coef: np.ndarray
    theta: np.ndarray
    grid: np.ndarray | None = None
    is_null: bool = False

    def log_weights(self, design):
        """Log mixture weights, shape ``(n, n_components)``."""
        logits = design @ self.coef
        return logits - _logsumexp_rows(logits)[:, None]

    def mean_weights(self, design):
        """Population-average weights (used for rows without covariates)."""
        return np.exp(self.log_weights(design)).mean(axis=0)

    def second_moment(self, design):
        """Prior ``E[theta^2]`` for each row of ``design``."""
        if self.is_null:
            return np.zeros(design.shape[0])
        var = FAMILIES[self.family].component_variances(self.theta, self.grid)
        return np.exp(self.log_weights(design)) @ var


@dataclass
class EBNMResult:
    """Posterior moments, fitted prior and marginal log-likelihood."""

    mean: np.ndarray
    mean2: np.ndarray
    prior: MixturePrior
    log_likelihood: float
    penalty: float = 0.0


def null_prior(family, n_features, grid=None):
    """The point mass at zero, expressed in ``family``."""
    n_comp = FAMILIES[family].n_components(grid)
    coef = np.zeros((n_features, n_comp))
    theta = FAMILIES[family].init_theta(np.zeros(1), np.ones(1))
    return MixturePrior(family, coef, theta, grid, is_null=True)


def posterior_moments(x, s, prior, design):
    """Posterior means and second moments under a fixed prior.

    Parameters
    ----------
    x, s : ndarray of shape (n,)
        Observations and their standard errors; ``s = inf`` means "no data"
        (the posterior is then the prior).
    prior : MixturePrior
    design : ndarray of shape (n, n_features)
        Covariate design (a column of ones without covariates).

    Returns
    -------
    mean, mean2 : ndarray of shape (n,)
    log_lik : ndarray of shape (n,)
        ``log int N(x_i; theta, s_i^2) g(dtheta)`` (0 where ``s`` is inf).
    """
    n = x.size
    mean = np.zeros(n)
    mean2 = np.zeros(n)
    log_lik = np.zeros(n)
    if prior.is_null:
        obs = np.isfinite(s)
        s_obs = s[obs]
        log_lik[obs] = -0.5 * (_LOG_2PI + np.log(s_obs**2) + x[obs] ** 2 / s_obs**2)
        return mean, mean2, log_lik
    family = FAMILIES[prior.family]
    obs = np.isfinite(s)
    log_w = prior.log_weights(design)
    if not obs.all():
        var = family.component_variances(prior.theta, prior.grid)
        mean2[~obs] = np.exp(log_w[~obs]) @ var
    if obs.any():
        xo, so = x[obs], s[obs]
        joint = log_w[obs] + family.loglik(xo, so, prior.theta, prior.grid)
        ll = _logsumexp_rows(joint)
        resp = np.exp(joint - ll[:, None])
        comp_mean, comp_mean2 = family.component_moments(
            xo, so, prior.theta, prior.grid
        )
        mean[obs] = np.sum(resp * comp_mean, axis=1)
        # Guard the identity E2 >= E^2 against rounding only.
        mean2[obs] = np.maximum(np.sum(resp * comp_mean2, axis=1), mean[obs] ** 2)
        log_lik[obs] = ll
    return mean, mean2, log_lik


def _pack(coef, theta):
    return np.concatenate([coef[:, 1:].ravel(), theta])


def _unpack(params, n_features, n_comp, n_theta):
    coef = np.zeros((n_features, n_comp))
    n_coef = n_features * (n_comp - 1)
    coef[:, 1:] = params[:n_coef].reshape(n_features, n_comp - 1)
    return coef, params[n_coef : n_coef + n_theta]


def _logsumexp_rows(a):
    """Row-wise log-sum-exp (a lean version of scipy's, which is general)."""
    if a.shape[1] == 2:
        return np.logaddexp(a[:, 0], a[:, 1])
    top = a.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.exp(a - top[:, None]).sum(axis=1)) + top


class _PenalisedMarginal:
    """Minus the penalised marginal log-likelihood and its gradient.

    Caches what does not depend on the parameters: the component
    log-likelihoods of the ash family (it has no ``theta``), and, for an
    intercept-only design, the fact that all rows share one weight vector.
    """

    def __init__(self, x, s, design, family, grid, alpha):
        self.x, self.s, self.design = x, s, design
        self.family, self.grid, self.alpha = family, grid, alpha
        self.n_features = design.shape[1]
        self.n_comp = family.n_components(grid)
        self.intercept_only = self.n_features == 1 and np.all(design == 1.0)
        self.fixed_loglik = None
        if family.n_theta == 0:
            self.fixed_loglik = family.loglik(x, s, np.zeros(0), grid)

    def __call__(self, params):
        n_features, n_comp = self.n_features, self.n_comp
        coef, theta = _unpack(params, n_features, n_comp, self.family.n_theta)
        if self.intercept_only:
            logits = coef[:1]
        else:
            logits = self.design @ coef
        log_w = logits - _logsumexp_rows(logits)[:, None]
        ell = self.fixed_loglik
        if ell is None:
            ell = self.family.loglik(self.x, self.s, theta, self.grid)
        joint = log_w + ell
        ll = _logsumexp_rows(joint)
        resp = np.exp(joint - ll[:, None])
        value = -ll.sum() + 0.5 * self.alpha * np.sum(coef[1:] ** 2)
        # d/dlogits of sum_i log sum_k w_ik L_ik is (resp - w).
        if self.intercept_only:
            g_coef = -(resp.sum(axis=0) - self.x.size * np.exp(log_w))
        else:
            g_coef = -(self.design.T @ (resp - np.exp(log_w)))
            g_coef[1:] += self.alpha * coef[1:]
        g_theta = -self.family.grad_theta(self.x, self.s, theta, self.grid, resp)
        return value, _pack(g_coef, g_theta)


def fit_mixture_prior(
    x, s, family, design, *, alpha=0.0, init=None, grid=None, max_steps=200
):
    """Maximise the (penalised) marginal likelihood over mixture priors.

    The weights are ``softmax(design @ coef)``; ``alpha / 2 * ||coef[1:]||^2``
    penalises the covariate coefficients (never the intercept).  The result
    never has a lower objective than ``init`` (warm start), which is what
    keeps the EBMF objective monotone.

    Parameters
    ----------
    x, s : ndarray of shape (n,)
        Observations and standard errors (``s = inf`` entries are ignored).
    family : str
        Key of ``FAMILIES``.
    design : ndarray of shape (n, n_features)
        First column is the intercept.
    alpha : float, default=0.0
        Ridge strength on the covariate coefficients.
    init : MixturePrior or None
        Warm start (and, for ash, the grid to keep).
    grid : ndarray or None
        Ash grid to use when ``init`` is None (chosen from the data if None).
    max_steps : int, default=200
        Maximum L-BFGS iterations.  A partial maximisation from a warm start
        still never lowers the objective (a generalised EM step), so inside
        EBMF a small budget per update is enough: the next sweep resumes.

    Returns
    -------
    EBNMResult
    """
    fam = FAMILIES[family]
    obs = np.isfinite(s)
    xo, so, Bo = x[obs], s[obs], design[obs]
    n_features = design.shape[1]
    if init is not None and init.grid is not None:
        grid = init.grid
    if family == "ash" and grid is None:
        grid = _Ash.make_grid(xo, so) if xo.size else np.array([0.0, 1.0])
    n_comp = fam.n_components(grid)
    shape = (n_features, n_comp, fam.n_theta)
    null = null_prior(family, n_features, grid)
    if xo.size == 0:
        return EBNMResult(np.zeros_like(x), np.zeros_like(x), null, 0.0)

    null_ll = float(np.sum(-0.5 * (_LOG_2PI + np.log(so**2) + xo**2 / so**2)))
    if init is None or init.is_null:
        coef = np.zeros((n_features, n_comp))
        theta = fam.init_theta(xo, so)
    else:
        coef, theta = init.coef.copy(), init.theta.copy()
    # Bounds keep the search away from overflow: logits of +-40 already give
    # weights of 1e-17, and theta is a log scale (centred on the start).
    coef = np.clip(coef, -40.0, 40.0)
    bounds = [(-40.0, 40.0)] * (n_features * (n_comp - 1)) + [
        (t - 40.0, t + 40.0) for t in theta
    ]
    start = _pack(coef, theta)
    objective = _PenalisedMarginal(xo, so, Bo, fam, grid, alpha)
    start_value = objective(start)[0]
    # L-BFGS on a few dozen parameters: BLAS threads only add wake-up
    # latency, so use one.
    with bounded_blas_threads(max_threads=1):
        res = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_steps, "ftol": 1e-9, "gtol": 1e-6},
        )
    params, value = res.x, float(res.fun)
    if not np.isfinite(value) or value > start_value:
        params, value = start, start_value
    coef, theta = _unpack(params, *shape)
    if null_ll >= -value:
        # The point mass at zero is at least as good (ebnm checks this boundary
        # explicitly: the optimiser only approaches it).
        prior = null
    else:
        prior = MixturePrior(family, coef, theta, grid)
    mean, mean2, ll = posterior_moments(x, s, prior, design)
    penalty = 0.0 if prior.is_null else 0.5 * alpha * float(np.sum(coef[1:] ** 2))
    return EBNMResult(mean, mean2, prior, float(ll.sum()), penalty)


def ebnm(x, s, prior="point_normal", *, init=None):
    """Solve the empirical Bayes normal means problem.

    Parameters
    ----------
    x : array-like of shape (n,)
        Observations.
    s : array-like of shape (n,) or float
        Their standard errors (``inf`` means no information).
    prior : {"point_normal", "point_laplace", "ash"}, default="point_normal"
        Prior family.
    init : MixturePrior or None, default=None
        Warm start.

    Returns
    -------
    result : EBNMResult
        ``mean`` and ``mean2`` (posterior first and second moments),
        ``prior`` (the fitted :class:`MixturePrior`) and ``log_likelihood``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), x.shape).copy()
    return fit_mixture_prior(x, s, prior, np.ones((x.size, 1)), init=init)


def prior_weights(prior, design):
    """Mixture weights of a fitted prior, shape ``(n, n_components)``."""
    return np.exp(prior.log_weights(design))


def drop_covariates(prior, design):
    """The covariate-free prior with the population-average weights of ``prior``."""
    weights = np.maximum(prior.mean_weights(design), 1e-300)
    coef = np.zeros((1, weights.size))
    coef[0] = np.log(weights) - np.log(weights[0])
    return replace(prior, coef=coef)
