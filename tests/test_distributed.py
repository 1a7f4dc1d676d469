"""Scale-out on dask: distributed search and fits on row-chunked dask arrays.

Hyperparameter search on a dask.distributed cluster gives loky's results;
``SketchedLeastSquares.fit`` on a dask array gives the in-memory fit.  The
cluster tests run on one module-scoped local cluster with two
single-threaded worker processes; the dask-array tests that need no cluster
use dask's local scheduler.  Skipped when the ``distributed`` extra is absent
(the ``test`` extra installs it).
"""

import sys

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from sklearn.model_selection import GridSearchCV

from sklearn_lowrank import SketchedLeastSquares, _dask
from sklearn_lowrank.datasets import make_leverage_regression
from sklearn_lowrank.discovery import all_estimators
from tests.estimator_registry import CASES

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")


def test_dask_backend_without_a_client_says_start_one():
    # "A cluster that is not reachable" for joblib's dask backend: no Client.
    # joblib's own error names the fix; we document it instead of wrapping.
    if distributed.client._get_global_client() is not None:
        pytest.skip("a dask Client is already running in this process")
    with (
        pytest.raises(ValueError, match="first create a Dask Client"),
        parallel_config(backend="dask"),
    ):
        Parallel(n_jobs=2)(delayed(abs)(i) for i in range(2))


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _search(name, cls, backend):
    case = CASES[name]
    X, y = case.make_data(0)
    search = GridSearchCV(
        cls(**case.params), case.grid, cv=3, scoring=case.scoring, n_jobs=2
    )
    with parallel_config(backend=backend):
        search.fit(X, y)
    return search


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "name, cls",
    [(n, c) for n, c in all_estimators() if n in CASES],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_grid_search_on_dask_equals_loky(name, cls, client):
    on_dask = _search(name, cls, "dask")
    on_loky = _search(name, cls, "loky")
    assert on_dask.best_params_ == on_loky.best_params_
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"],
        on_loky.cv_results_["mean_test_score"],
        rtol=1e-10,
    )


# -- SketchedLeastSquares.fit on row-chunked dask arrays ---------------------


def _regression(condition_number, n=12_000, d=15):
    X, y, _ = make_leverage_regression(
        n, d, condition_number=condition_number, noise=0.1, random_state=0
    )
    return X, y


def _exact(X, y):
    Xc = np.c_[X, np.ones(len(X))]
    return np.linalg.lstsq(Xc, y, rcond=None)[0][:-1]


@pytest.mark.parametrize("condition_number, tol", [(10, 1e-10), (1e3, 1e-13)])
def test_dask_precondition_fit_equals_in_memory_fit(condition_number, tol):
    # Different sketches (drawn per block), same exact least-squares solution.
    X, y = _regression(condition_number)
    params = dict(random_state=0, tol=tol)
    in_memory = SketchedLeastSquares(**params).fit(X, y)
    on_dask = SketchedLeastSquares(**params).fit(
        da.from_array(X, chunks=(2500, -1)), da.from_array(y, chunks=4000)
    )
    scale = np.abs(in_memory.coef_).max()
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, atol=1e-10 * scale)
    assert abs(on_dask.intercept_ - in_memory.intercept_) <= 1e-10 * (
        abs(in_memory.intercept_) + scale
    )
    assert on_dask.sketch_ == "countsketch" and on_dask.n_iter_ > 0
    assert on_dask.n_features_in_ == X.shape[1]
    # Same random_state, same chunks: the same sketch, hence the same fit up
    # to rounding (blocks may run in other processes, with other alignment,
    # and near tol=1e-13 CG amplifies last-bit differences).
    again = SketchedLeastSquares(**params).fit(da.from_array(X, chunks=(2500, -1)), y)
    np.testing.assert_allclose(again.coef_, on_dask.coef_, atol=1e-10 * scale)


def test_dask_fit_with_weights_and_several_targets():
    X, y = _regression(100)
    Y = np.c_[y, 2 * y + 1]
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    est = SketchedLeastSquares(random_state=0, tol=1e-13).fit(
        da.from_array(X, chunks=(3000, -1)), Y, sample_weight=da.from_array(w, 5000)
    )
    sw = np.sqrt(w)[:, None]
    exact = np.linalg.lstsq(sw * np.c_[X, np.ones(len(X))], sw * Y, rcond=None)[0]
    np.testing.assert_allclose(est.coef_, exact[:-1].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, exact[-1], rtol=1e-9)


