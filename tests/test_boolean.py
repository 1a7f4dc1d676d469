"""BooleanMF: the Elbmf proximal operator, planted-tile recovery, the Boolean
output contract and bad input."""

from math import comb

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_lowrank import BooleanMF
from sklearn_lowrank._metrics import cell_error_rate, tile_scores
from sklearn_lowrank.boolean import _asso as asso_module
from sklearn_lowrank.boolean import _candidates as candidates_module
from sklearn_lowrank.boolean._asso import (
    _asso_candidates,
    _asso_generators,
    _asso_greedy,
    _column_confidence,
)
from sklearn_lowrank.boolean._elbmf import (
    _elastic_binary_prox,
    _elbmf_palm,
    _round_binary,
)
from sklearn_lowrank.boolean._mdl import _covered_cells
from sklearn_lowrank.boolean._polish import (
    _all_subsets,
    _boolean_errors,
    _boolean_polish,
    _boolean_rows_pass,
    _exact_rows_block,
)
from sklearn_lowrank.datasets import make_boolean_tiles

NOISE = 0.07


@pytest.fixture(scope="module")
def overlapping():
    """500 x 400, k = 5 tiles covering ~35% of rows/columns each (heavy
    overlap: about half of the matrix is covered, most covered cells by
    several tiles), 7% flip noise."""
    X, U, V = make_boolean_tiles(
        500, 400, 5, row_fraction=0.35, col_fraction=0.35, noise=NOISE, random_state=0
    )
    clean = (U.astype(float) @ V > 0).astype(np.uint8)
    return X, U, V, clean


@pytest.fixture(scope="module")
def fitted(overlapping):
    X = overlapping[0]
    bmf = BooleanMF(n_components=5, random_state=0)
    U_hat = bmf.fit_transform(X)
    return bmf, U_hat


# -- the paper's proximal operator ------------------------------------------


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.05, 0.0), (0.02, 0.3), (0.1, 2.0)])
def test_prox_is_the_argmin_of_the_elastic_binary_problem(l1, l2):
    # prox(z) = argmin_{y >= 0} (y - z)^2 / 2 + min_b [l1 |y - b| + l2/2 (y - b)^2]
    z = np.linspace(-0.6, 1.8, 97)
    y = np.linspace(0.0, 2.5, 25001)
    reg = np.minimum(
        l1 * np.abs(y) + l2 / 2 * y**2, l1 * np.abs(y - 1) + l2 / 2 * (y - 1) ** 2
    )
    objective = 0.5 * (y[None, :] - z[:, None]) ** 2 + reg[None, :]
    brute = y[np.argmin(objective, axis=1)]
    np.testing.assert_allclose(_elastic_binary_prox(z, l1, l2), brute, atol=2e-4)


def test_rounding_is_the_limit_of_the_prox():
    z = np.array([-0.3, 0.0, 0.2, 0.5, 0.500001, 0.9, 1.0, 1.7])
    np.testing.assert_array_equal(_round_binary(z), [0, 0, 0, 0, 1, 1, 1, 1])
    # kappa = 1/2, lambda -> infinity: the prox collapses onto {0, 1}
    np.testing.assert_allclose(_elastic_binary_prox(z, 0.5, 1e12), _round_binary(z))


# -- Elbmf alone (the paper) and its failure on overlap -----------------------


def _paper_elbmf(X, k, *, max_iter, tol):
    """Elbmf with the reference defaults from uniform(0, 1) factors."""
    rng = np.random.RandomState(0)
    return _elbmf_palm(
        X,
        X.T.copy(),
        rng.uniform(size=(X.shape[0], k)),
        rng.uniform(size=(X.shape[1], k)),
        l1_reg=0.01,
        l2_reg=0.02,
        reg_growth=1.02,
        max_iter=max_iter,
        tol=tol,
        beta=0.0,
    )


def test_elbmf_recovers_disjoint_tiles_and_its_loss_settles():
    X, U, V = make_boolean_tiles(
        300, 200, 4, row_fraction=0.1, col_fraction=0.1, noise=0.0, random_state=3
    )
    X = X.astype(float)
    Uc, Vt, losses, converged = _paper_elbmf(X, 4, max_iter=2000, tol=1e-7)
    assert converged
    # The relaxed squared loss ends far below where it started ...
    assert losses[-1] < 0.05 * losses[0]
    # ... and the rounded factors reproduce the light-overlap tiles well.
    err = _boolean_errors(X, _round_binary(Uc), _round_binary(Vt.T))
    assert err / X.size < 0.01


