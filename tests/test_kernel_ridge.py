"""NystromKRR does what Calandriello, Lazaric and Valko (UAI 2016) claim.

- with a budget m << n, the test error is that of exact kernel ridge;
- the leverage-score estimates are within the paper's multiplicative accuracy
  ``tau / a <= tau_est <= tau``, ``a = (1 + eps) / (1 - eps)``;
- on inputs with clusters of very different sizes, INK-ESTIMATE beats uniform
  Nyström sampling at the same number of landmarks;
- partial_fit over batches keeps the guarantees of fit.
"""

from contextlib import contextmanager

import numpy as np
import pytest
from sklearn.datasets import make_friedman1
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from sklearn_lowrank import NystromKRR
from sklearn_lowrank.datasets import make_clustered_regression
from sklearn_lowrank.kernel_ridge import _ink, _nystrom
from sklearn_lowrank.kernel_ridge._ink import (
    _admit_new_points,
    _Dictionary,
    _ink_scores,
    _next_chunk_length,
    _reservoir_step,
    _sketch_cholesky,
)
from sklearn_lowrank.kernel_ridge._nystrom import (
    _rbf_kernel,
    _solve_whitened,
    _whitened_normal_equations,
    _whitening_factor,
)


def _rmse(pred, target):
    return float(np.sqrt(np.mean((pred - target) ** 2)))


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(4000, n_features=5, noise=0.5, random_state=0)
    with threadpool_limits(limits=1, user_api="blas"):
        exact = KernelRidge(alpha=1e-2, kernel="rbf", gamma=1.0)
        exact.fit(X[:3000], y[:3000])
    return X[:3000], y[:3000], X[3000:], y[3000:], exact.predict(X[3000:])


# A single BLAS thread: these fits are many small factorizations, which is
# fastest single-threaded on a loaded shared machine; results do not depend
# on it.
pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.mark.parametrize("sampling", ["ink_estimate", "uniform"])
def test_test_error_within_5_percent_of_exact_kernel_ridge(friedman, sampling):
    X, y, X_test, y_test, exact_pred = friedman
    model = NystromKRR(
        n_components=300, alpha=1e-2, gamma=1.0, sampling=sampling, random_state=0
    ).fit(X, y)
    assert model.n_components_ <= 300  # m << n = 3000
    exact_rmse = _rmse(exact_pred, y_test)
    assert _rmse(model.predict(X_test), y_test) <= 1.05 * exact_rmse


def test_all_landmarks_reproduce_exact_kernel_ridge():
    # With every training point in the dictionary the Nyström problem *is*
    # the KernelRidge problem: the solver must return the same function.
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(150, 2))
    y = np.column_stack([np.sin(X[:, 0]), np.cos(X.sum(axis=1))])
    exact = KernelRidge(alpha=0.1, kernel="rbf", gamma=0.5).fit(X, y)
    model = NystromKRR(150, alpha=0.1, gamma=0.5, sampling="uniform").fit(X, y)
    np.testing.assert_allclose(model.predict(X), exact.predict(X), atol=1e-8)
    # ... and so must partial_fit over batches: earlier batches are mapped to
    # the grown dictionary exactly because their points are in it.
    streamed = NystromKRR(150, alpha=0.1, gamma=0.5, sampling="uniform")
    for rows in np.array_split(np.arange(150), 3):
        streamed.partial_fit(X[rows], y[rows])
    np.testing.assert_allclose(streamed.predict(X), exact.predict(X), atol=1e-8)


def test_whitened_solver_solves_the_nystrom_normal_equations():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((200, 3))
    y = rng.standard_normal(200)
    landmarks = X[:25]
    C = rbf_kernel(X, landmarks, gamma=0.3)
    W = rbf_kernel(landmarks, gamma=0.3)
    R = _whitening_factor(W)
    gram, rhs = _whitened_normal_equations(
        lambda A, B: rbf_kernel(A, B, gamma=0.3), X, y, landmarks, R
    )
    coef = _solve_whitened(gram, rhs, R, alpha=0.5)
    expected = np.linalg.solve(C.T @ C + 0.5 * W, C.T @ y)
    np.testing.assert_allclose(C @ coef, C @ expected, rtol=1e-8, atol=1e-10)


