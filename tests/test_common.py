"""sklearn's common checks and the shared tests, for every public estimator."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_lowrank import _threads
from sklearn_lowrank.discovery import all_estimators
from tests.estimator_registry import CASES

ESTIMATORS = all_estimators()
NAMES = [name for name, _ in ESTIMATORS]


def _instance(name, cls):
    case = CASES.get(name)
    return cls(**(case.params if case else {}))


def _expected_failed_checks(estimator):
    case = CASES.get(type(estimator).__name__)
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
    [_instance(name, cls) for name, cls in ESTIMATORS],
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
def test_grid_search_runs_and_refits(name, cls):
    case = CASES[name]
    X, y = case.make_data(0)
    est = _instance(name, cls)
    search = GridSearchCV(est, case.grid, cv=3, scoring=case.scoring).fit(X, y)
    ((param, values),) = case.grid.items()
    assert search.best_params_[param] in values
    assert len(search.cv_results_["params"]) == len(values)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    refit = clone(est).set_params(**search.best_params_).fit(X, y)
    np.testing.assert_allclose(
        _outputs(search.best_estimator_, X), _outputs(refit, X), rtol=1e-8, atol=1e-10
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@registered
def test_clone_and_pickle_round_trip(name, cls):
    est, X, y = _fitted(name, cls)
    expected = _outputs(est, X)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_outputs(restored, X), expected)
    refit = clone(est).fit(X, y)
    np.testing.assert_allclose(_outputs(refit, X), expected, rtol=1e-10, atol=1e-12)


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