def test_polish_fixes_elbmf_on_heavy_overlap(overlapping):
    # Notes: the relaxation adds overlapping tiles (1 + 1 = 2), so the
    # paper's rounded factors are far off on heavy overlap; the Boolean
    # polish repairs them.
    X, _, _, clean = overlapping
    X = X.astype(float)
    U, Vt, _, _ = _paper_elbmf(X, 5, max_iter=1000, tol=1e-6)
    U, V = _round_binary(U), _round_binary(Vt.T)
    plain = _boolean_errors(X, U, V)
    U2, V2, polished, _ = _boolean_polish(X, X.T.copy(), U, V, max_passes=50)
    assert polished < plain
    assert polished <= (NOISE + 0.005) * X.size
    # Against the clean matrix: Elbmf alone is off by several percent of the
    # cells, the polished factors by almost nothing.
    assert cell_error_rate((U @ V) > 0, clean) > 0.02
    assert cell_error_rate((U2 @ V2) > 0, clean) <= 0.005


def test_polish_never_increases_the_boolean_loss(overlapping):
    X = overlapping[0].astype(float)
    rng = np.random.RandomState(1)
    U = (rng.uniform(size=(500, 5)) < 0.3).astype(float)
    V = (rng.uniform(size=(5, 400)) < 0.3).astype(float)
    before = _boolean_errors(X, U, V)
    U2, V2, after, curve = _boolean_polish(X, X.T.copy(), U, V, max_passes=20)
    assert after == _boolean_errors(X, U2, V2)
    assert after < before
    assert np.all(np.diff(curve[1:]) <= 0)


# -- Asso's greedy cover and the exact row solves ------------------------------


def test_column_confidence_is_the_association_rule_confidence():
    X = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, 1]], dtype=float)
    conf = _column_confidence(X, X.T.copy())
    # conf(0 => 1) = |rows with 0 and 1| / |rows with 0| = 2 / 3
    np.testing.assert_allclose(conf[0], [1, 2 / 3, 2 / 3])
    np.testing.assert_allclose(conf[2], [2 / 3, 1 / 3, 1])
    # same from sparse input, and cut at tau into distinct candidate sets
    conf_sp = _column_confidence(sp.csr_matrix(X), sp.csr_matrix(X.T))
    np.testing.assert_allclose(conf_sp, conf)
    A = _asso_candidates(conf, 0.6)
    # conf(1 => 0) = 1 and conf(1 => 2) = 1/2
    assert A.tolist() == [[True, True, True], [True, True, False], [True, False, True]]
    # the same set twice is one candidate
    assert len(_asso_candidates(conf, 0.1)) == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_asso_alone_recovers_noiseless_overlapping_tiles(seed):
    # Tiles on 20% of rows/columns overlap.  A column of one tile co-occurs
    # with another tile's columns in ~20% of its rows, so the association
    # rows cut at a threshold well above that are the planted column sets,
    # and the greedy cover picks them with their row sets.  (Columns in two
    # tiles co-occur with both, which the polish then sorts out.)
    X, U, V = make_boolean_tiles(
        300, 200, 4, row_fraction=0.2, col_fraction=0.2, noise=0.0, random_state=seed
    )
    X = X.astype(float)
    conf = _column_confidence(X, X.T)
    covers = [_asso_greedy(X, _asso_candidates(conf, t), 4) for t in (0.7, 0.9)]
    U_hat, V_hat = min(covers, key=lambda c: _boolean_errors(X, *c))
    assert _boolean_errors(X, U_hat, V_hat) <= 0.005 * X.sum()
    recall, precision = tile_scores(U, V, U_hat, V_hat)
    assert recall >= 0.98 and precision >= 0.98
    # the estimator with init="asso" (cover, polish, Elbmf) is exact
    bmf = BooleanMF(4, init="asso", random_state=0).fit(X)
    assert bmf.reconstruction_err_ == 0
    recall, precision = tile_scores(U, V, bmf.transform(X), bmf.components_)
    assert recall == precision == 1.0


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_column_confidence_is_the_share_of_co_occurring_rows(fmt):
    # conf[i, j] = |x_i AND x_j| / |x_i| (0 for an empty column i), whether
    # all columns are generators (dense: the symmetric syrk path) or a
    # subset in any order.
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(60, 25)) < 0.3).astype(np.float32)
    X[:, 3] = 0
    co = X.T.astype(np.float64) @ X
    expected = co / np.maximum(np.diag(co), 1.0)[:, None]
    Xf = sp.csr_matrix(X) if fmt == "csr" else X
    XT = Xf.T.tocsr() if fmt == "csr" else np.ascontiguousarray(X.T)
    np.testing.assert_allclose(_column_confidence(Xf, XT), expected, rtol=1e-6)
    for generators in (np.array([7, 3, 0, 24]), rng.permutation(25)):
        np.testing.assert_allclose(
            _column_confidence(Xf, XT, generators), expected[generators], rtol=1e-6
        )


