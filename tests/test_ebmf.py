"""CEBMF and its EBNM solvers: the behaviour the EBMF and cEBMF papers claim."""

import warnings

import numpy as np
import pytest
import sklearn
from scipy.integrate import quad
from scipy.optimize import check_grad
from scipy.stats import norm
from sklearn.decomposition import FactorAnalysis, TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_lowrank import CEBMF
from sklearn_lowrank._metrics import rmse
from sklearn_lowrank.datasets import make_large_sparse_factors, make_tiling_covariates
from sklearn_lowrank.ebmf._cebnm import CovariateBasis, cebnm
from sklearn_lowrank.ebmf._ebnm import (
    FAMILIES,
    MixturePrior,
    _pack,
    _PenalisedMarginal,
    ebnm,
    posterior_moments,
    prior_weights,
)


def _reconstruction(est):
    return est.loadings_ @ est.components_


# ---------------------------------------------------------------------------
# EBNM solvers
# ---------------------------------------------------------------------------


def _density(prior, t):
    """Non-null part of the prior density (weights included) at t."""
    w = prior_weights(prior, np.ones((1, 1)))[0]
    if prior.family == "point_normal":
        return w[1] * norm.pdf(t, 0, np.exp(prior.theta[0] / 2))
    if prior.family == "point_laplace":
        a = np.exp(prior.theta[0])
        return w[1] * a / 2 * np.exp(-a * abs(t))
    return sum(w[k] * norm.pdf(t, 0, prior.grid[k]) for k in range(1, w.size))


PRIORS = [
    MixturePrior("point_normal", np.array([[0.0, -0.4]]), np.array([np.log(4.0)])),
    MixturePrior("point_laplace", np.array([[0.0, 0.3]]), np.array([np.log(0.7)])),
    MixturePrior(
        "ash",
        np.array([[0.0, 0.5, -1.0, 0.2]]),
        np.zeros(0),
        grid=np.array([0.0, 0.5, 1.0, 3.0]),
    ),
]


@pytest.mark.parametrize("prior", PRIORS, ids=lambda p: p.family)
def test_posterior_moments_match_numerical_integration(prior):
    x = np.array([-6.0, 0.1, 2.5])
    s = np.array([1.0, 2.0, 0.5])
    mean, mean2, loglik = posterior_moments(x, s, prior, np.ones((x.size, 1)))
    null_weight = prior_weights(prior, np.ones((1, 1)))[0, 0]
    for i in range(x.size):

        def integral(power, i=i):
            def integrand(t):
                return t**power * norm.pdf(x[i], t, s[i]) * _density(prior, t)

            return quad(integrand, -40, 40, points=[0.0, x[i]], limit=100)[0]

        evidence = null_weight * norm.pdf(x[i], 0, s[i]) + integral(0)
        np.testing.assert_allclose(loglik[i], np.log(evidence), rtol=1e-7)
        np.testing.assert_allclose(mean[i], integral(1) / evidence, atol=1e-7)
        np.testing.assert_allclose(mean2[i], integral(2) / evidence, atol=1e-7)


def test_laplace_moments_are_stable_far_in_the_tails():
    # A huge observation with a tiny error: the posterior mean is x - s^2 a
    # (the positive truncated piece is essentially untruncated), and the
    # negative piece's moments come from the asymptotic series.
    prior = PRIORS[1]
    a = np.exp(prior.theta[0])
    x, s = np.array([80.0, -80.0]), np.array([0.5, 0.5])
    mean, mean2, loglik = posterior_moments(x, s, prior, np.ones((2, 1)))
    np.testing.assert_allclose(mean, [80 - 0.25 * a, -(80 - 0.25 * a)], rtol=1e-10)
    np.testing.assert_allclose(mean2 - mean**2, 0.25, rtol=1e-6)
    assert np.all(np.isfinite(loglik))