def test_dask_sketch_and_solve_meets_its_bound():
    # ||coef - coef*||_inf <= eps / sqrt(d) ||X coef* - y|| ||X^+||, eps=0.5.
    X, y = _regression(1e3)
    est = SketchedLeastSquares(mode="sketch_and_solve", random_state=0).fit(
        da.from_array(X, chunks=(3000, -1)), y
    )
    assert est.sketch_ == "sparse_sign" and est.n_iter_ == 0
    exact = _exact(X, y)
    Xc = X - X.mean(axis=0)
    residual = np.linalg.norm(Xc @ exact - (y - y.mean()))
    bound = (
        0.5 / np.sqrt(X.shape[1]) * residual / np.linalg.svd(Xc, compute_uv=False)[-1]
    )
    assert np.abs(est.coef_ - exact).max() <= bound


def test_dask_fit_on_the_cluster_equals_in_memory_fit(client):
    # Blocks persisted on the two workers: each block's sketch and CG pass
    # run where the block lives; only d-sized results travel.
    X, y = _regression(100)
    dX = client.persist(da.from_array(X, chunks=(2000, -1)))
    est = SketchedLeastSquares(random_state=0, tol=1e-13).fit(dX, y)
    np.testing.assert_allclose(est.coef_, _exact(X, y), rtol=1e-10, atol=1e-12)


def test_dask_fit_bad_input_names_the_fix():
    X, y = _regression(10, n=2000)
    dX = da.from_array(X, chunks=(500, -1))
    est = SketchedLeastSquares()
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes"):
        est.fit(dX[dX[:, 0] > -np.inf], y)
    with pytest.raises(ValueError, match=r"chunked along its columns.*rechunk"):
        est.fit(da.from_array(X, chunks=(500, 5)), y)
    with pytest.raises(ValueError, match=r"y has 1999 rows but X has 2000"):
        est.fit(dX, y[:-1])
    with pytest.raises(ValueError, match="srtt.*block by block"):
        SketchedLeastSquares(sketch="srtt").fit(dX, y)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.fit(da.from_array(bad, chunks=(500, -1)), y)


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_dask_fit_of_constant_columns_and_extreme_scales():
    # The same row source checks as in memory: an exactly constant column
    # gets coefficient 0 (one extra pass over that column only), and y at
    # 1e300 is fitted in power-of-two units, so the fit is the scaled fit.
    X, y = _regression(10, n=6000, d=4)
    X[:, 2] = 0.1
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    dX = da.from_array(X, chunks=(1500, -1))
    dw = da.from_array(w, chunks=1500)
    est = SketchedLeastSquares(random_state=0).fit(dX, y, sample_weight=dw)
    assert est.coef_[2] == 0.0
    sw = np.sqrt(w)[:, None]
    keep = [0, 1, 3]
    exact = np.linalg.lstsq(sw * np.c_[X[:, keep], np.ones(len(y))], sw[:, 0] * y)[0]
    np.testing.assert_allclose(est.coef_[keep], exact[:-1], rtol=1e-9)
    huge = SketchedLeastSquares(random_state=0).fit(dX, y * 1e300, sample_weight=dw)
    np.testing.assert_allclose(huge.coef_ / 1e300, est.coef_, rtol=1e-9, atol=0)
    assert huge.n_iter_ == est.n_iter_
    flat = SketchedLeastSquares(random_state=0).fit(
        da.from_array(np.full((6000, 3), 0.3), chunks=(1500, -1)), y
    )
    assert flat.n_iter_ == 0 and np.all(flat.coef_ == 0.0)
    assert flat.intercept_ == pytest.approx(y.mean(), rel=1e-12)


def test_dask_fit_of_a_small_problem_is_solved_exactly():
    # Fewer rows than the sketch would have: gathered and solved exactly.
    X, y = _regression(10, n=120, d=6)
    est = SketchedLeastSquares().fit(da.from_array(X, chunks=(50, -1)), y)
    assert est.sketch_ == "identity"
    np.testing.assert_allclose(est.coef_, _exact(X, y), rtol=1e-10)


def test_dask_dataframe_is_refused_with_the_conversion():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = _regression(10, n=400, d=3)
    df = dd.from_pandas(pd.DataFrame(X, columns=list("abc")), npartitions=2)
    with pytest.raises(TypeError, match=r"to_dask_array\(lengths=True\)"):
        SketchedLeastSquares().fit(df, y)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"sklearn-lowrank\[distributed\]"):
        _dask._import_dask()


