"""sklearn's common checks and the shared tests, for every public estimator."""

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_lowrank import _threads
from sklearn_lowrank.discovery import all_estimators
from tests.estimator_registry import CASES, output, with_known_bugs

ESTIMATORS = all_estimators()
NAMES = [name for name, _ in ESTIMATORS]


def _instance(name, cls):
    case = CASES.get(name)
    est = cls(**(case.params if case else {}))
    if _has_random_state(est):
        est.set_params(random_state=0)
    return est


def _check_instance(name, cls):
    # Estimators whose input is not 2-D data run sklearn's checks through an
    # adapter that maps the checks' 2-D data to their input (SPDRows).
    case = CASES.get(name)
    if case is not None and case.check_adapter is not None:
        cls = case.check_adapter
    return _instance(name, cls)


def _case_of(estimator):
    name = type(estimator).__name__
    for case_name, case in CASES.items():
        if case_name == name or (
            case.check_adapter is not None and case.check_adapter.__name__ == name
        ):
            return case
    return None


def _expected_failed_checks(estimator):
    case = _case_of(estimator)
    return dict(case.expected_failed_checks) if case else {}


def _outputs(estimator, X):
    """What a user reads from a fitted estimator: predictions or transforms."""
    if hasattr(estimator, "predict"):
        return np.asarray(estimator.predict(X))
    return np.asarray(estimator.transform(X))


def _has_random_state(estimator):
    return "random_state" in estimator.get_params()


def test_every_estimator_has_a_registry_entry():
    missing = sorted(set(NAMES) - set(CASES))
    assert not missing, (
        f"add these estimators to tests/estimator_registry.py: {missing}"
    )
    unknown = sorted(set(CASES) - set(NAMES))
    assert not unknown, f"registry entries without a public estimator: {unknown}"


def test_every_xfail_has_a_reason():
    for name, case in CASES.items():
        for check, reason in case.expected_failed_checks.items():
            assert isinstance(reason, str) and len(reason) > 10, (name, check)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [_check_instance(name, cls) for name, cls in ESTIMATORS],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


