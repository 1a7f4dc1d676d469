"""Per-estimator settings for the common checks and the shared tests.

One entry per public estimator (``tests/test_common.py`` fails if an
estimator found by :func:`sklearn_lowrank.discovery.all_estimators` has none):

- ``params``: small, fast constructor settings for sklearn's common checks
  (the role of ``INIT_PARAMS`` in sklearn's instance generator);
- ``expected_failed_checks``: ``{check_name: reason}``; every entry must say
  why the check cannot pass for this estimator;
- ``make_data``: ``random_state -> (X, y)`` on which the shared tests fit the
  estimator (``y`` may be None for unsupervised estimators);
- ``grid``: a one-parameter grid for the ``GridSearchCV`` test;
- ``scoring``: scorer for ``GridSearchCV`` when the estimator has no
  ``score`` method.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class EstimatorCase:
    params: dict
    make_data: Callable
    grid: dict
    expected_failed_checks: dict = field(default_factory=dict)
    scoring: Callable | str | None = None


CASES: dict[str, EstimatorCase] = {}


def _cebmf_data(random_state):
    from sklearn_lowrank.datasets import make_tiling_covariates

    X, *_ = make_tiling_covariates(120, 30, noise=0.5, random_state=random_state)
    return X, None


def _reconstruction_score(estimator, X, y=None):
    """Minus the RMSE of the rank-K reconstruction of X (NaN entries skipped)."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    fitted = estimator.inverse_transform(estimator.transform(X))
    return -float(np.sqrt(np.nanmean((X - fitted) ** 2)))


CASES["CEBMF"] = EstimatorCase(
    params=dict(n_components=3, max_iter=20, random_state=0),
    make_data=_cebmf_data,
    grid={"n_components": [1, 3]},
    scoring=_reconstruction_score,
)
