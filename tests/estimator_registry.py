"""Per-estimator settings and capabilities for the shared tests.

One entry per public estimator (``tests/test_common.py`` fails if an
estimator found by :func:`sklearn_lowrank.discovery.all_estimators` has none).
The data and the small constructor settings come from the package's one list
of problems, :data:`sklearn_lowrank.discovery.PROBLEMS` (its ``"test"`` size),
which the demo runs at its ``"demo"`` size.

Settings:

- ``params``: small, fast constructor settings for sklearn's common checks
  (the role of ``INIT_PARAMS`` in sklearn's instance generator), with
  ``random_state=0`` where the estimator has one;
- ``expected_failed_checks``: ``{check_name: reason}``; every entry must say
  why the check cannot pass for this estimator;
- ``make_data``: ``random_state -> (X, y)`` on which the shared tests fit the
  estimator (``y`` may be None for unsupervised estimators);
- ``grid``: a one-parameter grid for the ``GridSearchCV`` test;
- ``scoring``: scorer for ``GridSearchCV`` when the estimator has no
  ``score`` method;
- ``check_adapter``: a class sklearn's common checks run instead of the
  estimator, when the estimator's input is not 2-D data (see
  :class:`SPDRows`).

Capabilities (each one generates shared tests in ``tests/test_common.py``,
``tests/test_robustness.py`` and ``tests/test_persistence.py``):

- ``sparse``: ``X -> sparse X`` meaning the same data, or None if sparse
  input is not supported; sparse and dense fits must agree;
- ``partial_fit``: ``fit(X, y)`` equals one ``partial_fit(X, y)``;
- ``dask_transform``: ``transform`` of a row-chunked dask array equals the
  in-memory transform;
- ``iterative``: extra parameters under which ``max_iter`` bounds a loop (a
  fit with ``max_iter=1`` must raise a ConvergenceWarning naming the
  estimator), or None when the estimator has no such loop;
- ``input``: ``"matrix"`` (2-D X), ``"trials"`` (EEG, 3-D) or ``"spd"``
  (stacks of SPD matrices);
- ``x_scale_power``: scaling X by ``s`` scales the output (predictions,
  transform or reconstruction, see :func:`output`) by ``s ** power``; 0 for
  scale-invariant outputs; ``"error"`` when scaled input must be refused
  (binary data); None when the method is not scale-equivariant in X (a
  kernel with a fixed bandwidth), so only finiteness is required.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier, is_regressor

from sklearn_lowrank.discovery import PROBLEMS, all_estimators
from sklearn_lowrank.riemann import TangentSpace


def _test_data(name):
    problem = PROBLEMS[name]

    def make_data(random_state):
        data = problem.make_data(random_state, "test")
        return data["X"], data["y"]

    return make_data


@dataclass
class EstimatorCase:
    params: dict
    make_data: Callable
    grid: dict
    expected_failed_checks: dict = field(default_factory=dict)
    scoring: Callable | str | None = None
    check_adapter: type | None = None
    # capabilities
    sparse: Callable | None = None
    partial_fit: bool = False
    dask_transform: bool = False
    iterative: dict | None = None
    input: str = "matrix"
    x_scale_power: int | str | None = 0


def output(estimator, X):
    """What a user reads from a fitted estimator.

    Predictions for regressors and classifiers, else the reconstruction
    ``inverse_transform(transform(X))`` when there is one (its scale does not
    depend on how the factors split it), else ``transform(X)``.
    """
    if is_regressor(estimator) or is_classifier(estimator):
        return np.asarray(estimator.predict(X))
    Z = estimator.transform(X)
    if hasattr(estimator, "inverse_transform") and Z.shape != np.shape(X):
        return np.asarray(estimator.inverse_transform(Z))
    return np.asarray(Z)


def _zeros_to_sparse(X):
    return sp.csr_matrix(X)


def _observed_to_sparse(X):
    # AltMinCompleter: NaN marks a missing entry in dense input; in sparse
    # input the stored entries (explicit zeros included) are the observed ones.
    observed = ~np.isnan(X)
    rows, cols = np.nonzero(observed)
    return sp.coo_matrix((X[rows, cols], (rows, cols)), shape=X.shape).tocsr()


class SPDRows(TangentSpace):
    """TangentSpace fed sklearn's 2-D check data, each row mapped to SPD.

    Row ``x`` of length ``d`` becomes ``2 I + t t^T`` with ``t = tanh(x)``
    (eigenvalues in ``[2, 2 + d]``), so every common check runs a real
    TangentSpace fit on a stack ``(n_samples, d, d)``: ``n_features_in_``
    is ``d`` as for 2-D input, row subsets and orders map to matrix subsets
    and orders, and NaN/inf entries stay NaN/inf (tanh(inf) would hide them).
    Sparse, non-numeric or non-2-D input is passed through unchanged, so
    TangentSpace's own validation answers it.
    """

    @staticmethod
    def _to_spd(X):
        if sp.issparse(X):
            return X
        A = np.asarray(X)
        if A.ndim != 2 or A.size == 0 or A.dtype.kind not in "fiubO":
            return X
        try:
            A = A.astype(A.dtype if A.dtype.kind == "f" else np.float64)
        except (TypeError, ValueError):  # strings: TangentSpace's message
            return X
        t = np.where(np.isfinite(A), np.tanh(A), A)
        eye = 2 * np.eye(A.shape[1], dtype=A.dtype)
        return eye + t[:, :, None] * t[:, None, :]

    def fit(self, X, y=None):
        return super().fit(self._to_spd(X), y)

    def fit_transform(self, X, y=None):
        return super().fit_transform(self._to_spd(X), y)

    def transform(self, X):
        return super().transform(self._to_spd(X))


CASES: dict[str, EstimatorCase] = {}


_CLASSES = dict(all_estimators())


def _case(name, **settings):
    params = dict(PROBLEMS[name].params["test"])
    if "random_state" in _CLASSES[name]().get_params():
        params["random_state"] = 0  # fits in the shared tests are reproducible
    CASES[name] = EstimatorCase(params=params, make_data=_test_data(name), **settings)


_case(
    "MatrixSensingRegressor",
    grid={"rank": [2, 3]},
    sparse=_zeros_to_sparse,
    iterative={"solver": "gd"},
)
_case(
    "AltMinCompleter",
    grid={"alpha": [0.0, 0.1]},
    sparse=_observed_to_sparse,
    dask_transform=True,
    iterative={},
    x_scale_power=1,
)
_case(
    "SketchedLeastSquares",
    grid={"mode": ["precondition", "sketch_and_solve"]},
    sparse=_zeros_to_sparse,
    partial_fit=True,
    iterative={"tol": 1e-14},
)
_case(
    "NystromKRR",
    grid={"alpha": [1e-2, 1e-1]},
    partial_fit=True,
    x_scale_power=None,
    expected_failed_checks={
        check: (
            "asks for R^2 > 0.5 on sklearn's 10-feature regression set; with "
            "the test params' n_components=10, 10 rbf landmarks give R^2 "
            "0.2-0.4. At the default n_components check_estimator passes "
            "(tests/test_kernel_ridge.py)"
        )
        for check in ("check_regressors_train",)
    },
)


_case(
    "CEBMF",
    grid={"n_components": [1, 3]},
    dask_transform=True,
    iterative={"tol": 1e-14},
    x_scale_power=1,
)
_case(
    "BooleanMF",
    grid={"n_components": [2, 3]},
    sparse=_zeros_to_sparse,
    dask_transform=True,
    iterative={"tol": 0.0},
    # Binary data scaled by s is no longer binary: with the default
    # binarize=None it must be refused (the robustness tests unset binarize).
    x_scale_power="error",
)


def _transform_error(estimator, X, y=None):
    # Transformers have no score: use the tangent vectors' spread (finite,
    # deterministic) so GridSearchCV can rank candidates.
    return -float(abs(estimator.transform(X)).mean())


_case(
    "AugmentedCovarianceClassifier",
    grid={"order": [1, 2]},
    input="trials",
    iterative={"tol": 1e-14},
    expected_failed_checks={
        "check_classifiers_train": (
            "covariance classifiers see only second-order statistics of each "
            "trial, but sklearn's blobs differ in their means; read as "
            "single-channel trials of 2-5 samples they are not separable"
        ),
    },
)
_case(
    "AugmentedCovariances",
    grid={"order": [1, 2]},
    scoring=_transform_error,
    input="trials",
    x_scale_power=2,
)
_case(
    "TangentSpace",
    grid={"tol": [0.5, 1e-8]},
    scoring=_transform_error,
    input="spd",
    iterative={"tol": 1e-14},
    check_adapter=SPDRows,
)


# --- estimator bugs the shared tests found (issue 16) ------------------------
# test name -> {estimator name: what fails}.  Each becomes
# ``xfail(strict=True)``: once the estimator is fixed the test XPASSes, which
# fails the run, and the entry must be deleted here.
KNOWN_BUGS: dict[str, dict[str, str]] = {}


def with_known_bugs(test_name, pairs):
    """``pytest.param`` per tuple, ``xfail(strict=True)`` where listed.

    The test id is the tuple's items (classes left out) joined by "-", an
    estimator name first;
    :data:`KNOWN_BUGS` is looked up by the full id, then by the estimator.
    """
    import pytest

    bugs = KNOWN_BUGS.get(test_name, {})
    params = []
    for pair in pairs:
        test_id = "-".join(str(p) for p in pair if not isinstance(p, type))
        reason = bugs.get(test_id) or bugs.get(str(pair[0]))
        marks = (
            [pytest.mark.xfail(strict=True, reason=f"issue 16: {reason}")]
            if reason
            else []
        )
        params.append(pytest.param(*pair, marks=marks, id=test_id))
    return params
