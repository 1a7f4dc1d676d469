"""AltMinCompleter: recovery, robustness to inexact solves, fold-in, bad input."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_lowrank import AltMinCompleter
from sklearn_lowrank._linalg import orthonormalize
from sklearn_lowrank.completion._solvers import observed_csr, solve_rows
from sklearn_lowrank.datasets import make_completion_problem, make_ratings_matrix


def _unobserved_error(X_filled, M, mask):
    return np.linalg.norm((X_filled - M)[~mask]) / np.linalg.norm(M[~mask])


@pytest.fixture(scope="module")
def problem():
    # 500 x 400, rank 5: 4,475 degrees of freedom; 10% observed is ~20,000
    # entries, about 4.5 times the information limit.
    return make_completion_problem(500, 400, 5, observed_fraction=0.1, random_state=0)


@pytest.mark.parametrize("solver", ["exact", "cg", "sketch"])
def test_exact_recovery_of_incoherent_rank_5_matrix(problem, solver):
    X, M, mask = problem
    est = AltMinCompleter(n_components=5, solver=solver, random_state=0)
    X_filled = est.fit_transform(X)
    assert _unobserved_error(X_filled, M, mask) <= 1e-6
    assert est.n_iter_ < 40
    assert est.reconstruction_err_ < 1e-5 * np.linalg.norm(M[mask])


def test_inexact_solves_still_recover(problem):
    # The paper's point: one conjugate-gradient step per least-squares
    # problem is far from the exact solve, yet the iterates still converge.
    X, M, mask = problem
    est = AltMinCompleter(
        n_components=5, solver="cg", n_inner_iter=1, max_iter=200, random_state=0
    )
    X_filled = est.fit_transform(X)
    assert _unobserved_error(X_filled, M, mask) <= 1e-6


def test_error_decreases_linearly(problem):
    X, M, mask = problem
    errors = []
    for n_sweeps in (2, 4, 6):
        est = AltMinCompleter(n_components=5, max_iter=n_sweeps, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            errors.append(_unobserved_error(est.fit_transform(X), M, mask))
    # Two sweeps shrink the error by the same constant factor, every time
    # (measured: ~0.45 per sweep on this problem).
    assert errors[1] < 0.3 * errors[0]
    assert errors[2] < 0.3 * errors[1]


def test_hitting_max_iter_warns(problem):
    X, _, _ = problem
    with pytest.warns(ConvergenceWarning, match="AltMinCompleter did not converge"):
        AltMinCompleter(n_components=5, max_iter=2, random_state=0).fit(X)


def test_noisy_error_is_proportional_to_noise():
    errors = {}
    for noise in (1e-3, 1e-2, 1e-1):
        X, M, mask = make_completion_problem(
            300, 250, 4, observed_fraction=0.2, noise=noise, random_state=1
        )
        est = AltMinCompleter(n_components=4, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            X_filled = est.fit_transform(X)
        assert np.all(np.isfinite(X_filled))
        errors[noise] = _unobserved_error(X_filled, M, mask)
    ratios = np.array([errors[s] / s for s in errors])
    # error / noise is the same constant at every noise level (no divergence,
    # no floor), within 20%.
    assert ratios.max() < 1.2 * ratios.min(), errors
    assert errors[1e-1] < 0.1


def test_sparse_input_gives_the_dense_result(problem):
    X, _, mask = problem
    X_sparse = sp.csr_matrix((X[mask], np.nonzero(mask)), shape=X.shape)
    dense = AltMinCompleter(n_components=5, random_state=0).fit(X)
    sparse = AltMinCompleter(n_components=5, random_state=0).fit(X_sparse)
    np.testing.assert_allclose(sparse.row_factors_, dense.row_factors_, atol=1e-12)
    np.testing.assert_allclose(sparse.transform(X_sparse), dense.transform(X))


def test_sparse_explicit_zeros_are_observed():
    X, M, mask = make_completion_problem(
        120, 100, 3, observed_fraction=0.3, sparse=True, random_state=2
    )
    X = X.tocsr()
    # Store some observed entries as explicit zeros.
    X.data[::7] = 0.0
    assert X.nnz == mask.nnz
    dense = np.full(X.shape, np.nan)
    coo = X.tocoo()
    dense[coo.row, coo.col] = coo.data
    with_zeros = AltMinCompleter(n_components=3, random_state=0, max_iter=30)
    without = AltMinCompleter(n_components=3, random_state=0, max_iter=30)
    as_dense = AltMinCompleter(n_components=3, random_state=0, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with_zeros.fit(X)
        pruned = X.copy()
        pruned.eliminate_zeros()
        without.fit(pruned)
        as_dense.fit(dense)
    np.testing.assert_allclose(with_zeros.row_factors_, as_dense.row_factors_)
    assert not np.allclose(with_zeros.row_factors_, without.row_factors_)
    assert with_zeros.transform(X)[coo.row[0], coo.col[0]] == 0.0


def test_fold_in_completes_new_rows():
    X, M, mask = make_completion_problem(
        600, 300, 4, observed_fraction=0.15, random_state=3
    )
    train, new = slice(0, 500), slice(500, 600)
    est = AltMinCompleter(n_components=4, random_state=0).fit(X[train])
    completed = est.transform(X[new])
    assert _unobserved_error(completed, M[new], mask[new]) < 1e-6
    # Observed entries are kept as they are.
    np.testing.assert_array_equal(completed[mask[new]], X[new][mask[new]])
    # Folding the training rows back in reproduces the fitted row factors.
    np.testing.assert_allclose(est.fold_in(X[train]), est.row_factors_, atol=1e-10)
    np.testing.assert_allclose(est.transform(X[train]), est.fit_transform(X[train]))


def test_predict_entries_matches_transform(problem):
    X, _, _ = problem
    est = AltMinCompleter(n_components=5, random_state=0, center=True).fit(X)
    rows, cols = np.array([0, 3, 499]), np.array([5, 0, 399])
    filled = est.mean_ + est.row_factors_ @ est.components_
    np.testing.assert_allclose(est.predict_entries(rows, cols), filled[rows, cols])
    assert est.mean_ == pytest.approx(np.nanmean(X))
    with pytest.raises(ValueError, match="out of range"):
        est.predict_entries([500], [0])


def test_components_are_orthonormal(problem):
    X, _, _ = problem
    est = AltMinCompleter(n_components=5, random_state=0).fit(X)
    np.testing.assert_allclose(
        est.components_ @ est.components_.T, np.eye(5), atol=1e-10
    )


def test_score_selects_the_true_rank():
    X, _, _ = make_completion_problem(
        200, 120, 4, observed_fraction=0.4, noise=0.01, random_state=4
    )
    search = GridSearchCV(
        AltMinCompleter(alpha=1e-3, random_state=0, max_iter=50),
        {"n_components": [2, 4]},
        cv=3,
    ).fit(X)
    assert search.best_params_["n_components"] == 4


def test_clipping_initialization_still_recovers(problem):
    X, M, mask = problem
    est = AltMinCompleter(n_components=5, incoherence=2.0, random_state=0)
    assert _unobserved_error(est.fit_transform(X), M, mask) <= 1e-6


def test_all_missing_rows_and_columns_are_filled():
    X, M, mask = make_completion_problem(
        200, 150, 3, observed_fraction=0.3, random_state=5
    )
    X = X.copy()
    X[7] = np.nan
    X[:, 11] = np.nan
    est = AltMinCompleter(n_components=3, random_state=0)
    with pytest.warns(UserWarning, match="1 row.*1 column.*no observed entry"):
        filled = est.fit_transform(X)
    assert np.all(np.isfinite(filled))
    # The empty row gets the mean row factor; the rest is still recovered.
    np.testing.assert_allclose(
        est.row_factors_[7], est.row_factors_[np.arange(200) != 7].mean(axis=0)
    )
    keep = np.ones(200, bool)
    keep[7] = False
    sub_mask = mask[keep][:, np.arange(150) != 11]
    sub_err = _unobserved_error(
        filled[keep][:, np.arange(150) != 11],
        M[keep][:, np.arange(150) != 11],
        sub_mask,
    )
    assert sub_err < 1e-5
    new_row = np.full((1, 150), np.nan)
    assert np.all(np.isfinite(est.transform(new_row)))


def test_too_few_observations_warn():
    # 4% of 400 x 300 = 4,800 entries for 3,475 degrees of freedom at rank 5.
    X, _, _ = make_completion_problem(
        400, 300, 5, observed_fraction=0.04, random_state=0
    )
    with pytest.warns(UserWarning, match="likely unreliable"):
        AltMinCompleter(n_components=5, max_iter=5, random_state=0).fit(X)


@pytest.mark.parametrize(
    "X, params, match",
    [
        (np.full((5, 4), np.nan), {}, "no observed entries"),
        (np.ones((5, 4)), {"n_components": 4}, "n_components=4 is too large"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), {}, "infinity"),
        (
            sp.csr_matrix(np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]])),
            {},
            "sparse X contains NaN",
        ),
        (np.ones((1, 4)), {}, "n_samples=1"),
    ],
    ids=["no-observed", "rank-too-large", "inf", "sparse-nan", "one-row"],
)
def test_bad_input_is_rejected_with_a_clear_error(X, params, match):
    est = AltMinCompleter(**{"n_components": 1, **params})
    with pytest.raises(ValueError, match=match):
        est.fit(X)


def test_transform_rejects_wrong_width(problem):
    X, _, _ = problem
    est = AltMinCompleter(n_components=5, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :10])


# ---- private solvers -------------------------------------------------------


def _small_least_squares(rng):
    X = rng.standard_normal((30, 12))
    X[rng.uniform(size=X.shape) < 0.4] = np.nan
    return observed_csr(X, copy=False), rng.standard_normal((12, 3))


@pytest.mark.parametrize("budget", [2**22, 7])
def test_exact_solver_matches_per_row_lstsq(budget):
    # budget=7 forces one-row groups solved in chunks of 2 entries.
    rng = np.random.RandomState(0)
    obs, other = _small_least_squares(rng)
    solution, squared_residuals = solve_rows(obs, other, ridge=0.0, budget=budget)
    for i in range(obs.shape[0]):
        lo, hi = obs.indptr[i], obs.indptr[i + 1]
        if hi - lo < 3:
            continue
        A, y = other[obs.indices[lo:hi]], obs.data[lo:hi]
        expected = np.linalg.lstsq(A, y, rcond=None)[0]
        np.testing.assert_allclose(solution[i], expected, rtol=1e-8, atol=1e-8)
        assert squared_residuals[i] == pytest.approx(
            np.sum((y - A @ expected) ** 2), rel=1e-6, abs=1e-12
        )


def test_blocked_solve_equals_one_block_and_threads(monkeypatch):
    # Rows of very different lengths: many groups, padded, solved by workers.
    from threadpoolctl import threadpool_limits

    from sklearn_lowrank._threads import blas_workers
    from sklearn_lowrank.completion import _solvers

    # The problem is small: lower the size at which workers are used.
    monkeypatch.setattr(_solvers, "_PARALLEL_MIN_ENTRIES", 0)
    rng = np.random.RandomState(4)
    X = rng.standard_normal((300, 80))
    X[rng.uniform(size=X.shape) < np.linspace(0.05, 0.95, 300)[:, None]] = np.nan
    obs = observed_csr(X, copy=False)
    other = rng.standard_normal((80, 4))
    one, _ = solve_rows(obs, other, ridge=0.1, budget=10**9)
    calls = []
    with threadpool_limits(limits=2, user_api="blas"), blas_workers() as workers:
        real_map = workers.map

        def counting_map(func, *iterables):
            calls.append(func)
            return real_map(func, *iterables)

        workers.map = counting_map
        blocked, _ = solve_rows(obs, other, ridge=0.1, budget=400, workers=workers)
    np.testing.assert_allclose(blocked, one, rtol=1e-10, atol=1e-12)
    assert calls, "the blocked solve never used the workers"


def test_cg_solver_converges_to_the_exact_solution():
    rng = np.random.RandomState(1)
    obs, other = _small_least_squares(rng)
    exact, _ = solve_rows(obs, other, ridge=0.1)
    # k = 3 unknowns per row: CG is exact after 3 steps (up to rounding).
    approx, _ = solve_rows(obs, other, ridge=0.1, method="cg", n_steps=3)
    np.testing.assert_allclose(approx, exact, rtol=1e-6, atol=1e-8)


def test_orthonormalize_is_a_thin_qr():
    F = np.random.RandomState(2).standard_normal((50, 4)) @ np.diag([1, 10, 1e3, 1e4])
    for factor in (1.0, 1e-200, 1e200):
        Q, R = orthonormalize(F * factor)
        np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)
        np.testing.assert_allclose(Q @ R / factor, F, rtol=1e-10, atol=1e-10)


def test_sketch_preconditioner_helps_ill_conditioned_rows():
    rng = np.random.RandomState(3)
    X = rng.standard_normal((40, 200))
    X[rng.uniform(size=X.shape) < 0.5] = np.nan
    obs = observed_csr(X, copy=False)
    # A badly scaled design (condition number ~1e4): plain CG stalls.  Rows
    # have ~100 observations, more than the 4 k = 24 sketch rows.
    other = rng.standard_normal((200, 6)) * np.geomspace(1, 1e4, 6)
    exact, _ = solve_rows(obs, other, ridge=0.0)
    plain, _ = solve_rows(obs, other, ridge=0.0, method="cg", n_steps=4)
    sketched, _ = solve_rows(
        obs,
        other,
        ridge=0.0,
        method="sketch",
        n_steps=4,
        random_state=np.random.RandomState(0),
    )
    plain_err = np.linalg.norm(plain - exact) / np.linalg.norm(exact)
    sketch_err = np.linalg.norm(sketched - exact) / np.linalg.norm(exact)
    assert sketch_err < 0.05 * plain_err, (sketch_err, plain_err)


def test_bias_centering_is_consistent_between_fit_and_fold_in():
    X, M, mask = make_completion_problem(
        150, 100, 3, observed_fraction=0.3, noise=0.1, random_state=6
    )
    rng = np.random.RandomState(0)
    X = X + rng.normal(size=(150, 1)) + rng.normal(size=(1, 100)) + 3.0
    est = AltMinCompleter(n_components=3, center="biases", alpha=1.0, random_state=0)
    filled = est.fit_transform(X)
    factors, biases = est.fold_in(X, return_biases=True)
    np.testing.assert_allclose(factors, est.row_factors_, atol=1e-10)
    np.testing.assert_allclose(biases, est.row_biases_, atol=1e-12)
    rows, cols = np.nonzero(~mask)
    np.testing.assert_allclose(est.predict_entries(rows, cols), filled[rows, cols])
    # Row and column offsets are found (up to the shrinkage).
    assert np.corrcoef(est.row_biases_, np.nanmean(X, axis=1))[0, 1] > 0.9
    plain = AltMinCompleter(n_components=3, alpha=1.0, random_state=0).fit(X)
    assert est.score(X) > plain.score(X)


# ---- scale, indices, warnings ----------------------------------------------


@pytest.mark.parametrize("factor", [1e-150, 1e150, 1e-200, 1e200])
def test_scaling_the_data_scales_the_completion(problem, factor):
    X, M, mask = problem
    est = AltMinCompleter(n_components=5, random_state=0).fit(X)
    scaled = AltMinCompleter(n_components=5, random_state=0).fit(X * factor)
    # Same sweeps (no false stop on tiny numbers, no overflow on huge ones),
    # the scaled completion, and an honestly scaled residual.
    assert scaled.n_iter_ == est.n_iter_
    filled = scaled.transform(X * factor) / factor
    np.testing.assert_allclose(filled, est.transform(X), rtol=1e-6, atol=1e-9)
    assert _unobserved_error(filled, M, mask) <= 1e-6
    assert scaled.reconstruction_err_ / factor == pytest.approx(
        est.reconstruction_err_, rel=1e-3, abs=1e-9
    )
    assert est.reconstruction_err_ > 0
    assert -scaled.score(X * factor) / factor == pytest.approx(
        -est.score(X), rel=1e-3, abs=1e-9
    )


def test_predict_entries_rejects_non_integer_indices(problem):
    X, _, _ = problem
    est = AltMinCompleter(n_components=5, random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    with pytest.raises(ValueError, match="AltMinCompleter.predict_entries: rows"):
        est.predict_entries([1.7], [0])
    with pytest.raises(ValueError, match="cols must be integer"):
        est.predict_entries([1], [0.2])
    # Integral floats (e.g. from a float column of a DataFrame) are indices.
    np.testing.assert_array_equal(
        est.predict_entries([1.0, 2.0], [0.0, 3.0]), est.predict_entries([1, 2], [0, 3])
    )


def test_over_estimated_rank_is_named_in_the_warning():
    # Issue 17's case: rank 5, 30% observed, n_components=10.
    X, _, _ = make_completion_problem(
        400, 300, 5, observed_fraction=0.3, random_state=0
    )
    with pytest.warns(ConvergenceWarning) as record:
        AltMinCompleter(n_components=10, max_iter=30, random_state=0).fit(X)
    message = str(record[0].message)
    assert message.startswith("AltMinCompleter did not converge")
    assert "n_components=10 is probably over-estimated" in message
    assert "try n_components=5" in message


def test_right_rank_not_converged_gets_the_iteration_advice(problem):
    X, _, _ = problem
    with pytest.warns(ConvergenceWarning) as record:
        AltMinCompleter(n_components=5, max_iter=3, random_state=0).fit(X)
    message = str(record[0].message)
    assert "increase max_iter" in message and "over-estimated" not in message


def test_float32_sparse_input_is_not_copied():
    X, _, _ = make_completion_problem(
        300, 200, 4, observed_fraction=0.3, sparse=True, random_state=7
    )
    X64 = sp.csr_matrix(X)
    X32 = X64.astype(np.float32)
    # Neither validation nor the observed-entry view copies the values.
    validated = AltMinCompleter()._check_X(X32, reset=True)
    assert np.shares_memory(observed_csr(validated, copy=False).data, X32.data)
    est64 = AltMinCompleter(n_components=4, random_state=0).fit(X64)
    est32 = AltMinCompleter(n_components=4, random_state=0).fit(X32)
    rows, cols = np.array([0, 5, 299]), np.array([1, 0, 199])
    np.testing.assert_allclose(
        est32.predict_entries(rows, cols), est64.predict_entries(rows, cols), rtol=1e-5
    )


def test_verbose_lines_name_the_estimator(problem, capsys):
    X, _, _ = problem
    AltMinCompleter(n_components=5, max_iter=2, verbose=1, random_state=0).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[AltMinCompleter] spectral start")
    assert lines[1].startswith("[AltMinCompleter] sweep 1: relative change")


def test_ratings_shaped_problem_is_recovered():
    # Zipf-like column popularity and uneven rows: still exact recovery on
    # held-out entries drawn like the observed ones.
    X, X_test, _, _ = make_ratings_matrix(
        3000, 400, 5, n_observed=90_000, random_state=0
    )
    est = AltMinCompleter(n_components=5, random_state=0).fit(X)
    coo = X_test.tocoo()
    pred = est.predict_entries(coo.row, coo.col)
    assert np.linalg.norm(pred - coo.data) <= 1e-6 * np.linalg.norm(coo.data)


def test_benchmark_smoke_runs():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_completion.py"
    result = subprocess.run(
        [sys.executable, str(script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "AltMinCompleter(3) exact" in result.stdout
    assert "failed" not in result.stdout


def test_batched_countsketch_is_one_countsketch_per_matrix():
    from sklearn_lowrank._sketches import batched_countsketch

    A = np.random.RandomState(5).standard_normal((3, 40, 4))
    SA = batched_countsketch(A, 8, np.random.RandomState(0))
    # The same draws, as an explicit 8 x 40 sketch matrix.
    rng = np.random.RandomState(0)
    bucket = rng.randint(0, 8, size=40)
    sign = rng.choice([-1.0, 1.0], size=40)
    S = np.zeros((8, 40))
    S[bucket, np.arange(40)] = sign
    S = S[np.unique(bucket)]
    for i in range(3):
        np.testing.assert_allclose(SA[i], S @ A[i], atol=1e-12)


@pytest.mark.parametrize("rank, noise", [(3, 0.0), (4, 0.05)])
def test_auto_rank_finds_the_rank_on_held_out_entries(rank, noise):
    X, M, mask = make_completion_problem(
        300, 200, rank, observed_fraction=0.25, noise=noise, random_state=3
    )
    est = AltMinCompleter(n_components="auto", random_state=0).fit(X)
    assert est.n_components_ == rank
    assert est.components_.shape == (rank, 200)
    # Ranks up to two past the best were tried, the best has the least error.
    assert max(est.rank_errors_) == rank + 2
    assert min(est.rank_errors_, key=est.rank_errors_.get) == rank
    assert _unobserved_error(est.transform(X), M, mask) < max(1e-6, 2 * noise)
    fixed = AltMinCompleter(n_components=rank, random_state=0).fit(X)
    assert fixed.n_components_ == rank and fixed.rank_errors_ is None