def _spike_and_normal_sample(seed, n=10_000, pi0=0.7, scale=2.0):
    rng = np.random.default_rng(seed)
    theta = np.where(rng.random(n) < pi0, 0.0, rng.normal(0.0, scale, n))
    return theta, theta + rng.standard_normal(n)


def test_point_normal_recovers_its_prior():
    theta, x = _spike_and_normal_sample(0)
    result = ebnm(x, 1.0, "point_normal")
    pi0 = prior_weights(result.prior, np.ones((1, 1)))[0, 0]
    assert abs(pi0 - 0.7) < 0.03
    assert abs(np.exp(result.prior.theta[0] / 2) - 2.0) < 0.1
    # The posterior mean beats the raw observations.
    assert rmse(result.mean, theta) < 0.8 * rmse(x, theta)


def test_point_laplace_recovers_its_prior():
    rng = np.random.default_rng(1)
    n = 10_000
    theta = np.where(rng.random(n) < 0.5, 0.0, rng.laplace(0.0, 1 / 0.5, n))
    x = theta + rng.standard_normal(n)
    result = ebnm(x, 1.0, "point_laplace")
    pi0 = prior_weights(result.prior, np.ones((1, 1)))[0, 0]
    assert abs(pi0 - 0.5) < 0.05
    assert abs(np.exp(result.prior.theta[0]) - 0.5) < 0.05


def test_ash_recovers_null_proportion_and_variance():
    _, x = _spike_and_normal_sample(2)
    result = ebnm(x, 1.0, "ash")
    w = prior_weights(result.prior, np.ones((1, 1)))[0]
    # The null component plus grid points far below the noise level are
    # indistinguishable from the point mass.
    assert abs(w[result.prior.grid < 0.3].sum() - 0.7) < 0.05
    assert abs(w @ result.prior.grid**2 - 0.3 * 4.0) < 0.15
    # ash is at least as good as point-normal in likelihood (it nests it
    # up to the grid).
    pn = ebnm(x, 1.0, "point_normal")
    assert result.log_likelihood > pn.log_likelihood - 5.0


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_penalised_marginal_gradient_is_exact(family):
    rng = np.random.default_rng(3)
    n = 50
    x, s = rng.normal(0, 2, n), rng.uniform(0.5, 1.5, n)
    design = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    grid = np.array([0.0, 0.5, 1.0, 2.0]) if family == "ash" else None
    fam = FAMILIES[family]
    objective = _PenalisedMarginal(x, s, design, fam, grid, alpha=0.7)
    coef = rng.normal(size=(3, fam.n_components(grid)))
    coef[:, 0] = 0
    theta = rng.normal(size=fam.n_theta) * 0.3
    params = _pack(coef, theta)
    err = check_grad(
        lambda p: objective(p)[0], lambda p: objective(p)[1], params, epsilon=1e-6
    )
    assert err < 1e-4 * (1 + np.linalg.norm(objective(params)[1]))


def test_cebnm_learns_covariate_dependent_null_weight():
    rng = np.random.default_rng(4)
    n = 5000
    z = rng.uniform(-1, 1, size=(n, 1))
    pi0 = 1 / (1 + np.exp(-4 * z[:, 0]))  # null weight rises with z
    theta = np.where(rng.random(n) < pi0, 0.0, rng.normal(0, 3, n))
    x = theta + rng.standard_normal(n)
    design = CovariateBasis("linear").fit(z).transform(z)
    moderated = cebnm(x, np.ones(n), "point_normal", design, alpha=1.0)
    fitted_pi0 = prior_weights(moderated.prior, design)[:, 0]
    assert np.max(np.abs(fitted_pi0 - pi0)) < 0.12
    plain = ebnm(x, 1.0, "point_normal")
    assert moderated.log_likelihood > plain.log_likelihood + 50
    assert rmse(moderated.mean, theta) < rmse(plain.mean, theta)


