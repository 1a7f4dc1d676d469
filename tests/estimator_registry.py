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


def _boolean_tiles(random_state):
    from sklearn_lowrank.datasets import make_boolean_tiles

    X, _, _ = make_boolean_tiles(
        60,
        40,
        3,
        row_fraction=0.3,
        col_fraction=0.3,
        noise=0.02,
        random_state=random_state,
    )
    return X, None


# binarize=0.5: the common checks feed real-valued (non-negative, through
# the positive_only tag) data; the default binarize=None rejects it by design.
CASES["BooleanMF"] = EstimatorCase(
    params=dict(n_components=2, binarize=0.5, max_iter=50),
    make_data=_boolean_tiles,
    grid={"n_components": [2, 3]},
)