def test_new_point_score_with_empty_dictionary_is_the_exact_one():
    # A lone point has RLS k / (k + gamma); INK scales it by (1 - eps).
    _, tau = _ink_scores(
        np.zeros((0, 0)), np.zeros(0), 0.5, 0.2, np.zeros((0, 3)), np.ones(3)
    )
    np.testing.assert_allclose(tau, 0.8 * 1 / 1.5)
    # A dictionary point is scored like a new point scored against the rest:
    # for a single point of weight 1 both give (1 - eps) k / (k + gamma).
    tau_dict, tau_new = _ink_scores(
        np.array([[2.0]]), np.ones(1), 0.5, 0.2, np.zeros((1, 1)), np.array([2.0])
    )
    np.testing.assert_allclose(tau_dict, 0.8 * 2 / 2.5)
    # A new point orthogonal to the dictionary (k(D, x) = 0) sees nothing of
    # it: its score is that of a lone point, the same value.
    np.testing.assert_allclose(tau_new, 0.8 * 2 / 2.5)
    # ... and a new point equal to the dictionary point (k(D, x) = k(x, x))
    # is explained by it: its score drops (to a / (1 + a), a = residual / gamma).
    _, tau_same = _ink_scores(
        np.array([[2.0]]), np.ones(1), 0.5, 0.2, np.array([[2.0]]), np.array([2.0])
    )
    residual = 2.0 - 2.0 * 2.0 / 2.5  # k_xx - k^T (K + gamma)^-1 k
    a = residual / 0.5
    np.testing.assert_allclose(tau_same, 0.8 * a / (1 + a))


def _weighted_dictionary_and_stream(seed, n_dict, n_bulk, n_far, far):
    """A weighted rbf dictionary, and new points: a bulk plus a far cluster."""
    rng = np.random.RandomState(seed)
    D = rng.randn(n_dict, 3)
    X = np.vstack([rng.randn(n_bulk, 3), 0.1 * rng.randn(n_far, 3) + far])
    gram, cross = rbf_kernel(D, D, gamma=0.5), rbf_kernel(D, X, gamma=0.5)
    return rng, D, X, gram, cross, rng.uniform(1, 20, n_dict)


def test_early_rejection_draws_the_papers_binomial_copies():
    # _admit_new_points stops scoring a point once its rejection is certain;
    # the admitted points must carry the exact score and the copies must be
    # Binomial(q_bar, tau) on the full scores (here: their mean, per point).
    rng, _, _, gram, cross, weights = _weighted_dictionary_and_stream(
        0, 150, 200, 10, 6.0
    )
    ridge, q_bar = 0.05, 4
    _, tau = _ink_scores(gram, weights, ridge, 0.5, cross=cross, diag_new=np.ones(210))
    L, sw = _sketch_cholesky(gram, weights, ridge)
    total, n_draws = np.zeros(210), 800
    for _ in range(n_draws):
        copies, tau_admitted = _admit_new_points(
            L,
            sw,
            cross,
            np.ones(210),
            ridge=ridge,
            epsilon=0.5,
            n_copies=q_bar,
            rng=rng,
        )
        admitted = copies > 0
        np.testing.assert_allclose(tau_admitted[admitted], tau[admitted], rtol=1e-10)
        assert np.all(copies <= q_bar)
        total += copies
    sd = np.sqrt(q_bar * tau * (1 - tau) / n_draws)
    z = np.abs(total / n_draws - q_bar * tau) / np.maximum(sd, 1e-12)
    assert z.max() < 4.5, z.max()
    # The scores span small and large values, so both paths are exercised.
    assert tau.min() < 0.01 and tau.max() > 0.4