def test_ebnm_null_data_gives_null_prior():
    x = np.random.default_rng(5).standard_normal(2000) * 0.5
    result = ebnm(x, 1.0, "point_normal")
    assert result.prior.is_null
    np.testing.assert_array_equal(result.mean, 0.0)


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiling():
    return make_tiling_covariates(500, 100, noise=2.0, random_state=0)


@pytest.fixture(scope="module")
def tiling_fits(tiling):
    """EBMF and cEBMF fitted once on the tiling data, shared by several tests."""
    X, _, coords, _, _ = tiling
    ebmf = CEBMF(n_components=4, random_state=0).fit(X)
    cebmf = CEBMF(n_components=4, random_state=0).fit(X, row_covariates=coords)
    return ebmf, cebmf


@pytest.mark.parametrize(
    "prior, noise, covariates, missing",
    [
        ("point_normal", "constant", False, False),
        ("point_laplace", "row", True, False),
        ("ash", "column", True, True),
        (("point_normal", "ash"), "constant", True, True),
    ],
)
def test_elbo_never_decreases(prior, noise, covariates, missing):
    X, _, coords, _, _ = make_tiling_covariates(100, 30, noise=1.0, random_state=1)
    if missing:
        X = X.copy()
        X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    est = CEBMF(n_components=3, prior=prior, noise=noise, random_state=0)
    est.fit(X, row_covariates=coords if covariates else None)
    curve = est.elbo_curve_
    assert curve.size > 3 and np.all(np.isfinite(curve))
    assert np.all(np.diff(curve) >= -1e-8 * np.abs(curve[1:])), np.diff(curve).min()
    assert est.elbo_ == curve[-1]


def test_informative_covariates_beat_ebmf_svd_and_fa(tiling, tiling_fits):
    X, signal, coords, _, _ = tiling
    ebmf, cebmf = tiling_fits
    svd = TruncatedSVD(3, random_state=0).fit(X)
    fa = FactorAnalysis(3, random_state=0).fit(X)
    err = {
        "cebmf": rmse(_reconstruction(cebmf), signal),
        "ebmf": rmse(_reconstruction(ebmf), signal),
        "svd": rmse(svd.inverse_transform(svd.transform(X)), signal),
        "fa": rmse(fa.transform(X) @ fa.components_ + fa.mean_, signal),
    }
    # Measured: cebmf 0.244, ebmf 0.304, fa 0.315, svd 0.405.
    assert err["cebmf"] < 0.9 * err["ebmf"], err
    assert err["ebmf"] < err["svd"] and err["cebmf"] < 0.9 * err["fa"], err
    assert cebmf.n_components_ == 3 and ebmf.n_components_ == 3


def test_uninformative_covariates_cost_little(tiling, tiling_fits):
    X, signal, _, _, _ = tiling
    noise_covariates = np.random.default_rng(0).uniform(size=(X.shape[0], 2))
    ebmf = tiling_fits[0]
    cebmf = CEBMF(n_components=4, random_state=0).fit(
        X, row_covariates=noise_covariates
    )
    assert rmse(_reconstruction(cebmf), signal) <= 1.05 * rmse(
        _reconstruction(ebmf), signal
    )


def test_missing_entries_are_predicted():
    X, signal, coords, _, _ = make_tiling_covariates(300, 80, noise=1.0, random_state=2)
    hidden = np.random.default_rng(1).random(X.shape) < 0.2
    X_missing = np.where(hidden, np.nan, X)
    est = CEBMF(n_components=4, random_state=0).fit(X_missing, row_covariates=coords)
    fitted = _reconstruction(est)
    assert np.all(np.isfinite(fitted))
    held_out = rmse(fitted[hidden], signal[hidden])
    # Baseline: SVD of the column-mean imputed matrix.
    imputed = np.where(hidden, np.nanmean(X_missing, axis=0), X_missing)
    svd = TruncatedSVD(3, random_state=0).fit(imputed)
    svd_fit = svd.inverse_transform(svd.transform(imputed))
    svd_err = rmse(svd_fit[hidden], signal[hidden])
    # Measured: 0.206 vs 0.255.
    assert held_out < 0.9 * svd_err, (held_out, svd_err)


