"""The EBMF solver: arrays in, arrays out.

Model and updates follow Wang and Stephens (JMLR 2021) and the R package
flashier: ``X = L F^T + E`` with ``E_ij ~ N(0, 1 / tau_ij)``, a mean-field
posterior ``q(L, F) = prod_k q(l_k) q(f_k)`` and one empirical Bayes normal
means (EBNM) problem per rank-one update.  Every update below (an EBNM step,
a noise update, dropping a factor) is a coordinate-ascent step on the
evidence lower bound (ELBO), so the ELBO trace never decreases.

Schedule.  All factors start from the leading singular pairs of ``X`` (one
randomized SVD, a handful of passes over the data), then backfitting sweeps
update all loadings (``l_1 .. l_K``), the noise, all factors
(``f_1 .. f_K``), the noise.  Updating every loading before any factor keeps
``F`` fixed during the loadings half-sweep, so ``X (tau_c * F)`` is one
matrix product for the whole half-sweep (one pass over ``X``) instead of one
pass per factor; a sweep reads ``X`` twice whatever the rank.  After each
sweep a null check (flashier's ``nullcheck``) drops every factor whose
removal does not lower the ELBO; it costs O((n + p) K) per factor because the
change of the squared residual has a closed form.  The number of factors is
chosen by these checks (and by EBNM steps that return the point mass at
zero), as the greedy stage of flashier does by refusing factors that do not
raise the ELBO.

Residual.  Without missing entries the residual ``R = X - L F^T`` is never
formed: ``R w = X w - L (F^T w)`` and ``||R||^2 = ||X||^2 - 2 <L, X F> +
<L^T L, F^T F>``, so ``X`` may be a scipy sparse matrix and the solver holds
O((n + p) K) memory besides it.  When the fit is so close that the last
identity cancels (``||R||^2 < 1e-8 ||X||^2``), the squared residual is
recomputed exactly in row blocks.  With missing entries (NaN) the masked
residual is kept as a dense array and updated in place by BLAS rank-one
updates.

Scale.  The solver works on ``X / scale`` with ``scale`` a power of 4 near
the root mean square of the entries, so squared norms cannot overflow or
underflow for any representable data and the result for ``c X`` is the
result for ``X`` scaled (up to the rounding of ``c X`` itself).
"""

from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dger
from sklearn.utils.extmath import randomized_svd

from sklearn_lowrank.ebmf._cebnm import cebnm
from sklearn_lowrank.ebmf._ebnm import posterior_moments

_LOG_2PI = np.log(2.0 * np.pi)
_TINY = np.finfo(np.float64).tiny
# Dense temporaries (row blocks of X) are capped at this many bytes.
_BLOCK_BYTES = 2**25
# Below this fraction of ||X||^2 the implicit squared residual has lost too
# many digits to cancellation and is recomputed exactly.
_CANCELLATION = 1e-8
# Problems this small get more power iterations in the initial SVD.
_EXACT_SVD_ENTRIES = 2_000_000


def _variance_floor(total_sq, n_obs):
    """Smallest noise variance allowed: the data's mean square times eps^2.

    Keeps the precisions (and the EBNM precisions built from them) finite on
    data fitted exactly, e.g. all-zero X (whose noise variance is then the
    smallest normal float).
    """
    eps = np.finfo(np.float64).eps
    return max(eps**2 * total_sq / max(n_obs, 1.0), _TINY)