def test_asso_greedy_same_cover_with_sparse_or_dense_candidate_products(
    monkeypatch,
):
    # The first gains table is a sparse product for small candidate sets and
    # a BLAS one otherwise: the integer gains, hence the covers, are equal.
    X, _, _ = make_boolean_tiles(
        200, 150, 4, row_fraction=0.2, col_fraction=0.2, noise=0.05, random_state=3
    )
    X = X.astype(np.float32)
    conf = _column_confidence(X, np.ascontiguousarray(X.T))
    covers = []
    for threshold in (0.0, 1.0):
        monkeypatch.setattr(asso_module, "_SPARSE_CANDIDATES", threshold)
        covers.append(
            [_asso_greedy(X, _asso_candidates(conf, t), 4) for t in (0.5, 0.9)]
        )
    for (U0, V0), (U1, V1) in zip(*covers):
        np.testing.assert_array_equal(U0, U1)
        np.testing.assert_array_equal(V0, V1)
        assert V0.any()


def test_asso_greedy_stops_when_no_tile_helps():
    # Three disjoint blocks are covered exactly by three tiles; no further
    # candidate lowers the error, so the other tiles stay empty, and each
    # tile taken lowered the error.
    X = np.zeros((60, 45))
    for b in range(3):
        X[20 * b : 20 * b + 20, 15 * b : 15 * b + 15] = 1
    U, V = _asso_greedy(X, _asso_candidates(_column_confidence(X, X.T), 0.5), 6)
    assert _boolean_errors(X, U, V) == 0
    assert V[:3].any(axis=1).all()
    assert not V[3:].any() and not U[:, 3:].any()
    errors = [_boolean_errors(X, U[:, :t], V[:t]) for t in range(4)]
    assert errors == [900, 600, 300, 0]


def test_exact_rows_pass_is_the_best_row_for_each_row():
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(120, 50)) < 0.4).astype(float)
    V = (rng.uniform(size=(5, 50)) < 0.4).astype(float)
    subsets = _all_subsets(5)
    assert subsets.shape == (32, 5) and len(np.unique(subsets, axis=0)) == 32
    # brute force: wrong cells of every row under every tile set
    cover = (subsets @ V) > 0
    brute = (X[:, None, :] != cover[None, :, :]).sum(axis=2)
    for data in (X, sp.csr_matrix(X)):
        U, wrong = _boolean_rows_pass(data, None, V, exact=True)
        per_row = np.sum(X != ((U @ V) > 0), axis=1)
        assert wrong == per_row.sum() == _boolean_errors(data, U, V)
        # rows that some single tile would improve
        # (or that hold half of a tile) are solved exactly; the others stay
        # empty, all their ones wrong
        solved = (2 * (X @ V.T) >= V.sum(axis=1)).any(axis=1)
        assert 0 < solved.sum() < len(X)
        np.testing.assert_array_equal(per_row[solved], brute.min(1)[solved])
        assert not U[~solved].any()
        # never worse than the bit-flip descent
        assert wrong <= _boolean_rows_pass(data, None, V)[1]