def test_extra_components_shrink_to_zero_and_noise_gives_none(capsys):
    rng = np.random.default_rng(3)
    L = rng.standard_normal((200, 2)) * (rng.random((200, 2)) < 0.5)
    F = rng.standard_normal((60, 2))
    X = L @ F.T + 0.5 * rng.standard_normal((200, 60))
    est = CEBMF(n_components=6, random_state=0).fit(X)
    assert est.n_components_ == 2
    noise_only = CEBMF(n_components=3, random_state=0, verbose=1).fit(
        rng.standard_normal((100, 30))
    )
    assert noise_only.n_components_ == 0
    out = capsys.readouterr().out
    assert "does not raise the ELBO" in out
    assert all(line.startswith("[CEBMF] ") for line in out.splitlines()), out
    out = noise_only.transform(rng.standard_normal((5, 30)))
    assert out.shape == (5, 0) and not np.isnan(out).any()


def test_transform_reproduces_training_loadings_and_uses_covariates(
    tiling, tiling_fits
):
    X, signal, coords, _, _ = tiling
    est = tiling_fits[1]
    with_cov = est.transform(X, row_covariates=coords)
    # Same fixed point up to the backfitting tolerance (measured 3e-3).
    np.testing.assert_allclose(with_cov, est.loadings_, atol=1e-2)
    # Without covariates the population-average prior is used: about the
    # accuracy of plain EBMF (measured 0.303 vs 0.244 with covariates, SVD
    # 0.405), so the covariates also help on new rows.
    without = est.transform(X)
    err_with = rmse(est.inverse_transform(with_cov), signal)
    err_without = rmse(est.inverse_transform(without), signal)
    assert err_with < 0.9 * err_without < 0.9 * 0.36
    # New rows are processed one by one: a subset gives the same rows.
    np.testing.assert_allclose(
        est.transform(X[:7], row_covariates=coords[:7]), with_cov[:7], atol=1e-12
    )


def test_column_covariates_moderate_factor_priors():
    X, _, _, _, F = make_tiling_covariates(200, 60, noise=1.0, random_state=3)
    column_cov = (F[:, 1] != 0).astype(float)[:, None]  # informative
    est = CEBMF(n_components=4, column_covariates=column_cov, random_state=0).fit(X)
    coefs = [g.coef for g in est.factors_priors_]
    assert all(c.shape[0] > 1 for c in coefs)
    with pytest.raises(ValueError, match="column_covariates has 59 rows"):
        CEBMF(column_covariates=column_cov[:59]).fit(X)


def test_metadata_routing_pipeline_and_grid_search(tiling):
    X, _, coords, _, _ = make_tiling_covariates(240, 60, noise=1.0, random_state=6)
    with sklearn.config_context(enable_metadata_routing=True):
        est = CEBMF(n_components=3, max_iter=30, tol=1e-4, random_state=0)
        est.set_fit_request(row_covariates=True).set_score_request(row_covariates=True)
        pipe = make_pipeline(est).fit(X, row_covariates=coords)
        priors = pipe[-1].loadings_priors_
        assert all(g.coef.shape[0] > 1 for g in priors)  # covariates arrived

        # No scoring: CEBMF.score (held-out log-likelihood per entry).
        search = GridSearchCV(est, {"n_components": [1, 3]}, cv=3)
        search.fit(X, row_covariates=coords)
        # The tiling data have three factors: one is clearly worse.
        scores = search.cv_results_["mean_test_score"]
        assert search.best_params_["n_components"] == 3, scores
        assert scores[1] > scores[0] + 0.01, scores
        assert all(g.coef.shape[0] > 1 for g in search.best_estimator_.loadings_priors_)


