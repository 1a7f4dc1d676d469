"""Discovery of the package's public estimators and their reference problems.

:func:`all_estimators` mirrors :func:`sklearn.utils.discovery.all_estimators`:
walking the package means that adding an estimator class to any public module
puts it under the common checks and the shared tests without editing a list by
hand.

:data:`PROBLEMS` holds one problem per estimator, with known truth, in two
sizes: ``"test"`` (tiny; the test registry in ``tests/estimator_registry.py``
fits on it) and ``"demo"`` (what ``python -m sklearn_lowrank`` runs and scores
against a stated target).  One list, so the demo and the tests cannot drift
apart.
"""

import inspect
import operator
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

import numpy as np
from sklearn.base import BaseEstimator

from sklearn_lowrank import _metrics, datasets

__all__ = ["PROBLEMS", "Problem", "all_estimators"]


def all_estimators():
    """Return the public estimator classes of sklearn_lowrank.

    Returns
    -------
    estimators : list of (name, class) tuples
        Sorted by name. A class is public when its name does not start with
        an underscore and it is reachable from a public module (one whose
        path has no part starting with an underscore), as in scikit-learn.
    """
    import sklearn_lowrank

    found = {}
    for info in pkgutil.walk_packages(
        sklearn_lowrank.__path__, prefix="sklearn_lowrank."
    ):
        parts = info.name.split(".")
        if any(p.startswith("_") or p == "tests" for p in parts[1:]):
            continue
        module = import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and not name.startswith("_")
                and cls.__module__.startswith("sklearn_lowrank")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    return sorted(found.items())


_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Problem:
    """A problem with known truth on which one estimator is judged.

    Attributes
    ----------
    task : str
        What is solved, for the demo table.
    metric : str
        What :attr:`evaluate` measures.
    target : tuple of (str, float)
        ``(comparison, threshold)``, e.g. ``("<", 1e-4)``: the figure passes
        when ``value <comparison> threshold``.
    baseline : str
        What the threshold stands for (the reference the figure is compared
        with), for the demo table.
    make_data : callable
        ``make_data(random_state, size)`` with ``size`` in ``{"test",
        "demo"}`` returns a dict with at least ``X`` and ``y`` (``y`` may be
        None), plus what :attr:`evaluate` needs (truth, held-out rows) and
        optionally ``fit_params``.
    params : dict
        Constructor parameters per size, ``{"test": {...}, "demo": {...}}``;
        ``random_state`` is added by the caller when the estimator has one.
    evaluate : callable
        ``evaluate(fitted_estimator, data) -> float``.
    """

    task: str
    metric: str
    target: tuple
    baseline: str
    make_data: Callable
    evaluate: Callable
    params: dict = field(default_factory=dict)

    def passes(self, value):
        """Whether a figure meets :attr:`target` (NaN never passes)."""
        comparison, threshold = self.target
        return bool(np.isfinite(value) and _COMPARE[comparison](value, threshold))

    def target_text(self):
        comparison, threshold = self.target
        return f"{comparison} {threshold:g}"


def _sensing_data(random_state, size):
    n, shape, rank = (240, (8, 8), 2) if size == "test" else (1200, (30, 30), 3)
    X, y, M = datasets.make_matrix_sensing(n, shape, rank, random_state=random_state)
    return dict(X=X, y=y, M=M)


def _completion_data(random_state, size):
    if size == "test":
        shape, rank, fraction, noise = (60, 40), 3, 0.5, 0.01
    else:
        shape, rank, fraction, noise = (500, 400), 5, 0.1, 0.0
    X, M, mask = datasets.make_completion_problem(
        *shape,
        rank,
        observed_fraction=fraction,
        noise=noise,
        random_state=random_state,
    )
    return dict(X=X, y=None, M=M, mask=mask)


def _least_squares_data(random_state, size):
    if size == "test":
        n, d, cond, heavy, noise = 600, 8, 1e3, 2, 0.1
    else:
        n, d, cond, heavy, noise = 20_000, 50, 1e6, 5, 1.0
    X, y, _ = datasets.make_leverage_regression(
        n,
        d,
        condition_number=cond,
        n_heavy_rows=heavy,
        noise=noise,
        random_state=random_state,
    )
    return dict(X=X, y=y)