def test_in_place_factor_and_lazy_kernel_rows_match_the_plain_computation():
    # _sketch_cholesky factors M in place through LAPACK and _dictionary_scores
    # inverts the factor in place; both must equal the textbook computation.
    _, D, X, gram, cross, weights = _weighted_dictionary_and_stream(
        3, 120, 300, 20, 5.0
    )
    ridge, eps = 0.05, 0.5
    M = np.sqrt(weights)[:, None] * gram * np.sqrt(weights) + ridge * np.eye(120)
    L, sw = _sketch_cholesky(gram, weights, ridge)
    expected = np.linalg.cholesky(M)
    rel = np.linalg.norm(L - expected) / np.linalg.norm(expected)
    assert rel < 1e-10
    assert L.flags.c_contiguous and np.all(np.triu(L, 1) == 0)
    tau_dict = _ink._dictionary_scores(L.copy(), weights, ridge, eps)
    exact = (1 - eps) * (1 - ridge * np.diag(np.linalg.inv(M))) / weights
    np.testing.assert_allclose(tau_dict, np.clip(exact, 0, 1), rtol=1e-10, atol=1e-12)
    # In place on L leaves the same scores.
    in_place = _ink._dictionary_scores(L.copy(), weights, ridge, eps, overwrite=True)
    np.testing.assert_array_equal(in_place, tau_dict)
    # Kernel rows computed on demand give the same draws as the full block.
    requested = []

    def rows_on_demand(rows, cols):
        requested.append((rows.stop - rows.start) * cols.size)
        return rbf_kernel(D[rows], X[cols], gamma=0.5)

    args = dict(ridge=ridge, epsilon=eps, n_copies=4)
    full = _admit_new_points(
        L, sw, cross, np.ones(320), rng=np.random.RandomState(7), **args
    )
    lazy = _admit_new_points(
        L, sw, rows_on_demand, np.ones(320), rng=np.random.RandomState(7), **args
    )
    np.testing.assert_array_equal(lazy[0], full[0])
    np.testing.assert_allclose(lazy[1], full[1], rtol=1e-12)
    assert 0 < (full[0] > 0).sum() < 320
    # Rejected points stop early, so fewer kernel values than the full block.
    assert sum(requested) < cross.size


@pytest.mark.parametrize("seed", [0, 1])
def test_leverage_scores_within_the_papers_multiplicative_accuracy(seed):
    X, y, _, _ = make_clustered_regression(
        500, 2, rare_fraction=0.02, random_state=seed
    )
    eps, ridge = 0.5, 1.0
    # No budget (the paper's self-sized dictionary), so that the ridge stays
    # fixed; q_bar large enough for the dictionary to be an eps-accurate
    # sketch (the theory's condition).
    model = NystromKRR(
        "auto",
        gamma=1.0,
        leverage_ridge=ridge,
        n_copies=64,
        epsilon=eps,
        random_state=seed,
    ).fit(X, y)
    assert model.leverage_ridge_ == ridge
    assert np.all(model.component_copies_ > 0)  # no uniform fill-up
    K = rbf_kernel(X, gamma=1.0)
    exact = np.diag(K @ np.linalg.inv(K + ridge * np.eye(len(K))))
    tau = exact[model.component_indices_]
    a = (1 + eps) / (1 - eps)
    estimate = model.leverage_scores_
    assert np.all(estimate <= tau * (1 + 1e-8))
    assert np.all(estimate >= tau / a * (1 - 1e-8))
    # The weighted dictionary also estimates d_eff = sum of all n scores.
    assert abs(model.effective_dimension_ - exact.sum()) < 0.1 * exact.sum()
    # The dictionary is O(q_bar d_eff), not O(n) ... here well below n.
    assert model.n_components_ < 0.9 * len(X)