def _planted(n_rows, n_cols, rank, seed, noise=1.0):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((n_rows, rank)) * (rng.random((n_rows, rank)) < 0.5)
    F = rng.standard_normal((n_cols, rank)) * 1.5
    return L @ F.T + noise * rng.standard_normal((n_rows, n_cols))


def test_grid_search_without_scoring_picks_the_planted_rank():
    X = _planted(240, 40, 3, seed=6)
    search = GridSearchCV(CEBMF(random_state=0), {"n_components": [1, 3, 5]}, cv=3).fit(
        X
    )
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["n_components"] >= 3, scores
    # One factor explains much less of held-out rows; five find the same
    # three factors (the extra ones are dropped), so score about the same.
    assert scores[1] > scores[0] + 0.05, scores
    assert abs(scores[2] - scores[1]) < 0.01, scores
    assert search.best_estimator_.n_components_ == 3


def test_score_is_a_held_out_likelihood():
    X = _planted(400, 40, 3, seed=7)
    train, test = X[:300], X[300:]
    est = CEBMF(random_state=0).fit(train)
    # Rows of the same model score about as well as training rows; the same
    # values with the columns shuffled (no shared factors) score far lower.
    shuffled = np.random.default_rng(0).permuted(test, axis=1)
    assert abs(est.score(test) - est.score(train)) < 0.1
    assert est.score(shuffled) < est.score(test) - 0.3
    # Per observed entry: missing entries are left out, not counted as zero.
    holes = test.copy()
    holes[:, ::2] = np.nan
    assert abs(est.score(holes) - est.score(test)) < 0.1
    # Scale: log-likelihood densities shift by -log(c) per entry.
    big = CEBMF(random_state=0).fit(train * 1e3)
    np.testing.assert_allclose(
        big.score(test * 1e3), est.score(test) - np.log(1e3), rtol=1e-6
    )


def test_score_with_one_factor_is_the_exact_marginal_likelihood():
    # One factor: the fold-in posterior is exact, so the score is the exact
    # log-likelihood of the row under the fitted point-normal prior,
    # pi0 N(x; 0, v I) + (1 - pi0) N(x; 0, sigma^2 f f^T + v I).
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(8)
    f = rng.standard_normal(15) * 2
    loadings = rng.standard_normal(300) * (rng.random(300) < 0.4)
    X = np.outer(loadings, f) + rng.standard_normal((300, 15))
    est = CEBMF(n_components=1, random_state=0).fit(X[:250])
    assert est.n_components_ == 1
    prior = est.loadings_priors_[0]
    pi0 = prior_weights(prior, np.ones((1, 1)))[0, 0]
    sigma2 = np.exp(prior.theta[0])
    v = est.noise_variance_[0]
    F = est.components_[0]
    new = X[250:]
    null = multivariate_normal(np.zeros(15), v * np.eye(15)).logpdf(new)
    slab = multivariate_normal(
        np.zeros(15), sigma2 * np.outer(F, F) + v * np.eye(15)
    ).logpdf(new)
    exact = np.logaddexp(np.log(pi0) + null, np.log1p(-pi0) + slab)
    np.testing.assert_allclose(est.score(new), exact.sum() / new.size, rtol=1e-6)