# -- Streaming KRR under dask-ml Incremental ---------------------------------


def test_nystrom_krr_under_incremental_keeps_the_guarantee():
    # With every point in the dictionary the streamed Nystrom problem is the
    # exact KernelRidge problem (the guarantee of partial_fit, see its Notes).
    Incremental = pytest.importorskip("dask_ml.wrappers").Incremental
    from sklearn.kernel_ridge import KernelRidge

    from sklearn_lowrank import NystromKRR

    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(150, 2))
    y = np.sin(X[:, 0]) + np.cos(X.sum(axis=1))
    exact = KernelRidge(alpha=0.1, kernel="rbf", gamma=0.5).fit(X, y)
    params = dict(n_components=150, alpha=0.1, gamma=0.5, sampling="uniform")
    inc = Incremental(NystromKRR(**params, random_state=0)).fit(
        da.from_array(X, chunks=(50, -1)), da.from_array(y, chunks=50)
    )
    assert inc.estimator_.n_samples_seen_ == 150
    np.testing.assert_allclose(inc.predict(X), exact.predict(X), atol=1e-8)


def test_nystrom_krr_incremental_is_partial_fit_over_the_blocks():
    Incremental = pytest.importorskip("dask_ml.wrappers").Incremental

    from sklearn_lowrank import NystromKRR

    rng = np.random.RandomState(1)
    X = rng.uniform(-2, 2, size=(1200, 3))
    y = np.sin(X).sum(axis=1) + 0.1 * rng.standard_normal(1200)
    params = dict(n_components=60, alpha=1e-2, random_state=0)
    # In block order (Incremental shuffles the blocks by default).
    inc = Incremental(NystromKRR(**params), shuffle_blocks=False).fit(
        da.from_array(X, chunks=(300, -1)), da.from_array(y, chunks=300)
    )
    by_hand = NystromKRR(**params)
    for rows in np.array_split(np.arange(1200), 4):
        by_hand.partial_fit(X[rows], y[rows])
    np.testing.assert_array_equal(
        inc.estimator_.component_indices_, by_hand.component_indices_
    )
    # Equal up to rounding: the dask worker runs BLAS on one thread, this
    # process on two, and the blocking of the products differs.
    expected = by_hand.predict(X)
    np.testing.assert_allclose(
        inc.predict(X), expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max()
    )


# -- Fold-in transforms, block by block --------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["AltMinCompleter", "CEBMF", "BooleanMF"])
def test_fold_in_transform_of_dask_rows_equals_in_memory(name):
    ParallelPostFit = pytest.importorskip("dask_ml.wrappers").ParallelPostFit

    import sklearn_lowrank

    case = CASES[name]
    X, _ = case.make_data(0)
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    est = getattr(sklearn_lowrank, name)(**case.params).fit(X)
    expected = est.transform(X)
    dX = da.from_array(X, chunks=(len(X) // 3, -1))
    lazy = est.transform(dX)  # a lazy dask array, one task per row block
    assert isinstance(lazy, da.Array) and lazy.shape == expected.shape
    np.testing.assert_array_equal(lazy.compute(), expected)
    # dask-ml's wrapper gives the same values (its declared chunks are X's).
    post = ParallelPostFit(est).transform(dX)
    np.testing.assert_array_equal(post.compute(), expected)
    with pytest.raises(ValueError, match=r"rechunk\(\{1: -1\}\)"):
        est.transform(da.from_array(X, chunks=(20, 10)))


# -- Structure: helpers never import an estimator ------------------------------


def test_helpers_import_no_estimator_module():
    # CONTRIBUTING: estimators -> helpers, never back, not even inside a
    # function (the old _dask.py imported least_squares function-locally).
    import ast
    from pathlib import Path

    package = Path(_dask.__file__).parent
    helpers = (
        "_dask.py",
        "_sketches.py",
        "_threads.py",
        "_validation.py",
        "_messages.py",
        "_linalg.py",
        "_metrics.py",
    )
    for helper in helpers:
        tree = ast.parse((package / helper).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [
                    f"{node.module}.{a.name}" for a in node.names
                ]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "sklearn_lowrank" and len(parts) > 1:
                    assert parts[1].startswith("_"), (helper, name)