def _lapack_residual_excess(est, data):
    X, y = data["X"], data["y"]
    design = np.column_stack([X, np.ones(len(X))])
    exact = np.linalg.lstsq(design, y, rcond=None)[0]
    ours = np.linalg.norm(y - est.predict(X))
    lapack = np.linalg.norm(y - design @ exact)
    return float(ours / lapack - 1)


def _kernel_data(random_state, size):
    n, rare, n_train = (300, 0.02, 300) if size == "test" else (3000, 0.01, 2000)
    X, y, f, _ = datasets.make_clustered_regression(
        n, 3, rare_fraction=rare, random_state=random_state
    )
    return dict(X=X[:n_train], y=y[:n_train], X_test=X[n_train:], f_test=f[n_train:])


def _krr_rmse_ratio(est, data):
    from sklearn.kernel_ridge import KernelRidge

    params = {k: est.get_params()[k] for k in ("alpha", "kernel", "gamma")}
    exact = KernelRidge(**params).fit(data["X"], data["y"])
    ours = _metrics.rmse(est.predict(data["X_test"]), data["f_test"])
    return ours / _metrics.rmse(exact.predict(data["X_test"]), data["f_test"])


def _cebmf_data(random_state, size):
    shape, noise = ((120, 30), 0.5) if size == "test" else ((300, 80), 2.0)
    X, signal, coords, _, _ = datasets.make_tiling_covariates(
        *shape, noise=noise, random_state=random_state
    )
    data = dict(X=X, y=None, signal=signal)
    if size == "demo":
        data["fit_params"] = dict(row_covariates=coords)
    return data


def _cebmf_vs_svd(est, data):
    # Empirical Bayes shrinkage should beat the plain truncated SVD of the
    # same rank on noisy data.
    U, s, Vt = np.linalg.svd(data["X"], full_matrices=False)
    k = est.n_components
    svd = (U[:, :k] * s[:k]) @ Vt[:k]
    ours = _metrics.rmse(est.loadings_ @ est.components_, data["signal"])
    return ours / _metrics.rmse(svd, data["signal"])


def _boolean_data(random_state, size):
    if size == "test":
        shape, k, fraction, noise = (60, 40), 3, 0.3, 0.02
    else:
        shape, k, fraction, noise = (500, 400), 5, 0.35, 0.05
    X, U, V = datasets.make_boolean_tiles(
        *shape,
        k,
        row_fraction=fraction,
        col_fraction=fraction,
        noise=noise,
        random_state=random_state,
    )
    return dict(X=X, y=None, clean=(U.astype(float) @ V) > 0)


def _boolean_cells_wrong(est, data):
    B = est.inverse_transform(est.transform(data["X"]))
    return _metrics.cell_error_rate(B, data["clean"])


def _trials(random_state, size):
    if size == "test":
        X, y, _ = datasets.make_ar_classification(
            60, n_channels=4, n_times=200, random_state=random_state
        )
        return dict(X=X, y=y)
    # Classes differ only in their dynamics: a plain covariance is at chance.
    X, y, _ = datasets.make_ar_classification(
        160, n_channels=8, n_times=400, random_state=random_state
    )
    return dict(X=X[:100], y=y[:100], X_test=X[100:], y_test=y[100:])


def _test_accuracy(est, data):
    return _metrics.accuracy(est.predict(data["X_test"]), data["y_test"])


def _covariance_trials(random_state, size):
    n = 60 if size == "test" else 20
    X, y, _ = datasets.make_ar_classification(
        n, n_channels=4, n_times=200, random_state=random_state
    )
    return dict(X=X, y=y)


def _spd_conditioning(est, data):
    eigenvalues = np.linalg.eigvalsh(est.transform(data["X"]))
    return float(eigenvalues.min() / eigenvalues.max())


def _spd_stack(random_state, size):
    from sklearn_lowrank.riemann import AugmentedCovariances

    X, y, _ = datasets.make_ar_classification(
        60 if size == "test" else 40,
        n_channels=4,
        n_times=200,
        random_state=random_state,
    )
    return dict(X=AugmentedCovariances(order=2, lag=2).fit_transform(X), y=y)