@pytest.mark.parametrize("density", [0.1, 0.5])
def test_exact_rows_block_matches_brute_force_with_first_set_on_ties(density):
    # Every row of the block, overlapping random tiles (many column
    # signatures), against enumeration; ties must go to the first set in
    # binary order, as np.argmin over the enumeration does.
    rng = np.random.RandomState(1)
    Xb = (rng.uniform(size=(200, 40)) < density).astype(np.float32)
    V = (rng.uniform(size=(6, 40)) < 0.3).astype(np.float32)
    subsets = _all_subsets(6)
    cover = (subsets @ V) > 0
    brute = (Xb[:, None, :] != cover[None, :, :]).sum(axis=2)
    Ub, errors = _exact_rows_block(Xb, V, subsets)
    np.testing.assert_array_equal(errors, brute.min(axis=1))
    np.testing.assert_array_equal(Ub, subsets[brute.argmin(axis=1)])
    # only some rows of the block (a view of X in the polish)
    rows = np.array([0, 3, 4, 50, 199])
    Ub, errors = _exact_rows_block(Xb, V, subsets, rows=rows)
    np.testing.assert_array_equal(errors, brute.min(axis=1)[rows])
    np.testing.assert_array_equal(Ub, subsets[brute.argmin(axis=1)[rows]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auto_init_is_never_worse_than_each_single_init(seed):
    # "auto" runs the candidates of every single init (same seeds and
    # n_init) and keeps the best, so its error is at most each of theirs.
    # Real data (300 random rows of the binarized digits), where the inits
    # disagree.
    digits = (load_digits().data > 7).astype(float)
    X = digits[np.random.RandomState(seed).choice(len(digits), 300, replace=False)]
    errors = {
        init: BooleanMF(6, init=init, n_init=2, random_state=seed)
        .fit(X)
        .reconstruction_err_
        for init in ("auto", "nmf", "asso", "random")
    }
    assert errors["auto"] <= min(errors["nmf"], errors["asso"], errors["random"])
    # not a trivial problem: the single inits do not all agree
    assert len(set(errors.values())) > 1


@pytest.mark.parametrize(
    "init, n_init, expected",
    [("auto", "auto", 0), ("random", "auto", 1), ("auto", 2, 2), ("random", 3, 3)],
)
def test_n_init_auto_adds_random_starts_only_to_init_random(
    monkeypatch, init, n_init, expected
):
    # n_init="auto" (as in KMeans): one random start for init="random",
    # none for init="auto"; an explicit n_init is used as given.
    calls = []
    original = candidates_module._elbmf_candidate

    def counting(X, XT, U0, Vt0, **kwargs):
        calls.append(U0.shape)
        return original(X, XT, U0, Vt0, **kwargs)

    monkeypatch.setattr(candidates_module, "_elbmf_candidate", counting)
    X, _, _ = make_boolean_tiles(
        60, 40, 3, row_fraction=0.3, col_fraction=0.3, noise=0.05, random_state=0
    )
    BooleanMF(3, init=init, n_init=n_init, random_state=0).fit(X)
    # Elbmf runs: one per random start, plus NMF's and Asso's under "auto"
    assert len(calls) == expected + (2 if init == "auto" else 0)


def test_asso_takes_candidates_from_frequent_columns_on_large_input(
    monkeypatch, capsys
):
    # three disjoint 40 x 10 blocks (40 ones per column) and 60 noise
    # columns with at most a few ones
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(120, 90)) < 0.02).astype(float)
    for b in range(3):
        X[40 * b : 40 * b + 40, 10 * b : 10 * b + 10] = 1
    full = _column_confidence(X, X.T)
    # a budget for 30 candidates: the 30 block columns generate them
    monkeypatch.setattr(candidates_module, "_ASSO_MAX_CELLS", 30 * (120 + 90))
    generators = _asso_generators(X, candidates_module._ASSO_MAX_CELLS)
    np.testing.assert_array_equal(generators, np.arange(30))
    np.testing.assert_allclose(_column_confidence(X, X.T, generators), full[:30])
    bmf = BooleanMF(3, init="asso", random_state=0, verbose=1).fit(X)
    assert "from the 30 most frequent columns" in capsys.readouterr().out
    blocks = np.zeros((3, 90))
    for b in range(3):
        blocks[b, 10 * b : 10 * b + 10] = 1
    _, order = linear_sum_assignment(-(blocks @ bmf.components_.T))
    np.testing.assert_array_equal(bmf.components_[order], blocks)


# -- planted recovery (acceptance test) -------------------------------------