def test_convergence_warning_when_max_iter_is_hit():
    X, *_ = make_tiling_covariates(120, 30, noise=1.0, random_state=4)
    with pytest.warns(
        ConvergenceWarning, match="CEBMF did not converge: stopped after 1 "
    ):
        est = CEBMF(n_components=3, max_iter=1, tol=0.0, random_state=0).fit(X)
    assert est.n_iter_ == 1


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_bad_input_is_named():
    X, _, coords, _, _ = make_tiling_covariates(60, 20, noise=1.0, random_state=5)
    est = CEBMF(n_components=2, random_state=0)
    with pytest.raises(ValueError, match="row_covariates has 59 rows but X has 60"):
        est.fit(X, row_covariates=coords[:59])
    bad = coords.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="row_covariates contains NaN"):
        est.fit(X, row_covariates=bad)
    empty_row = X.copy()
    empty_row[4] = np.nan
    with pytest.raises(ValueError, match=r"1 rows with no observed entry.*rows \[4\]"):
        est.fit(empty_row)
    empty_col = X.copy()
    empty_col[:, 7] = np.nan
    with pytest.raises(ValueError, match=r"no observed entry.*columns \[7\]"):
        est.fit(empty_col)
    with pytest.raises(ValueError, match="n_components"):
        CEBMF(n_components=0).fit(X)
    with pytest.raises(ValueError, match="prior must be one of"):
        CEBMF(prior=("point_normal", "cauchy")).fit(X)
    with pytest.raises(ValueError, match="contains infinity"):
        est.fit(np.where(X > 2, np.inf, X))
    est.fit(X, row_covariates=coords)
    with pytest.raises(ValueError, match="row_covariates has 3 rows but X has 60"):
        est.transform(X, row_covariates=coords[:3])
    with pytest.raises(ValueError, match="inverse_transform expects"):
        est.inverse_transform(np.ones((4, est.n_components_ + 1)))


# ---------------------------------------------------------------------------
# Scale, sparse input, degenerate input, the solver's residual backends
# ---------------------------------------------------------------------------


def test_sparse_input_equals_dense_and_is_not_densified(monkeypatch):
    import scipy.sparse as sp

    rng = np.random.default_rng(9)
    X = _planted(150, 50, 2, seed=9)
    X[rng.random(X.shape) < 0.6] = 0.0  # mostly zeros, as counts data
    dense = CEBMF(random_state=0, noise="row").fit(X)

    def no_toarray(self, *args, **kwargs):
        raise AssertionError("densified")

    for fmt in ("csr", "csc"):
        Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
        with monkeypatch.context() as m:
            m.setattr(type(Xs), "toarray", no_toarray)
            sparse = CEBMF(random_state=0, noise="row").fit(Xs)
        assert sparse.n_components_ == dense.n_components_ == 2
        np.testing.assert_allclose(sparse.elbo_, dense.elbo_, rtol=1e-9)
        np.testing.assert_allclose(
            sparse.components_, dense.components_, rtol=1e-6, atol=1e-8
        )
        np.testing.assert_allclose(sparse.transform(Xs), dense.transform(X), atol=1e-8)
        np.testing.assert_allclose(sparse.score(Xs), dense.score(X), rtol=1e-9)


def test_sparse_input_with_missing_entries_is_densified_with_a_warning():
    import scipy.sparse as sp

    X = _planted(80, 20, 2, seed=10)
    X[3, 4] = np.nan
    with pytest.warns(UserWarning, match="CEBMF: X is sparse and stores 1 NaN"):
        sparse = CEBMF(random_state=0).fit(sp.csr_matrix(X))
    dense = CEBMF(random_state=0).fit(X)
    np.testing.assert_allclose(sparse.elbo_, dense.elbo_, rtol=1e-12)


@pytest.mark.parametrize("noise", ["constant", "row", "column"])
def test_implicit_residual_matches_the_explicit_one(noise):
    # The complete-data solver never forms X - L F^T; the masked one keeps it
    # explicitly.  Without missing entries they are the same algorithm.
    from sklearn_lowrank.ebmf import _flash

    X = _planted(120, 30, 3, seed=11)
    fits = []
    for missing in (False, True):
        result = _flash.fit_ebmf(
            _flash.make_data(X, 1.0, missing=missing),
            n_components=5,
            priors=("point_normal", "point_laplace"),
            designs=(np.ones((120, 1)), np.ones((30, 1))),
            alpha=1.0,
            noise=noise,
            max_iter=50,
            tol=1e-8,
            rng=np.random.RandomState(0),
        )
        fits.append(result)
    a, b = fits
    assert a["state"].K == b["state"].K == 3
    np.testing.assert_allclose(a["elbo_curve"], b["elbo_curve"], rtol=1e-10)
    np.testing.assert_allclose(a["state"].L, b["state"].L, atol=1e-8)