def _tangent_mean(est, data):
    # At the Riemannian mean the tangent vectors average to zero.
    T = est.transform(data["X"])
    return float(np.linalg.norm(T.mean(axis=0)) / np.linalg.norm(T, axis=1).mean())


PROBLEMS = {
    "MatrixSensingRegressor": Problem(
        task="sensing 30x30 rank 3 from 1200 measurements, k=6",
        metric="rel. Frobenius error",
        target=("<", 1e-4),
        baseline="exact recovery (noise-free)",
        make_data=_sensing_data,
        evaluate=lambda est, d: _metrics.relative_error(est.matrix_, d["M"]),
        params={
            "test": dict(rank=1, max_iter=200),
            "demo": dict(shape=(30, 30), rank=6),
        },
    ),
    "AltMinCompleter": Problem(
        task="complete 500x400 rank 5, 10% seen",
        metric="rel. error on unseen entries",
        target=("<", 1e-4),
        baseline="exact recovery (noise-free)",
        make_data=_completion_data,
        evaluate=lambda est, d: _metrics.masked_relative_error(
            est.transform(d["X"]), d["M"], ~d["mask"]
        ),
        params={
            "test": dict(n_components=1, max_iter=20),
            "demo": dict(n_components=5),
        },
    ),
    "SketchedLeastSquares": Problem(
        task="LS 20000x50, cond 1e6 (precondition)",
        metric="residual / LAPACK residual - 1",
        target=("<", 1e-8),
        baseline="LAPACK lstsq",
        make_data=_least_squares_data,
        evaluate=_lapack_residual_excess,
        params={"test": {}, "demo": {}},
    ),
    "NystromKRR": Problem(
        task="KRR, n=2000, 300 landmarks",
        metric="test RMSE / exact KRR RMSE",
        target=("<", 1.2),
        baseline="sklearn KernelRidge (exact)",
        make_data=_kernel_data,
        evaluate=_krr_rmse_ratio,
        params={
            "test": dict(n_components=10, alpha=1e-2),
            "demo": dict(n_components=300, alpha=1e-2, kernel="rbf", gamma=0.5),
        },
    ),
    "CEBMF": Problem(
        task="tiling simulation 300x80, noise sd 2, row covariates",
        metric="signal RMSE / rank-4 SVD RMSE",
        target=("<", 1.0),
        baseline="truncated SVD of the same rank",
        make_data=_cebmf_data,
        evaluate=_cebmf_vs_svd,
        params={
            "test": dict(n_components=3, max_iter=20),
            "demo": dict(n_components=4),
        },
    ),
    "BooleanMF": Problem(
        task="500x400, 5 overlapping tiles, 5% flips",
        metric="cells wrong vs clean tiles",
        target=("<", 0.01),
        baseline="planted tiles (input: 5% flipped)",
        make_data=_boolean_data,
        evaluate=_boolean_cells_wrong,
        params={
            # binarize=0.5: the common checks feed real-valued (non-negative)
            # data; the default binarize=None rejects it by design.
            "test": dict(n_components=2, binarize=0.5, max_iter=50),
            "demo": dict(n_components=5),
        },
    ),
    "AugmentedCovarianceClassifier": Problem(
        task="EEG trials, classes differ in dynamics only",
        metric="test accuracy",
        target=(">=", 0.9),
        baseline="chance = 0.5 (plain covariances)",
        make_data=_trials,
        evaluate=_test_accuracy,
        params={"test": dict(order=1, lag=1), "demo": dict(order=3, lag=3)},
    ),
    "AugmentedCovariances": Problem(
        task="augmented covariances of 20 EEG trials",
        metric="min / max eigenvalue",
        target=(">", 0.0),
        baseline="SPD output (all eigenvalues > 0)",
        make_data=_covariance_trials,
        evaluate=_spd_conditioning,
        params={"test": dict(order=1, lag=1), "demo": dict(order=3, lag=2)},
    ),
    "TangentSpace": Problem(
        task="tangent vectors at the Riemannian mean",
        metric="|mean vector| / mean |vector|",
        target=("<", 1e-6),
        baseline="0 at the mean",
        make_data=_spd_stack,
        evaluate=_tangent_mean,
        params={"test": {}, "demo": {}},
    ),
}