def test_planted_overlapping_tiles_are_recovered(overlapping, fitted):
    X, U, V, clean = overlapping
    bmf, U_hat = fitted
    B = bmf.inverse_transform(U_hat)
    # Reconstruction error against the clean matrix at most the noise level
    # (in fact far below: the noise is what the model does not explain).
    assert cell_error_rate(B, clean) <= NOISE
    assert cell_error_rate(B, clean) <= 0.005
    # Against the noisy X the error is about the noise itself.
    assert bmf.reconstruction_err_ / X.size <= NOISE + 0.005
    recall, precision = tile_scores(U, V, U_hat, bmf.components_)
    assert recall >= 0.95
    assert precision >= 0.95


def test_factors_are_exactly_binary_and_inverse_is_the_boolean_product(fitted):
    bmf, U_hat = fitted
    V = bmf.components_
    assert set(np.unique(V)) <= {0.0, 1.0}
    assert set(np.unique(U_hat)) <= {0.0, 1.0}
    B = bmf.inverse_transform(U_hat)
    np.testing.assert_array_equal(B, (U_hat @ V > 0).astype(float))
    # The tiles overlap, so the real product exceeds 1 where the Boolean
    # product (what inverse_transform returns) is 1.
    assert (U_hat @ V).max() > 1
    assert B.max() == 1.0


def test_reported_error_and_curves_are_consistent(overlapping, fitted):
    X = overlapping[0]
    bmf, U_hat = fitted
    wrong = int(np.sum(bmf.inverse_transform(U_hat) != X))
    assert bmf.reconstruction_err_ == wrong
    assert bmf.relative_reconstruction_err_ == pytest.approx(wrong / X.sum())
    assert bmf.score(X) == pytest.approx(-bmf.description_length_ / X.size)
    assert len(bmf.loss_curve_) == bmf.n_iter_ >= 1
    assert np.all(np.diff(bmf.polish_curve_[1:]) <= 0)


def test_transform_recovers_the_memberships_of_new_rows():
    X, U, V = make_boolean_tiles(
        800, 300, 4, row_fraction=0.3, col_fraction=0.3, noise=0.05, random_state=5
    )
    bmf = BooleanMF(4, random_state=0).fit(X[:600])
    U_new = bmf.transform(X[600:])
    # match fitted tiles to planted ones by their columns
    _, order = linear_sum_assignment(-(V.astype(float) @ bmf.components_.T))
    assert np.mean(U_new[:, order] == U[600:]) >= 0.98


def test_sparse_input_stays_sparse_and_recovers_tiles():
    X, U, V = make_boolean_tiles(
        3000,
        2000,
        6,
        row_fraction=0.05,
        col_fraction=0.05,
        noise=0.05,
        sparse=True,
        random_state=2,
    )
    assert sp.issparse(X)
    bmf = BooleanMF(6, random_state=0).fit(X)
    U_hat = bmf.transform(X)
    recall, precision = tile_scores(U, V, U_hat, bmf.components_)
    assert recall >= 0.95 and precision >= 0.95
    # the Boolean error counts of the sparse path agree with a dense count
    dense_wrong = int(np.sum(X.toarray() != bmf.inverse_transform(U_hat)))
    assert bmf.reconstruction_err_ == dense_wrong


def test_rows_pass_counts_errors_like_a_dense_product():
    X, _, V = make_boolean_tiles(200, 150, 3, noise=0.1, random_state=4)
    rng = np.random.RandomState(0)
    U0 = (rng.uniform(size=(200, 3)) < 0.5).astype(float)
    for data in (X.astype(float), sp.csr_matrix(X, dtype=float)):
        U, wrong = _boolean_rows_pass(data, U0, V.astype(float))
        assert wrong == _boolean_errors(data, U, V)
        assert wrong <= _boolean_errors(data, U0, V)


def test_inertial_steps_also_recover_tiles():
    X, U, V = make_boolean_tiles(
        400, 300, 4, row_fraction=0.2, col_fraction=0.2, noise=0.05, random_state=6
    )
    bmf = BooleanMF(4, init="random", beta=0.3, random_state=0).fit(X)
    recall, precision = tile_scores(U, V, bmf.transform(X), bmf.components_)
    assert recall >= 0.95 and precision >= 0.95


def test_binarize_thresholds_real_valued_input():
    X, _, _ = make_boolean_tiles(100, 80, 3, noise=0.02, random_state=0)
    real = X * 0.8 + np.random.RandomState(0).uniform(0, 0.2, size=X.shape)
    a = BooleanMF(3, binarize=0.5, random_state=0).fit(real)
    b = BooleanMF(3, random_state=0).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)