def row_blocks(n_rows, n_cols):
    """Slices of rows whose dense blocks stay under ``_BLOCK_BYTES``."""
    step = max(1, _BLOCK_BYTES // (8 * max(n_cols, 1)))
    return [slice(i, min(n_rows, i + step)) for i in range(0, n_rows, step)]


def dense_rows(X, rows):
    """A dense float64 copy of some rows of a dense or sparse matrix."""
    block = X[rows]
    if sp.issparse(block):
        return block.toarray().astype(np.float64, copy=False)
    return np.array(block, dtype=np.float64)


def scan_data(X):
    """Scale of the data (a power of 4) and the number of NaN entries.

    The scale is the power of 4 nearest the root mean square of the
    observed entries, computed without squaring unscaled values; all-zero
    data get scale 1.
    """
    if sp.issparse(X):
        values = [X.data]
        count = X.shape[0] * X.shape[1]
    else:
        values = [X[rows] for rows in row_blocks(*X.shape)]
        count = X.size
    n_missing = sum(int(np.count_nonzero(np.isnan(v))) for v in values)
    top = max((float(np.nanmax(np.abs(v))) for v in values if v.size), default=0.0)
    if not np.isfinite(top) or top == 0.0 or count == n_missing:
        return 1.0, n_missing
    total = sum(float(np.nansum((v / top) ** 2)) for v in values)
    rms = top * np.sqrt(total / (count - n_missing))
    exponent = int(np.round(np.log2(rms) / 2.0))
    return float(np.ldexp(1.0, 2 * exponent)), n_missing


def rescale_prior(prior, factor):
    """The prior of ``factor * theta`` when ``theta`` has prior ``prior``."""
    if prior is None or prior.is_null:
        return prior if prior is None else replace(prior)
    theta = prior.theta.copy()
    grid = None if prior.grid is None else prior.grid * factor
    if prior.family == "point_normal":
        theta[0] += 2.0 * np.log(factor)
    elif prior.family == "point_laplace":
        theta[0] -= np.log(factor)
    return replace(prior, theta=theta, grid=grid, coef=prior.coef.copy())


# ---------------------------------------------------------------------------
# Data backends: the residual without missing entries (implicit) or with them
# (explicit, masked).
# ---------------------------------------------------------------------------


class _CompleteData:
    """``X / scale`` with no missing entry, touched only through products.

    ``XF`` (``X_s F``) and ``XtL`` (``X_s^T L``) are cached while ``F``,
    respectively ``L``, do not change.
    """

    masked = False

    def __init__(self, X, scale):
        self.X = X
        self.inv = 1.0 / scale
        self.shape = X.shape
        n, p = X.shape
        if sp.issparse(X):
            squares = X.copy()
            squares.data = (squares.data * self.inv) ** 2
            self.row_sq = np.asarray(squares.sum(axis=1)).ravel()
            self.col_sq = np.asarray(squares.sum(axis=0)).ravel()
        else:
            self.row_sq = np.empty(n)
            self.col_sq = np.zeros(p)
            for rows in row_blocks(n, p):
                block = X[rows] * self.inv
                self.row_sq[rows] = np.einsum("ij,ij->i", block, block)
                self.col_sq += np.einsum("ij,ij->j", block, block)
        self.total_sq = float(self.row_sq.sum())
        self.floor = _variance_floor(self.total_sq, n * p)
        self.n_obs_rows = np.full(n, float(p))
        self.n_obs_cols = np.full(p, float(n))
        self.XF = None
        self.XtL = None

    def matmat(self, W):
        return np.asarray(self.X @ W) * self.inv

    def rmatmat(self, W):
        return np.asarray(self.X.T @ W) * self.inv

    def is_zero(self):
        return self.total_sq == 0.0

    def observed_sum(self, v, transpose=False):
        """``Z @ v`` for the all-ones observation mask."""
        return np.full(self.shape[1] if transpose else self.shape[0], v.sum())

    def init_matrix(self):
        return self.X, self.inv

    def xf(self, state):
        if self.XF is None:
            self.XF = self.matmat(state.F)
        return self.XF

    def xtl(self, state):
        if self.XtL is None:
            self.XtL = self.rmatmat(state.L)
        return self.XtL

    def prepare(self, state, side):
        """Return ``excluded(k)``: (residual without factor k) @ w_k and the
        weighted second-moment sums, for the half-sweep on ``side``."""
        if side == "loadings":
            own, other, w = state.L, state.F, state.tau_c
            weighted = state.noise == "column"
            product = self.matmat(w[:, None] * other) if weighted else self.xf(state)
        else:
            own, other, w = state.F, state.L, state.tau_r
            weighted = state.noise == "row"
            product = self.rmatmat(w[:, None] * other) if weighted else self.xtl(state)
        gram = other.T @ (w[:, None] * other)
        other2 = state.F2 if side == "loadings" else state.L2

        def excluded(k):
            numerator = product[:, k] - own @ gram[:, k] + own[:, k] * gram[k, k]
            denominator = np.full(own.shape[0], w @ other2[:, k])
            return numerator, denominator

        return excluded

    def apply(self, state, side, k, delta):
        if side == "loadings":
            self.XtL = None
        else:
            self.XF = None

    def moved(self, current, saved):
        """The means changed wholesale (extrapolation or restore)."""
        self.XF = self.XtL = None

    def remove(self, state, k):
        keep = np.arange(state.K) != k
        if self.XF is not None:
            self.XF = self.XF[:, keep]
        if self.XtL is not None:
            self.XtL = self.XtL[:, keep]

    def residual_times(self, state, view, k):
        """``R f_k`` (view "rows") or ``R^T l_k`` (view "cols")."""
        if view == "rows":
            return self.xf(state)[:, k] - state.L @ (state.F.T @ state.F[:, k])
        return self.xtl(state)[:, k] - state.F @ (state.L.T @ state.L[:, k])

    def fresh_view(self):
        """A view whose product is cached (no pass over X needed)."""
        return "rows" if self.XF is not None else "cols"

    def sq_residual(self, state, axis):
        """``sum E[R_ij^2]`` per row (axis=1), per column (0) or in total."""
        L, F, L2, F2 = state.L, state.F, state.L2, state.F2
        if axis == 0 or (axis is None and self.XF is None):
            XtL = self.xtl(state)
            mean = (
                self.col_sq
                - 2.0 * np.einsum("jk,jk->j", F, XtL)
                + np.einsum("jk,jk->j", F @ (L.T @ L), F)
            )
            var = F2 @ L2.sum(axis=0) - F**2 @ (L**2).sum(axis=0)
            reference = self.col_sq
        else:
            XF = self.xf(state)
            mean = (
                self.row_sq
                - 2.0 * np.einsum("ik,ik->i", L, XF)
                + np.einsum("ik,ik->i", L @ (F.T @ F), L)
            )
            var = L2 @ F2.sum(axis=0) - L**2 @ (F**2).sum(axis=0)
            reference = self.row_sq
        if axis is None:
            total = float(mean.sum())
            if total < _CANCELLATION * self.total_sq:
                total = float(self._exact_sq_residual(state)[0].sum())
            return total + float(var.sum())
        if np.any(mean < _CANCELLATION * reference):
            rows_sq, cols_sq = self._exact_sq_residual(state)
            mean = cols_sq if axis == 0 else rows_sq
        return mean + var

    def _exact_sq_residual(self, state):
        n, p = self.shape
        rows_sq = np.empty(n)
        cols_sq = np.zeros(p)
        for rows in row_blocks(n, p):
            block = dense_rows(self.X, rows)
            block *= self.inv
            block -= state.L[rows] @ state.F.T
            rows_sq[rows] = np.einsum("ij,ij->i", block, block)
            cols_sq += np.einsum("ij,ij->j", block, block)
        return rows_sq, cols_sq


class _MaskedData:
    """The masked residual ``Z * (X / scale - L F^T)`` kept as a dense array."""

    masked = True

    def __init__(self, X, scale):
        observed = ~np.isnan(X)
        self.shape = X.shape
        self.R = np.where(observed, X, 0.0)
        self.R *= 1.0 / scale
        self.mask = observed.astype(np.float64)
        self.n_obs_rows = observed.sum(axis=1).astype(np.float64)
        self.n_obs_cols = observed.sum(axis=0).astype(np.float64)
        self.floor = _variance_floor(
            float(np.einsum("ij,ij->", self.R, self.R)), self.n_obs_rows.sum()
        )

    def is_zero(self):
        return not self.R.any()

    def observed_sum(self, v, transpose=False):
        return (self.mask.T if transpose else self.mask) @ v

    def init_matrix(self):
        return self.R, 1.0

    def _subtract_outer(self, u, v):
        """``R -= Z * outer(u, v)`` via BLAS ``dger`` (no n x p temporary)."""
        R = self.R
        if R.flags.f_contiguous:
            dger(-1.0, u, v, a=R, overwrite_a=True)
        else:
            dger(-1.0, v, u, a=R.T, overwrite_a=True)
        R *= self.mask

    def prepare(self, state, side):
        if side == "loadings":
            R, own, other, other2, w, t = (
                self.R,
                state.L,
                state.F,
                state.F2,
                state.tau_c,
                False,
            )
        else:
            R, own, other, other2, w, t = (
                self.R.T,
                state.F,
                state.L,
                state.L2,
                state.tau_r,
                True,
            )

        def excluded(k):
            wk = w * other[:, k]
            numerator = R @ wk + own[:, k] * self.observed_sum(wk * other[:, k], t)
            denominator = self.observed_sum(w * other2[:, k], t)
            return numerator, denominator

        return excluded

    def apply(self, state, side, k, delta):
        if side == "loadings":
            self._subtract_outer(delta, state.F[:, k])
        else:
            self._subtract_outer(state.L[:, k], delta)

    def moved(self, current, saved):
        """Means moved from ``saved`` to ``current``: update R accordingly."""
        L_new, F_new = _means(current)
        L_old, F_old = saved["L"], saved["F"]
        for k in range(L_old.shape[1]):
            self._subtract_outer(-L_old[:, k], F_old[:, k])
        for k in range(L_new.shape[1]):
            self._subtract_outer(L_new[:, k], F_new[:, k])

    def remove(self, state, k):
        self._subtract_outer(-state.L[:, k], state.F[:, k])

    def residual_times(self, state, view, k):
        if view == "rows":
            return self.R @ state.F[:, k]
        return self.R.T @ state.L[:, k]

    def fresh_view(self):
        return "rows"

    def sq_residual(self, state, axis):
        if axis == 0:
            total = np.einsum("ij,ij->j", self.R, self.R)
            for k in range(state.K):
                total += state.F2[:, k] * self.observed_sum(state.L2[:, k], True)
                total -= state.F[:, k] ** 2 * self.observed_sum(
                    state.L[:, k] ** 2, True
                )
            return total
        total = np.einsum("ij,ij->i", self.R, self.R)
        for k in range(state.K):
            total += state.L2[:, k] * self.observed_sum(state.F2[:, k])
            total -= state.L[:, k] ** 2 * self.observed_sum(state.F[:, k] ** 2)
        return total if axis == 1 else float(total.sum())


def _means(obj):
    if isinstance(obj, dict):
        return obj["L"], obj["F"]
    return obj.L, obj.F


def make_data(X, scale, missing):
    """The backend for ``X``: masked if entries are missing, else implicit."""
    return _MaskedData(X, scale) if missing else _CompleteData(X, scale)


# ---------------------------------------------------------------------------
# Variational state and the updates.
# ---------------------------------------------------------------------------


class _EBMFState:
    """Moments, priors, noise precisions and the residual backend.

    The noise precision is ``tau_ij = tau0 * tau_r[i] * tau_c[j]``: ``tau0``
    carries constant noise, ``tau_r`` row noise, ``tau_c`` column noise (the
    other two stay at 1).  ``kl_l[k]`` and ``kl_f[k]`` are minus the KL
    divergences of each factor's posterior from its prior, so the ELBO is
    their sum plus the expected log-likelihood ``loglik``.
    """

    def __init__(self, data, noise):
        self.data = data
        self.noise = noise
        n, p = data.shape
        self.n, self.p = n, p
        self.n_obs = float(data.n_obs_rows.sum())
        self.L = np.zeros((n, 0))
        self.L2 = np.zeros((n, 0))
        self.F = np.zeros((p, 0))
        self.F2 = np.zeros((p, 0))
        self.priors_l, self.priors_f = [], []
        self.kl_l, self.kl_f = [], []
        self.tau0 = 1.0
        self.tau_r = np.ones(n)
        self.tau_c = np.ones(p)
        self.loglik = -np.inf

    @property
    def K(self):
        return self.L.shape[1]

    @property
    def elbo(self):
        return self.loglik + float(np.sum(self.kl_l) + np.sum(self.kl_f))

    def has_all_priors(self):
        return all(g is not None for g in self.priors_l + self.priors_f)

    def _counts_and_axis(self):
        if self.noise == "row":
            return self.data.n_obs_rows, 1
        if self.noise == "column":
            return self.data.n_obs_cols, 0
        return self.n_obs, None

    def update_tau(self):
        """Closed-form precision update; sets and returns ``loglik``."""
        counts, axis = self._counts_and_axis()
        S = np.maximum(self.data.sq_residual(self, axis), counts * self.data.floor)
        tau = counts / S
        if self.noise == "row":
            self.tau_r = tau
        elif self.noise == "column":
            self.tau_c = tau
        else:
            self.tau0 = float(tau)
        self.loglik = _optimal_loglik(counts, S)
        return self.loglik

    def add_factors(self, L, F):
        self.L, self.F = L, F
        self.L2, self.F2 = L**2, F**2
        self.priors_l = [None] * L.shape[1]
        self.priors_f = [None] * L.shape[1]
        self.kl_l = [0.0] * L.shape[1]
        self.kl_f = [0.0] * L.shape[1]
        if self.data.masked:
            for k in range(L.shape[1]):
                self.data._subtract_outer(L[:, k], F[:, k])
        else:
            self.data.XF = self.data.XtL = None

    _SAVED = ("L", "L2", "F", "F2", "tau0", "tau_r", "tau_c", "loglik")

    def snapshot(self):
        """Copies of everything a sweep changes (O((n + p) K))."""
        saved = {name: np.copy(getattr(self, name)) for name in self._SAVED}
        saved["tau0"] = float(self.tau0)
        saved["loglik"] = float(self.loglik)
        for name in ("priors_l", "priors_f", "kl_l", "kl_f"):
            saved[name] = list(getattr(self, name))
        return saved

    def restore(self, saved):
        current = {"L": self.L, "F": self.F}
        for name, value in saved.items():
            setattr(self, name, value)
        self.data.moved(saved, current)

    def remove_factor(self, k):
        self.data.remove(self, k)
        keep = np.arange(self.K) != k
        self.L, self.L2 = self.L[:, keep], self.L2[:, keep]
        self.F, self.F2 = self.F[:, keep], self.F2[:, keep]
        for lst in (self.priors_l, self.priors_f, self.kl_l, self.kl_f):
            del lst[k]

    def is_null(self, k):
        g_l, g_f = self.priors_l[k], self.priors_f[k]
        if (g_l is not None and g_l.is_null) or (g_f is not None and g_f.is_null):
            return True
        return not (np.any(self.L[:, k]) and np.any(self.F[:, k]))


def _optimal_loglik(counts, S):
    """Expected log-likelihood at the optimal precision ``counts / S``."""
    return -0.5 * float(np.sum(counts * (_LOG_2PI - np.log(counts / S) + 1.0)))


def _neg_kl(result, x, s):
    """Minus KL(q || g) = logLik - E_q log N(x; theta, s^2) (flashier)."""
    fin = np.isfinite(s)
    xo, so = x[fin], s[fin]
    e, e2 = result.mean[fin], result.mean2[fin]
    expected_normal_loglik = -0.5 * np.sum(
        _LOG_2PI + np.log(so**2) + (e2 - 2 * xo * e + xo**2) / so**2
    )
    return result.log_likelihood - result.penalty - expected_normal_loglik


def _half_sweep(state, side, family, design, alpha):
    """Update ``q(l_k)`` (side="loadings") or ``q(f_k)`` for every k."""
    excluded = state.data.prepare(state, side)
    if side == "loadings":
        own, own2, priors, kls = state.L, state.L2, state.priors_l, state.kl_l
        tau_own = state.tau0 * state.tau_r
    else:
        own, own2, priors, kls = state.F, state.F2, state.priors_f, state.kl_f
        tau_own = state.tau0 * state.tau_c
    for k in range(state.K):
        numerator, denominator = excluded(k)
        precision = tau_own * denominator
        has_data = precision > 0
        s = np.full(own.shape[0], np.inf)
        x = np.zeros(own.shape[0])
        s[has_data] = 1.0 / np.sqrt(precision[has_data])
        x[has_data] = numerator[has_data] / denominator[has_data]
        # A warm-started partial fit of the prior is enough: the next sweep
        # resumes it, and each step still raises the ELBO.
        max_steps = 200 if priors[k] is None else 25
        result = cebnm(
            x, s, family, design, alpha=alpha, init=priors[k], max_steps=max_steps
        )
        state.data.apply(state, side, k, result.mean - own[:, k])
        own[:, k] = result.mean
        own2[:, k] = result.mean2
        priors[k] = result.prior
        kls[k] = _neg_kl(result, x, s)


def _zeroed_loglik(state, k, view):
    """Expected log-likelihood (noise re-optimised) without factor k."""
    data = state.data
    lk, fk, lk2, fk2 = state.L[:, k], state.F[:, k], state.L2[:, k], state.F2[:, k]
    counts, axis = state._counts_and_axis()
    if view == "rows":
        r = data.residual_times(state, "rows", k)
        delta = (
            2.0 * lk * r
            + 2.0 * lk**2 * data.observed_sum(fk**2)
            - lk2 * data.observed_sum(fk2)
        )
        if axis == 0:
            raise ValueError("column noise needs the column view")
    else:
        r = data.residual_times(state, "cols", k)
        delta = (
            2.0 * fk * r
            + 2.0 * fk**2 * data.observed_sum(lk**2, True)
            - fk2 * data.observed_sum(lk2, True)
        )
        if axis == 1:
            raise ValueError("row noise needs the row view")
    S = data.sq_residual(state, axis)
    if axis is None:
        delta = float(delta.sum())
    return _optimal_loglik(counts, np.maximum(S + delta, counts * data.floor))


def _nullcheck(state, report):
    """Drop factors that are null or whose removal does not lower the ELBO.

    Returns the number of factors dropped.
    """
    dropped = 0
    if state.noise == "row":
        view = "rows"
    elif state.noise == "column":
        view = "cols"
    else:
        view = state.data.fresh_view()
    for k in reversed(range(state.K)):
        if state.is_null(k):
            state.remove_factor(k)
            state.update_tau()
            dropped += 1
            if report:
                report(f"factor {k + 1} shrank to zero and is dropped")
            continue
        zeroed = (
            _zeroed_loglik(state, k, view)
            + float(np.sum(state.kl_l) + np.sum(state.kl_f))
            - state.kl_l[k]
            - state.kl_f[k]
        )
        if zeroed >= state.elbo:
            state.remove_factor(k)
            state.update_tau()
            dropped += 1
            if report:
                report(f"factor {k + 1} does not raise the ELBO and is dropped")
    return dropped


def _initial_factors(data, n_components, rng):
    """Leading singular pairs, scaled so that ``||l_k|| = ||f_k||``.

    flashier starts each greedy factor from alternating least squares on the
    residual, i.e. the leading singular pair; starting all of them from one
    truncated SVD gives the same vectors for a fraction of the passes.
    """
    M, inv = data.init_matrix()
    n, p = M.shape
    # More power iterations are cheap on small problems; on large ones two
    # suffice, backfitting refines the start anyway.
    n_iter = 7 if n * p <= _EXACT_SVD_ENTRIES else 2
    U, sigma, Vt = randomized_svd(
        M, n_components, n_oversamples=10, n_iter=n_iter, random_state=rng
    )
    sigma = sigma * inv
    keep = sigma > sigma[:1].max(initial=0.0) * 1e-12 if sigma.size else sigma > 0
    root = np.sqrt(sigma[keep])
    return U[:, keep] * root, Vt[keep].T * root


def _sweep(state, priors, designs, alpha, curve):
    """One backfitting sweep: all loadings, noise, all factors, noise."""
    _half_sweep(state, "loadings", priors[0], designs[0], alpha)
    state.update_tau()
    if curve is not None and state.has_all_priors():
        curve.append(state.elbo)
    _half_sweep(state, "factors", priors[1], designs[1], alpha)
    state.update_tau()
    if curve is not None:
        curve.append(state.elbo)


# Extrapolation steps (flashier's defaults): start, growth on success,
# shrinkage on failure, largest step.
_BETA_INIT, _BETA_UP, _BETA_DOWN, _BETA_MAX = 0.5, 1.2, 0.5, 2.0


def _backfit(
    state, priors, designs, alpha, max_iter, abs_tol, curve, report, extrapolate=True
):
    """Sweeps until one raises the ELBO by at most ``abs_tol``.

    With ``extrapolate``, each sweep after the first starts from factors
    pushed along their last move, ``F + beta (F - F_previous)`` (and the
    same for their second moments), as flashier's extrapolation (after Ang
    and Gillis, 2019, for NMF): coordinate ascent crawls along the nearly
    flat directions that rotate factors into their sparse form, and the
    push follows that crawl.  The sweep then recomputes every posterior
    from it, so the state is a valid mean-field posterior again; it is kept
    only if its ELBO is higher than before the push (and ``beta`` grows),
    otherwise the previous state is restored, ``beta`` shrinks and a plain
    sweep is run.  The ELBO trace therefore stays non-decreasing.

    Returns ``(n_sweeps, converged)``.
    """
    n_iter = 0
    converged = state.K == 0
    previous = state.elbo if state.has_all_priors() else -np.inf
    beta = _BETA_INIT
    last_F = None
    while state.K and n_iter < max_iter:
        n_iter += 1
        pushed = (
            extrapolate
            and last_F is not None
            and last_F[0].shape == state.F.shape
            and state.has_all_priors()
        )
        if pushed:
            saved = state.snapshot()
            F, F2 = state.F, state.F2
            state.F = F + beta * (F - last_F[0])
            state.F2 = np.maximum(F2 + beta * (F2 - last_F[1]), state.F**2)
            state.data.moved(state, saved)
            _sweep(state, priors, designs, alpha, None)
            if state.elbo > previous:
                curve.append(state.elbo)
                beta = min(_BETA_MAX, beta * _BETA_UP)
            else:
                state.restore(saved)
                beta *= _BETA_DOWN
                _sweep(state, priors, designs, alpha, curve)
            last_F = (saved["F"], saved["F2"])
        else:
            last_F = (state.F.copy(), state.F2.copy())
            _sweep(state, priors, designs, alpha, curve)
        if _nullcheck(state, report):
            curve.append(state.elbo)
        elbo = state.elbo
        if report:
            report(
                f"sweep {n_iter}: {state.K} factors, ELBO {elbo:.10g}"
                + (f", extrapolation step {beta:.2g}" if pushed else "")
            )
        if elbo - previous <= abs_tol:
            converged = True
            break
        previous = elbo
    return n_iter, converged or state.K == 0


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


def fit_ebmf(
    data,
    *,
    n_components,
    priors,
    designs,
    alpha,
    noise,
    max_iter,
    tol,
    rng,
    report=None,
):
    """EBMF from a truncated SVD, backfitting with null checks; then cEBMF.

    With covariates, plain EBMF is fitted first and the covariate-moderated
    priors then start from its solution with zero covariate slopes.  Since
    the covariate model nests the plain one, this continues the same
    monotone ascent: the final ELBO is at least that of EBMF.

    ``max_iter`` bounds the sweeps of each of the (at most two) stages.

    Returns a dict with the state (scaled units), the ELBO trace,
    ``n_iter`` (sweeps) and ``converged``.
    """
    state = _EBMFState(data, noise)
    abs_tol = tol * state.n_obs
    curve = [state.update_tau()]  # the model without factors
    if not data.is_zero():
        L0, F0 = _initial_factors(data, n_components, rng)
        if L0.shape[1]:
            state.add_factors(L0, F0)
            state.update_tau()
    plain = tuple(np.ones((d.shape[0], 1)) for d in designs)
    n_iter, converged = _backfit(
        state, priors, plain, alpha, max_iter, abs_tol, curve, report
    )
    if state.K == 0:
        # Every factor was dropped: the trace is that of the null model.
        state.update_tau()
        curve = [state.elbo]
    if state.K and any(d.shape[1] > 1 for d in designs):
        if report:
            report("EBMF fitted; now moderating the priors by the covariates")
        state.priors_l = [_lift_prior(g, designs[0]) for g in state.priors_l]
        state.priors_f = [_lift_prior(g, designs[1]) for g in state.priors_f]
        more, converged = _backfit(
            state, priors, designs, alpha, max_iter, abs_tol, curve, report
        )
        n_iter += more
    return dict(state=state, elbo_curve=curve, n_iter=n_iter, converged=converged)


# ---------------------------------------------------------------------------
# New rows: fold-in with the factors fixed.
# ---------------------------------------------------------------------------


def embed_rows(
    X, F, F2, priors, design, *, noise, tau, max_iter, tol=1e-8, row_elbo=False
):
    """Posterior-mean loadings of new rows with the factors held fixed.

    Coordinate ascent over the factors for each row (each step raises the
    row's ELBO); a row stops once its loadings move by less than ``tol``
    relative to their scale, so every row is processed independently of the
    others.  With ``noise="row"`` each row's precision is re-estimated too.

    Returns the loadings and, if ``row_elbo``, each row's ELBO: the
    mean-field lower bound on ``log p(x_i | F, g, tau)``, exact for one
    factor.
    """
    n, K = X.shape[0], F.shape[1]
    tau0, tau_r_fit, tau_c = tau
    observed = ~np.isnan(X)
    Z = observed.astype(np.float64)
    R = np.where(observed, X, 0.0)
    if noise == "row":
        tau_r = np.full(n, np.mean(tau_r_fit))
    else:
        tau_r = np.ones(n)
    n_obs = observed.sum(axis=1).astype(np.float64)
    L = np.zeros((n, K))
    L2 = np.zeros((n, K))
    neg_kl = np.zeros((n, K))
    active = np.arange(n) if K else np.arange(0)
    for _ in range(max_iter):
        if active.size == 0:
            break
        Ra, Za, La, L2a = R[active], Z[active], L[active], L2[active]
        before = La.copy()
        for k in range(K):
            wk = tau_c * F[:, k]
            numerator = Ra @ wk + La[:, k] * (Za @ (wk * F[:, k]))
            denominator = Za @ (tau_c * F2[:, k])
            precision = tau0 * tau_r[active] * denominator
            has_data = precision > 0
            s = np.full(active.size, np.inf)
            x = np.zeros(active.size)
            s[has_data] = 1.0 / np.sqrt(precision[has_data])
            x[has_data] = numerator[has_data] / denominator[has_data]
            mean, mean2, loglik = posterior_moments(x, s, priors[k], design[active])
            Ra -= np.outer(mean - La[:, k], F[:, k]) * Za
            La[:, k], L2a[:, k] = mean, mean2
            nk = np.zeros(active.size)
            so, xo = s[has_data], x[has_data]
            nk[has_data] = loglik[has_data] + 0.5 * (
                _LOG_2PI
                + np.log(so**2)
                + (mean2[has_data] - 2 * xo * mean[has_data] + xo**2) / so**2
            )
            neg_kl[active, k] = nk
        if noise == "row":
            S = np.einsum("ij,ij->i", Ra, Ra)
            S += np.sum(L2a * (Za @ F2) - La**2 * (Za @ F**2), axis=1)
            tau_r[active] = n_obs[active] / np.maximum(S, _TINY)
        R[active], L[active], L2[active] = Ra, La, L2a
        change = np.max(np.abs(La - before), axis=1)
        scale = np.max(np.abs(La), axis=1)
        active = active[change > tol * scale]
    if not row_elbo:
        return L
    if noise == "row" and K == 0:
        S = np.einsum("ij,ij->i", R, R)
        tau_r = n_obs / np.maximum(S, _TINY)
    weighted_sq = (R**2 * Z) @ tau_c
    if K:
        weighted_sq += np.sum(
            L2 * (Z @ (tau_c[:, None] * F2)) - L**2 * (Z @ (tau_c[:, None] * F**2)),
            axis=1,
        )
    tau_row = tau0 * tau_r
    loglik = -0.5 * (
        n_obs * (_LOG_2PI - np.log(tau_row)) - Z @ np.log(tau_c) + tau_row * weighted_sq
    )
    return L, loglik + neg_kl.sum(axis=1), n_obs