@pytest.mark.parametrize("admissions_per_chunk", [None, 100.0])
def test_leverage_scores_stay_within_the_interval_over_long_chunks(
    admissions_per_chunk, monkeypatch
):
    # The points of a chunk are scored against the dictionary before the
    # chunk: over-estimates, so the guarantee must hold whatever the chunk
    # length.  100 admissions per budget point forces the longest chunks the
    # policy allows: here the 1300 points after the first chunk in one go.
    if admissions_per_chunk is not None:
        monkeypatch.setattr(_ink, "_ADMISSIONS_PER_CHUNK", admissions_per_chunk)
    X, y, _, _ = make_clustered_regression(2000, 3, rare_fraction=0.01, random_state=0)
    eps, ridge = 0.5, 30.0
    model = NystromKRR(
        700, gamma=0.5, leverage_ridge=ridge, n_copies=64, epsilon=eps, random_state=0
    ).fit(X, y)
    assert model.leverage_ridge_ == ridge
    assert model.n_iter_ == (2 if admissions_per_chunk else 3)
    K = rbf_kernel(X, gamma=0.5)
    exact = 1 - ridge * np.diag(np.linalg.inv(K + ridge * np.eye(len(K))))
    # The leverage-sampled landmarks (the uniform fill-up has no copies).
    sampled = model.component_copies_ > 0
    tau = exact[model.component_indices_[sampled]]
    a = (1 + eps) / (1 - eps)
    assert np.all(model.leverage_scores_[sampled] <= tau * (1 + 1e-8))
    assert np.all(model.leverage_scores_[sampled] >= tau / a * (1 - 1e-8))
    assert abs(model.effective_dimension_ - exact.sum()) < 0.1 * exact.sum()


def test_chunk_length_follows_the_admission_rate():
    # About max(m, 64) / 2 admissions expected per chunk, at the last rate ...
    assert _next_chunk_length(4000, 39, 100) == 5000
    # ... at least max(m, 64) points (all admitted: the rate is 1) ...
    assert _next_chunk_length(100, 100, 100) == 100
    assert _next_chunk_length(64, 64, 10) == 64
    # ... growing at most 4x per chunk (no admission is not a zero rate) ...
    assert _next_chunk_length(1000, 0, 100) == 4000
    # ... and the admission's m x chunk work array within _BLOCK_BYTES
    # (or 4m points for large budgets, as the uniform sampler's chunks).
    assert _next_chunk_length(10**6, 0, 100) == _nystrom._BLOCK_BYTES // 800
    assert _next_chunk_length(10**6, 0, 5000) == 4 * 5000


def test_dictionary_size_respects_budget_by_growing_the_ridge():
    X, y, _, _ = make_clustered_regression(2000, 3, random_state=0)
    model = NystromKRR(40, alpha=1e-3, gamma=0.5, random_state=0).fit(X, y)
    # Exactly the budget: the leverage-sampled dictionary (<= budget, kept
    # there by growing the ridge), then uniform fill-up landmarks.
    assert model.n_components_ == 40
    sampled = model.component_copies_ > 0
    assert 0.5 * 40 <= sampled.sum() <= 40
    assert np.all(sampled[: sampled.sum()])  # dictionary first, fill after
    assert model.leverage_ridge_ > 0.5 * 1e-3  # grown from epsilon * alpha
    assert len(set(model.component_indices_)) == model.n_components_
    np.testing.assert_array_equal(model.components_, X[model.component_indices_])
    assert np.all(model.sampling_probabilities_ > 0)
    assert np.all(model.sampling_probabilities_ <= 1)
    np.testing.assert_allclose(
        model.component_weights_,
        model.component_copies_ / (4 * model.sampling_probabilities_),
    )


def test_ink_estimate_beats_uniform_on_clusters_of_very_different_sizes():
    # 1% of the points in two small distant clusters: their leverage is high,
    # uniform sampling gives them ~2 landmarks, INK-ESTIMATE several.  The
    # per-seed ratio is noisy, so average 10 seeds: over 30 seeds (both at
    # exactly 200 landmarks) the mean rare-cluster ratio was 0.48 and the
    # 10-seed means 0.38-0.55.
    rare_ratio, overall_ratio = [], []
    for seed in range(10):
        X, y, f, cluster = make_clustered_regression(
            4000, 3, n_rare_clusters=2, rare_fraction=0.01, random_state=seed
        )
        train, test = slice(0, 3000), slice(3000, None)
        rare = cluster[test] > 0
        ink = NystromKRR(200, alpha=1e-2, gamma=0.5, random_state=seed)
        ink.fit(X[train], y[train])
        uniform = NystromKRR(
            ink.n_components_,
            alpha=1e-2,
            gamma=0.5,
            sampling="uniform",
            random_state=seed,
        ).fit(X[train], y[train])
        err_ink = ink.predict(X[test]) - f[test]
        err_uni = uniform.predict(X[test]) - f[test]
        rare_ratio.append(_rmse(err_ink[rare], 0) / _rmse(err_uni[rare], 0))
        overall_ratio.append(_rmse(err_ink, 0) / _rmse(err_uni, 0))
    assert np.mean(rare_ratio) < 0.8, rare_ratio
    assert np.mean(overall_ratio) < 1.0, overall_ratio


