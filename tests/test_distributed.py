"""Hyperparameter search on a dask.distributed cluster gives loky's results.

Runs on a local cluster with two single-threaded worker processes; skipped
when the ``distributed`` extra is absent (the ``test`` extra installs it).
"""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from sklearn_lowrank.discovery import all_estimators
from tests.estimator_registry import CASES

distributed = pytest.importorskip("distributed")


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