class _BrokenRegressor(RegressorMixin, BaseEstimator):
    """Violates the API on purpose: fit changes a constructor parameter."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.alpha = self.alpha * 2  # not allowed: parameters are read-only
        self.coef_ = np.linalg.lstsq(X, y, rcond=None)[0]
        return self

    def predict(self, X):
        X = validate_data(self, X, reset=False)
        return X @ self.coef_


def test_common_checks_catch_a_broken_estimator():
    # The harness above is only worth something if it fails on a bad estimator.
    with pytest.raises(AssertionError, match="alpha"):
        check_estimator(_BrokenRegressor())


def _fitted(name, cls, random_state=0):
    case = CASES[name]
    X, y = case.make_data(random_state)
    est = _instance(name, cls)
    if _has_random_state(est):
        est.set_params(random_state=random_state)
    return est.fit(X, y), X, y


registered = pytest.mark.parametrize(
    "name, cls",
    [(n, c) for n, c in ESTIMATORS if n in CASES],
    ids=lambda v: getattr(v, "__name__", v),
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@registered
def test_works_in_pipeline(name, cls):
    est, X, y = _fitted(name, cls)
    pipe = make_pipeline(clone(est)).fit(X, y)
    np.testing.assert_allclose(
        _outputs(pipe, X), _outputs(est, X), rtol=1e-10, atol=1e-12
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@registered
def test_grid_search_tunes_the_estimator(name, cls):
    # What GridSearchCV shows about *our* estimator: its own score is used
    # when it has one (no scoring argument), the grid parameter reaches the
    # fit through set_params/clone (candidates score differently), each
    # score is finite, and the refitted best model is the model a user gets
    # by fitting with the best parameters.
    case = CASES[name]
    X, y = case.make_data(0)
    est = _instance(name, cls)
    scoring = None if hasattr(est, "score") else case.scoring
    assert hasattr(est, "score") or scoring is not None, (
        f"{name} has no score: give its registry case a scoring"
    )
    search = GridSearchCV(est, case.grid, cv=3, scoring=scoring).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)), scores
    assert np.ptp(scores) > 0, (
        f"{name}: every value of {case.grid} gives the same CV score {scores}; "
        "the parameter does not reach the fit"
    )
    refit = clone(est).set_params(**search.best_params_).fit(X, y)
    np.testing.assert_allclose(
        _outputs(search.best_estimator_, X), _outputs(refit, X), rtol=1e-8, atol=1e-10
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@registered
def test_clone_refits_to_the_same_model(name, cls):
    # Persistence (pickle, skops) is tested in tests/test_persistence.py.
    est, X, y = _fitted(name, cls)
    refit = clone(est).fit(X, y)
    np.testing.assert_allclose(
        _outputs(refit, X), _outputs(est, X), rtol=1e-10, atol=1e-12
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@registered
def test_random_state_makes_fits_reproducible(name, cls):
    est, X, y = _fitted(name, cls, random_state=7)
    again, _, _ = _fitted(name, cls, random_state=7)
    np.testing.assert_array_equal(_outputs(again, X), _outputs(est, X))


def _blas_threads():
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return max(counts)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@registered
def test_blas_limit_is_in_force_during_fit(name, cls, monkeypatch):
    seen = []

    def probe(budget):
        seen.append((budget, _blas_threads()))

    monkeypatch.setattr(_threads, "_fit_probe", probe)
    with threadpool_limits(limits=1, user_api="blas"):
        _fitted(name, cls)
    assert seen, f"{name}.fit does not run under sklearn_lowrank._threads.bounded_fit"
    assert all(budget == 1 and actual == 1 for budget, actual in seen), seen


# --- shared checks generated from the registry's capability flags -----------


def _cases_with(flag, test_name):
    """(name, cls) pairs whose registry case has a truthy/non-None ``flag``."""
    pairs = [
        (n, c)
        for n, c in ESTIMATORS
        if n in CASES and getattr(CASES[n], flag) not in (None, False)
    ]
    return pytest.mark.parametrize("name, cls", with_known_bugs(test_name, pairs))


def _sparsifiable_data(name):
    # Half of the entries zeroed (dense data has no zeros to store sparsely).
    X, y = CASES[name].make_data(0)
    rng = np.random.default_rng(0)
    X = np.where(rng.random(X.shape) < 0.5, 0.0, X)
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@_cases_with("sparse", "test_sparse_input_gives_the_dense_answer")
def test_sparse_input_gives_the_dense_answer(name, cls):
    case = CASES[name]
    X, y = _sparsifiable_data(name)
    X_sparse = case.sparse(X)
    assert sp.issparse(X_sparse)
    dense = _instance(name, cls).fit(X, y)
    sparse = _instance(name, cls).fit(X_sparse, y)
    np.testing.assert_allclose(
        output(sparse, X_sparse), output(dense, X), rtol=1e-6, atol=1e-9
    )


@_cases_with("iterative", "test_max_iter_1_warns_naming_the_estimator")
def test_max_iter_1_warns_naming_the_estimator(name, cls):
    case = CASES[name]
    X, y = case.make_data(0)
    est = _instance(name, cls).set_params(max_iter=1, **case.iterative)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        est.fit(X, y)  # the user's line: warnings must point here
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert convergence, f"{name}(max_iter=1) stopped early without a ConvergenceWarning"
    message = str(convergence[0].message)
    assert message.startswith(f"{name} did not converge"), (
        f"not the package's wording (_messages.warn_not_converged): {message!r}"
    )
    where = (convergence[0].filename, convergence[0].lineno)
    assert where == (__file__, line), (
        f"{name}'s ConvergenceWarning points at {where}, not at the user's call"
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@_cases_with("partial_fit", "test_fit_equals_one_partial_fit")
def test_fit_equals_one_partial_fit(name, cls):
    X, y = CASES[name].make_data(0)
    fitted = _instance(name, cls).fit(X, y)
    streamed = _instance(name, cls).partial_fit(X, y)
    np.testing.assert_allclose(
        output(streamed, X), output(fitted, X), rtol=1e-7, atol=1e-9
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@_cases_with("dask_transform", "test_dask_transform_equals_in_memory")
def test_dask_transform_equals_in_memory(name, cls):
    da = pytest.importorskip("dask.array")
    X, y = CASES[name].make_data(0)
    est = _instance(name, cls).fit(X, y)
    lazy = est.transform(da.from_array(X, chunks=(len(X) // 3 + 1, X.shape[1])))
    assert hasattr(lazy, "compute"), f"{name}.transform gathered the dask array"
    np.testing.assert_allclose(
        np.asarray(lazy.compute()), est.transform(X), rtol=1e-10, atol=1e-12
    )