@pytest.mark.parametrize("sampling", ["ink_estimate", "uniform"])
def test_partial_fit_over_batches_keeps_the_guarantees_of_fit(friedman, sampling):
    X, y, X_test, y_test, exact_pred = friedman
    params = dict(n_components=300, alpha=1e-2, gamma=1.0, sampling=sampling)
    streamed = NystromKRR(random_state=0, **params)
    for rows in np.array_split(np.arange(len(X)), 6):
        streamed.partial_fit(X[rows], y[rows])
    assert streamed.n_samples_seen_ == len(X)
    assert streamed.n_components_ <= 300
    exact_rmse = _rmse(exact_pred, y_test)
    assert _rmse(streamed.predict(X_test), y_test) <= 1.05 * exact_rmse
    # The dictionary indexes the stream.
    np.testing.assert_array_equal(streamed.components_, X[streamed.component_indices_])


def test_fit_equals_partial_fit_of_one_batch():
    X, y, _, _ = make_clustered_regression(600, 2, random_state=3)
    fitted = NystromKRR(50, alpha=0.1, random_state=4).fit(X, y)
    streamed = NystromKRR(50, alpha=0.1, random_state=4).partial_fit(X, y)
    np.testing.assert_array_equal(
        fitted.component_indices_, streamed.component_indices_
    )
    np.testing.assert_allclose(fitted.predict(X), streamed.predict(X))
    # Refitting starts over rather than continuing the stream.
    np.testing.assert_allclose(fitted.fit(X, y).predict(X), streamed.predict(X))


def test_multi_output_equals_separate_fits():
    # The dictionary does not depend on y, so each column is its own KRR.
    X, y, _, _ = make_clustered_regression(500, 2, random_state=0)
    Y = np.column_stack([y, np.cos(X[:, 0])])
    both = NystromKRR(40, alpha=0.1, random_state=0).fit(X, Y)
    assert both.predict(X).shape == (500, 2)
    assert both.dual_coef_.shape == (both.n_components_, 2)
    for j in range(2):
        single = NystromKRR(40, alpha=0.1, random_state=0).fit(X, Y[:, j])
        np.testing.assert_allclose(both.predict(X)[:, j], single.predict(X))


def test_callable_and_non_stationary_kernels():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * X[:, 0] ** 2

    def poly2(a, b):
        return (a @ b + 1.0) ** 2

    named = NystromKRR(30, alpha=1e-3, kernel="poly", degree=2, gamma=1.0, coef0=1.0)
    custom = NystromKRR(30, alpha=1e-3, kernel=poly2)
    pred_named = named.set_params(random_state=0).fit(X, y).predict(X)
    pred_custom = custom.set_params(random_state=0).fit(X, y).predict(X)
    np.testing.assert_allclose(pred_named, pred_custom, rtol=1e-6, atol=1e-8)
    # A degree-2 polynomial target is in the span of a 10-dim feature space.
    assert _rmse(pred_named, y) < 1e-2 * np.std(y)