def test_max_iter_reached_warns():
    X, _, _ = make_boolean_tiles(100, 80, 3, noise=0.02, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        BooleanMF(3, init="random", max_iter=3, random_state=0).fit(X)


# -- bad input ----------------------------------------------------------------


def test_non_binary_input_without_binarize_is_rejected():
    X = np.array([[0.0, 1.0], [0.5, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="binary.*0.5.*binarize"):
        BooleanMF(1).fit(X)


def test_nan_is_rejected():
    X = np.array([[0.0, 1.0], [np.nan, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="NaN"):
        BooleanMF(1).fit(X)


def test_negative_values_are_rejected_even_with_binarize():
    X = np.array([[0.0, 1.0], [-1.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="Negative values"):
        BooleanMF(1).fit(X)
    with pytest.raises(ValueError, match="Negative values"):
        BooleanMF(1, binarize=0.5).fit(X)


@pytest.mark.parametrize("k", [0, -2])
def test_n_components_below_one_is_rejected(k):
    with pytest.raises(InvalidParameterError, match="n_components"):
        BooleanMF(k).fit(np.eye(3))


def test_n_components_above_min_shape_is_rejected():
    with pytest.raises(ValueError, match=r"n_components=4 is too large.*\(3, 5\)"):
        BooleanMF(4).fit(np.ones((3, 5)))


@pytest.mark.parametrize("tau", [0.0, 1.5, [0.5, -0.1], []])
def test_asso_tau_outside_zero_one_is_rejected(tau):
    X, _, _ = make_boolean_tiles(40, 30, 2, random_state=0)
    with pytest.raises((ValueError, InvalidParameterError), match="asso_tau"):
        BooleanMF(2, init="asso", asso_tau=tau).fit(X)


def test_inverse_transform_checks_the_shape(fitted):
    bmf, _ = fitted
    with pytest.raises(ValueError, match="shape"):
        bmf.inverse_transform(np.ones((3, 2)))


def test_sparse_fit_never_forms_a_dense_n_by_m_array():
    import tracemalloc

    X, _, _ = make_boolean_tiles(
        40_000,
        5_000,
        5,
        row_fraction=0.01,
        col_fraction=0.02,
        noise=0.05,
        sparse=True,
        random_state=0,
    )
    dense_bytes = X.shape[0] * X.shape[1] * 4  # even float32 would be 800 MB
    tracemalloc.start()
    try:
        bmf = BooleanMF(5, random_state=0).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < dense_bytes / 8
    assert bmf.relative_reconstruction_err_ < 0.1


def _description_length_by_hand(X, U, V, n_fit, code=None):
    """MDL4BMF-style two-part code, written out cell by cell (dense)."""
    X, U, V = (np.asarray(a, dtype=bool) for a in (X, U, V))
    n, m = X.shape
    k = V.shape[0]
    cover = (U.astype(float) @ V.astype(float)) > 0
    if code is None:
        p = (U.sum(axis=0) + 0.5) / (n + 1)
        q_under = (np.sum(X & ~cover) + 0.5) / (np.sum(~cover) + 1)
        q_over = (np.sum(~X & cover) + 0.5) / (np.sum(cover) + 1)
    else:
        p, (q_under, q_over) = code
    # log2* k + log2 c0, by its definition
    log_star, x = np.log2(2.865064), float(k)
    while np.log2(x) > 0:
        x = np.log2(x)
        log_star += x
    sizes = V.sum(axis=1)
    binom = [np.log2(float(comb(m, int(s)))) for s in sizes]
    model = log_star + k * np.log2(m + 1) + sum(binom)
    model += k * np.log2(n_fit + 1) + 2 * np.log2(n_fit * m + 1)
    rows = -np.sum(np.where(U, np.log2(p), np.log2(1 - p)))
    cells = np.where(
        cover,
        np.where(X, np.log2(1 - q_over), np.log2(q_over)),
        np.where(X, np.log2(q_under), np.log2(1 - q_under)),
    )
    return model * n / n_fit + rows - cells.sum()


def test_score_is_minus_the_description_length_per_cell():
    X, _, _ = make_boolean_tiles(
        120, 90, 3, row_fraction=0.3, col_fraction=0.3, noise=0.05, random_state=0
    )
    train, test = X[:80], X[80:]
    bmf = BooleanMF(4, random_state=0).fit(train)
    V = bmf.components_
    expected = _description_length_by_hand(train, bmf.transform(train), V, 80)
    assert bmf.description_length_ == pytest.approx(expected, rel=1e-10)
    assert bmf.score(train) == pytest.approx(-expected / train.size, rel=1e-10)
    # Held-out rows: the training code, the model charged for 40 of 80 rows.
    code = (bmf.tile_frequencies_, bmf.error_rates_)
    expected = _description_length_by_hand(test, bmf.transform(test), V, 80, code)
    assert bmf.score(test) == pytest.approx(-expected / test.size, rel=1e-10)
    assert bmf.score(sp.csr_matrix(test)) == pytest.approx(bmf.score(test))


@pytest.mark.parametrize("k", [1, 4, 14])
def test_covered_cells_counts_the_boolean_product(k):
    rng = np.random.RandomState(k)
    U = rng.uniform(size=(300, k)) < 0.3
    V = rng.uniform(size=(k, 70)) < 0.2
    U[:10] = False  # rows without tiles
    V[:, :5] = False  # columns no tile covers
    expected = np.count_nonzero(U.astype(float) @ V.astype(float) > 0)
    assert _covered_cells(U, V) == expected


def _old_score(estimator, X, y=None):
    # What score used to be: minus the relative Boolean error, which more
    # tiles can only lower.
    U = estimator.transform(X)
    wrong = np.sum(estimator.inverse_transform(U) != np.asarray(X))
    return -wrong / max(np.sum(X), 1)


@pytest.mark.parametrize(
    "n, m, k, fraction, noise, sparse, seed",
    [
        (100, 80, 3, 0.2, 0.05, False, 0),
        (100, 80, 3, 0.2, 0.15, False, 1),
        (60, 40, 3, 0.3, 0.05, False, 2),
        (80, 120, 5, 0.2, 0.03, False, 0),
        (400, 300, 3, 0.05, 0.02, True, 1),
    ],
)
def test_gridsearch_with_the_default_score_finds_the_planted_rank(
    n, m, k, fraction, noise, sparse, seed
):
    # The description length (MDL) trades tiles against wrong cells: with
    # no scoring, GridSearchCV picks the number of planted tiles.
    X, _, _ = make_boolean_tiles(
        n,
        m,
        k,
        row_fraction=fraction,
        col_fraction=fraction,
        noise=noise,
        sparse=sparse,
        random_state=seed,
    )
    grid = {"n_components": list(range(1, 13))}
    search = GridSearchCV(BooleanMF(random_state=0), grid).fit(X)
    assert search.best_params_["n_components"] == k
    if seed == 0:
        # The old score, minus the relative error, prefers more tiles.
        old = GridSearchCV(BooleanMF(random_state=0), grid, scoring=_old_score)
        assert old.fit(X).best_params_["n_components"] > k


def test_negative_binarize_dense_gives_all_ones_sparse_is_an_error():
    # X >= 0, so a negative threshold makes every entry 1 -- the implicit
    # zeros of sparse X included, which sparse storage cannot express.
    X, _, _ = make_boolean_tiles(50, 40, 3, noise=0.05, random_state=0)
    real = X * np.random.RandomState(0).uniform(0.5, 1.0, size=X.shape)
    with pytest.warns(UserWarning, match="every entry of the non-negative X into 1"):
        dense = BooleanMF(2, binarize=-0.5, random_state=0).fit(real)
    ones = BooleanMF(2, random_state=0).fit(np.ones_like(real))
    np.testing.assert_array_equal(dense.components_, ones.components_)
    assert dense.reconstruction_err_ == 0
    with pytest.raises(ValueError, match="binarize=-0.5 < 0 .* implicit zeros"):
        BooleanMF(2, binarize=-0.5).fit(sp.csr_matrix(real))
    fitted = BooleanMF(2, binarize=0.5, random_state=0).fit(real)
    with pytest.raises(ValueError, match="binarize=-0.5 < 0"):
        fitted.set_params(binarize=-0.5).transform(sp.csr_matrix(real))
    # binarize >= 0 keeps dense and sparse the same model
    a = BooleanMF(2, binarize=0.0, random_state=0).fit(real)
    b = BooleanMF(2, binarize=0.0, random_state=0).fit(sp.csr_matrix(real))
    np.testing.assert_array_equal(a.components_, b.components_)