def test_converges_in_tens_of_sweeps_without_max_iter():
    # Sparse loadings and factors (the single-cell-like case of the
    # benchmark): the extrapolated sweeps reach tol in a few dozen.
    X, L, F = make_large_sparse_factors(2000, 300, 6, density=0.3, random_state=0)
    est = CEBMF(n_components=10, random_state=0).fit(X)
    assert est.n_components_ == 6
    assert est.n_iter_ <= 40, est.n_iter_
    assert np.all(np.diff(est.elbo_curve_) >= -1e-8 * np.abs(est.elbo_curve_[1:]))


@pytest.mark.parametrize("scale", [1e-150, 1e150, 1e-160, 1e160])
def test_scale_equivariance(scale, tiling_fits, tiling):
    X, _, coords, _, _ = tiling
    base = tiling_fits[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaled = CEBMF(n_components=4, random_state=0).fit(X * scale)
    assert scaled.n_components_ == base.n_components_ == 3
    np.testing.assert_allclose(
        scaled.loadings_ @ scaled.components_,
        (base.loadings_ @ base.components_) * scale,
        rtol=1e-4,
        atol=1e-4 * scale,
    )
    np.testing.assert_allclose(
        scaled.elbo_, base.elbo_ - X.size * np.log(scale), rtol=1e-8
    )
    np.testing.assert_allclose(
        scaled.transform(X[:5] * scale),
        base.transform(X[:5]) * np.sqrt(scale),
        rtol=1e-4,
        atol=1e-4 * np.sqrt(scale),
    )
    if scale > 1e154:
        # The variance (1e320) is not a float64: said so, not silently.
        assert np.isinf(scaled.noise_variance_).all()
        assert any("noise variance exceeds" in str(w.message) for w in caught)
    else:
        assert not caught, [str(w.message) for w in caught]
        # 1e-320 is subnormal: only ~4 significant digits exist.
        rtol = 1e-6 if scale > 1e-154 else 1e-3
        np.testing.assert_allclose(
            scaled.noise_variance_, base.noise_variance_ * scale**2, rtol=rtol
        )


@pytest.mark.parametrize("kind", ["noise", "zeros"])
def test_rank_zero_fit_is_a_valid_result(kind):
    rng = np.random.default_rng(13)
    X = rng.standard_normal((100, 30)) if kind == "noise" else np.zeros((100, 30))
    with pytest.warns(UserWarning, match="CEBMF: no factor was kept"):
        est = CEBMF(n_components=3, random_state=0).fit(X)
    assert est.n_components_ == 0 and np.isfinite(est.elbo_)
    assert est.components_.shape == (0, 30) and est.loadings_.shape == (100, 0)
    assert est.transform(X[:4]).shape == (4, 0)
    assert est.get_feature_names_out().shape == (0,)
    assert np.isfinite(est.score(X)) and np.all(np.isfinite(est.noise_variance_))
    if kind == "noise":
        # The null model: the noise variance is the mean square of X and the
        # ELBO is the Gaussian log-likelihood at it.
        v = np.mean(X**2)
        np.testing.assert_allclose(est.noise_variance_, v, rtol=1e-12)
        np.testing.assert_allclose(
            est.elbo_, -0.5 * X.size * (np.log(2 * np.pi * v) + 1), rtol=1e-12
        )
    else:
        assert est.noise_variance_[0] < 1e-300


def test_covariate_basis_uses_the_estimators_random_state(tiling):
    X, _, coords, _, _ = tiling
    designs = [
        CovariateBasis("rbf", random_state=np.random.RandomState(seed))
        .fit(coords)
        .transform(coords)
        for seed in (0, 0, 1)
    ]
    np.testing.assert_array_equal(designs[0], designs[1])
    assert not np.allclose(designs[0], designs[2])