def test_bad_input_gives_clear_errors():
    X, y, _, _ = make_clustered_regression(100, 2, random_state=0)
    with pytest.raises(InvalidParameterError, match="n_components"):
        NystromKRR(0).fit(X, y)
    with pytest.warns(UserWarning, match=r"n_components=101 > n_samples=100"):
        assert NystromKRR(101).fit(X, y).n_components_ == 100
    with pytest.raises(InvalidParameterError, match="alpha"):
        NystromKRR(10, alpha=0.0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="alpha"):
        NystromKRR(10, alpha=-1.0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="kernel"):
        NystromKRR(10, kernel="gaussian").fit(X, y)
    with pytest.raises(InvalidParameterError, match="kernel"):
        NystromKRR(10, kernel="precomputed").fit(X, y)
    model = NystromKRR(10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="3 features.*expecting 2 features"):
        model.predict(np.ones((5, 3)))
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NystromKRR(10).fit(X_nan, y)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        NystromKRR(10).fit(X_inf, y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X_nan)
    y_nan = y.copy()
    y_nan[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NystromKRR(10).fit(X, y_nan)
    streamed = NystromKRR(10, random_state=0).partial_fit(X, y)
    with pytest.raises(ValueError, match="targets must not change"):
        streamed.partial_fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="expecting 2 features"):
        streamed.partial_fit(np.ones((5, 3)), np.ones(5))


def test_uniform_reservoir_keeps_every_point_with_equal_probability():
    rng = np.random.RandomState(0)
    X = np.arange(20.0)[:, None]
    counts = np.zeros(20)
    for _ in range(2000):
        d = _Dictionary.empty(1)
        for start in range(0, 20, 6):  # chunks of 6, as partial_fit batches
            rows = np.arange(start, min(start + 6, 20))
            d = _reservoir_step(d, X, rows, rows, start, 5, rng)
        assert d.size == 5 and len(set(d.ids)) == 5
        np.testing.assert_array_equal(d.points[:, 0], d.ids)
        counts[d.ids] += 1
    np.testing.assert_allclose(counts / 2000, 5 / 20, atol=0.04)


def test_fast_rbf_path_matches_sklearn_rbf_kernel():
    rng = np.random.RandomState(0)
    X, Y = rng.standard_normal((50, 4)), rng.standard_normal((30, 4))
    np.testing.assert_allclose(
        _rbf_kernel(X, Y, 0.3), rbf_kernel(X, Y, gamma=0.3), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(np.diag(_rbf_kernel(X, X, 2.0)), 1.0)


def test_fast_rbf_gemm_runs_on_one_blas_thread(monkeypatch):
    # The kernel's tile GEMMs have inner dimension d: two BLAS threads only
    # spin-wait on a busy machine (see the User Guide, "Scaling").
    from sklearn_lowrank import _threads

    budgets = []
    monkeypatch.setattr(_threads, "_fit_probe", budgets.append)
    rng = np.random.RandomState(0)
    with threadpool_limits(limits=2, user_api="blas"):
        _rbf_kernel(rng.standard_normal((40, 3)), rng.standard_normal((20, 3)), 0.5)
    assert budgets == [1]


def test_fast_rbf_threaded_tiles_match_sklearn_on_one_blas_thread_each(monkeypatch):
    # A kernel of many tiles splits them between worker threads, each GEMM
    # still on one BLAS thread; every tile must be filled exactly once.
    from sklearn_lowrank import _threads
    from sklearn_lowrank.kernel_ridge import _nystrom

    budgets, pools = [], []
    monkeypatch.setattr(_threads, "_fit_probe", budgets.append)
    real_workers = _nystrom.blas_workers

    @contextmanager
    def recording_workers():
        with real_workers() as workers:
            pools.append(workers.n_workers)
            yield workers

    monkeypatch.setattr(_nystrom, "blas_workers", recording_workers)
    rng = np.random.RandomState(0)
    X, Y = rng.standard_normal((3001, 4)), rng.standard_normal((400, 4))
    step = _nystrom._RBF_TILE // Y.shape[0]
    assert -(-X.shape[0] // step) >= _nystrom._RBF_PARALLEL_TILES
    with threadpool_limits(limits=2, user_api="blas"):
        K = _rbf_kernel(X, Y, 0.3)
    np.testing.assert_allclose(K, rbf_kernel(X, Y, gamma=0.3), rtol=1e-12, atol=1e-14)
    # The threaded path ran, with two workers, each on one BLAS thread.
    assert pools == [2]
    assert budgets and set(budgets) == {1}


def test_ridge_growth_follows_the_measured_size_response():
    from sklearn_lowrank.kernel_ridge._ink import _MIN_SIZE_RESPONSE, _size_response

    # Halved by doubling the ridge: size ~ ridge^-1.
    assert _size_response(2.0, 100, 50) == pytest.approx(1.0)
    # size ~ ridge^-0.75 exactly.
    assert _size_response(4.0, 400, 400 * 4**-0.75) == pytest.approx(0.75)
    # Slower than the clip, or no shrink at all: the clip.
    assert _size_response(2.0, 100, 95) == _MIN_SIZE_RESPONSE
    assert _size_response(2.0, 100, 100) == _MIN_SIZE_RESPONSE


@pytest.mark.parametrize("n", [1, 4, 11, 64])
def test_binomial_quantile_is_scipys_ppf(n):
    from scipy.stats import binom

    from sklearn_lowrank.kernel_ridge._ink import _binomial_quantile

    rng = np.random.RandomState(n)
    p = np.concatenate([[0.0, 1.0, 1e-12, 1 - 1e-12], rng.uniform(size=2000)])
    u = rng.uniform(1e-9, 1.0, size=p.size)
    np.testing.assert_array_equal(_binomial_quantile(u, n, p), binom.ppf(u, n, p))


def test_budget_is_honoured_exactly_and_auto_sizes_by_leverage():
    X, y, _, _ = make_clustered_regression(3000, 3, random_state=0)
    for sampling in ("ink_estimate", "uniform"):
        model = NystromKRR(150, alpha=1e-2, sampling=sampling, random_state=0)
        assert model.fit(X, y).n_components_ == 150
        assert len(set(model.component_indices_)) == 150
    # "auto": the paper's dictionary, sized by the effective dimension at the
    # ridge epsilon * alpha (never grown): O(q_bar d_eff) points, fewer for a
    # larger ridge.
    small = NystromKRR("auto", alpha=1.0, random_state=0).fit(X, y)
    large = NystromKRR("auto", alpha=1e-2, random_state=0).fit(X, y)
    assert small.leverage_ridge_ == 0.5 and large.leverage_ridge_ == 0.005
    assert np.all(small.component_copies_ > 0)
    assert small.n_components_ < large.n_components_ < len(X)
    assert small.n_components_ <= 4 * 4 * small.effective_dimension_
    with pytest.raises(ValueError, match="n_components='auto'.*ink_estimate"):
        NystromKRR("auto", sampling="uniform").fit(X, y)


def test_string_targets_give_sklearns_message():
    X, y, _, _ = make_clustered_regression(50, 2, random_state=0)
    with pytest.raises(ValueError, match="could not convert string to float"):
        NystromKRR(10).fit(X, np.array(["a"] * 50))
    with pytest.raises(ValueError, match="could not convert string to float"):
        NystromKRR(10).partial_fit(X, ["a"] * 50)
    # Numbers held as strings or objects are numbers.
    pred = NystromKRR(10, random_state=0).fit(X, y.astype(str)).predict(X)
    np.testing.assert_allclose(
        pred, NystromKRR(10, random_state=0).fit(X, y).predict(X)
    )


def test_every_named_kernel_works_with_its_default_gamma():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(200, 3))  # chi2 kernels need X >= 0
    y = X.sum(axis=1)
    for kernel in ("chi2", "rbf", "laplacian", "poly", "linear", "cosine"):
        model = NystromKRR(20, alpha=1e-2, kernel=kernel, random_state=0)
        assert np.all(np.isfinite(model.fit(X, y).predict(X))), kernel
    # A kernel that is not positive semidefinite is refused by name.
    with pytest.raises(ValueError, match="additive_chi2 kernel must be positive"):
        NystromKRR(20, kernel="additive_chi2", random_state=0).fit(X, y)
    # chi2's own default is gamma=1: None must mean exactly that.
    a = NystromKRR(20, kernel="chi2", random_state=0).fit(X, y).predict(X)
    b = NystromKRR(20, kernel="chi2", gamma=1.0, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a, b.predict(X))


def test_scaled_targets_scale_the_predictions():
    X, y, _, _ = make_clustered_regression(400, 2, random_state=0)
    Y = np.column_stack([y, -y])
    base = NystromKRR(30, alpha=0.1, random_state=0).fit(X, Y).predict(X)
    for scale in (1e150, 1e-150, 1e300, 1e-300):
        model = NystromKRR(30, alpha=0.1, random_state=0)
        pred = model.fit(X, Y * scale).predict(X)
        np.testing.assert_allclose(pred / scale, base, rtol=1e-9, atol=1e-12)
    # partial_fit as well (earlier batches carried over in scaled form).
    streamed = NystromKRR(30, alpha=0.1, random_state=0)
    for rows in np.array_split(np.arange(400), 2):
        streamed.partial_fit(X[rows], y[rows] * 1e300)
    assert np.all(np.isfinite(streamed.predict(X)))


@pytest.mark.parametrize("scale", [1e150, 1e300, 1e-150, 1e-300])
def test_scaled_inputs_give_a_clear_error(scale):
    # gamma is fixed (1 / n_features by default), so scaled X is another
    # problem: on it the kernel is numerically the identity (X * 1e150) or
    # constant (X * 1e-150).  That is refused with a clear error, never a
    # NaN or a failure deep in numpy.
    X, y, _, _ = make_clustered_regression(300, 2, random_state=0)
    with pytest.raises(
        ValueError, match="kernel is numerically (the identity|constant)"
    ):
        NystromKRR(20, random_state=0).fit(X * scale, y)
    # Constant X is the constant-kernel case.
    with pytest.raises(ValueError, match="constant"):
        NystromKRR(20, random_state=0).fit(np.ones_like(X), y)


def test_rbf_kernel_is_exact_at_extreme_scales():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 3))
    # A large offset: the expansion |x|^2 + |y|^2 - 2 x.y would lose ~1e-5.
    np.testing.assert_allclose(
        _rbf_kernel(X + 1e5, X + 1e5, 1.0), rbf_kernel(X, gamma=1.0), rtol=1e-8
    )
    # gamma |x|^2 overflows: k(x, x) = 1 and 0 elsewhere, not NaN.
    np.testing.assert_array_equal(_rbf_kernel(X * 1e200, X * 1e200, 1.0), np.eye(20))
    for scale, gamma in ((1e150, 1e-300), (1e-150, 1e300)):
        np.testing.assert_allclose(
            _rbf_kernel(X * scale, X * scale, gamma),
            rbf_kernel(X, gamma=1.0),
            rtol=1e-8,
            atol=1e-12,
        )


def test_settle_loop_is_bounded_and_warns(monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    monkeypatch.setattr(_ink, "_MAX_SETTLE_ROUNDS", 1)
    X, y, _, _ = make_clustered_regression(600, 2, random_state=0)
    model = NystromKRR(10, alpha=1e-6, random_state=0)
    with pytest.warns(ConvergenceWarning, match="NystromKRR did not converge"):
        model.fit(X, y)
    assert model.n_components_ == 10


def test_verbose_reports_the_solve(capsys):
    X, y, _, _ = make_clustered_regression(300, 2, random_state=0)
    NystromKRR(20, random_state=0, verbose=1).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("[NystromKRR] chunk 1:") for line in out)
    assert out[-1] == "[NystromKRR] solve: 300/300 rows accumulated"


def test_skops_round_trip_mid_stream():
    sio = pytest.importorskip("skops.io")
    X, y, _, _ = make_clustered_regression(600, 2, random_state=0)
    model = NystromKRR(30, alpha=0.1, random_state=0).partial_fit(X[:300], y[:300])
    dumped = sio.dumps(model)
    loaded = sio.loads(dumped, trusted=sio.get_untrusted_types(data=dumped))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # The stream continues identically from the loaded state.
    model.partial_fit(X[300:], y[300:])
    loaded.partial_fit(X[300:], y[300:])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_default_parameters_pass_sklearns_regressor_training_check():
    # The budget (500) exceeds the check's 10- and 200-sample fits: a warning,
    # then every sample is a landmark, as sklearn's Nystroem does.
    from sklearn.utils.estimator_checks import check_regressors_train

    with pytest.warns(UserWarning, match="n_components=500 > n_samples"):
        check_regressors_train("NystromKRR", NystromKRR(random_state=0))
