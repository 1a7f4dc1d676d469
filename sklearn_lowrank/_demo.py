"""The demo behind ``python -m sklearn_lowrank``.

One small, fast case per estimator on generated data with known truth.  Each
case returns what it recovered or scored; the runner times it and prints a
table.  An estimator without a case is listed as such, so a new estimator is
never silently missing from the demo.
"""

import time

from sklearn_lowrank.discovery import all_estimators

DEMOS = {}


def register_demo(estimator_name):
    """Register ``func(random_state) -> (task, metric, value)`` for an estimator."""

    def decorator(func):
        DEMOS[estimator_name] = func
        return func

    return decorator


def run_demos(random_state=0):
    """Run every estimator's demo case.

    Returns
    -------
    rows : list of dict
        Keys ``estimator``, ``task``, ``metric``, ``value`` and ``seconds``.
    """
    rows = []
    for name, _ in all_estimators():
        func = DEMOS.get(name)
        if func is None:
            rows.append(
                dict(
                    estimator=name,
                    task="(no demo case)",
                    metric="",
                    value=float("nan"),
                    seconds=float("nan"),
                )
            )
            continue
        start = time.perf_counter()
        task, metric, value = func(random_state)
        seconds = time.perf_counter() - start
        rows.append(
            dict(estimator=name, task=task, metric=metric, value=value, seconds=seconds)
        )
    return rows


def format_table(rows):
    """Format demo rows as a fixed-width text table."""
    header = ("estimator", "task", "metric", "value", "time [s]")
    lines = [
        (
            r["estimator"],
            r["task"],
            r["metric"],
            f"{r['value']:.3g}",
            f"{r['seconds']:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


@register_demo("MatrixSensingRegressor")
def _demo_matrix_sensing(random_state):
    import numpy as np

    from sklearn_lowrank.datasets import make_matrix_sensing
    from sklearn_lowrank.sensing import MatrixSensingRegressor

    X, y, M = make_matrix_sensing(1200, (30, 30), 3, random_state=random_state)
    est = MatrixSensingRegressor(shape=(30, 30), rank=6, random_state=random_state)
    est.fit(X, y)
    error = np.linalg.norm(est.matrix_ - M) / np.linalg.norm(M)
    return "sensing 30x30 rank 3, k=6", "rel. Frobenius error", error


@register_demo("AltMinCompleter")
def _demo_altmin_completer(random_state):
    import numpy as np

    from sklearn_lowrank.completion import AltMinCompleter
    from sklearn_lowrank.datasets import make_completion_problem

    X, M, mask = make_completion_problem(
        500, 400, 5, observed_fraction=0.1, random_state=random_state
    )
    filled = AltMinCompleter(n_components=5, random_state=random_state).fit_transform(X)
    err = np.linalg.norm((filled - M)[~mask]) / np.linalg.norm(M[~mask])
    return "complete 500x400 rank 5, 10% seen", "rel. err (unseen)", err


@register_demo("SketchedLeastSquares")
def _demo_sketched_least_squares(random_state):
    import numpy as np

    from sklearn_lowrank.datasets import make_leverage_regression
    from sklearn_lowrank.least_squares import SketchedLeastSquares

    X, y, _ = make_leverage_regression(
        20_000,
        50,
        condition_number=1e6,
        n_heavy_rows=5,
        random_state=random_state,
    )
    reg = SketchedLeastSquares(random_state=random_state).fit(X, y)
    exact = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    residual = np.linalg.norm(y - reg.predict(X))
    lapack = np.linalg.norm(y - X @ exact[:-1] - exact[-1])
    return (
        "exact LS 20000x50, cond 1e6 (precondition)",
        "residual / LAPACK residual - 1",
        residual / lapack - 1,
    )


@register_demo("NystromKRR")
def _demo_nystrom_krr(random_state):
    import numpy as np
    from sklearn.kernel_ridge import KernelRidge

    from sklearn_lowrank.datasets import make_clustered_regression
    from sklearn_lowrank.kernel_ridge import NystromKRR

    X, y, f, _ = make_clustered_regression(
        3000, 3, rare_fraction=0.01, random_state=random_state
    )
    train, test = slice(0, 2000), slice(2000, None)
    params = dict(alpha=1e-2, kernel="rbf", gamma=0.5)
    exact = KernelRidge(**params).fit(X[train], y[train])
    model = NystromKRR(n_components=300, random_state=random_state, **params)
    model.fit(X[train], y[train])

    def rmse(pred):
        return float(np.sqrt(np.mean((pred - f[test]) ** 2)))

    ratio = rmse(model.predict(X[test])) / rmse(exact.predict(X[test]))
    return "KRR, n=2000, 300 landmarks", "RMSE / exact KRR RMSE", ratio


@register_demo("CEBMF")
def _demo_cebmf(random_state):
    import numpy as np

    from sklearn_lowrank import CEBMF
    from sklearn_lowrank.datasets import make_tiling_covariates

    X, signal, coords, _, _ = make_tiling_covariates(
        300, 80, noise=2.0, random_state=random_state
    )
    est = CEBMF(n_components=4, random_state=random_state)
    est.fit(X, row_covariates=coords)
    rmse = float(np.sqrt(np.mean((est.loadings_ @ est.components_ - signal) ** 2)))
    return "tiling sim., noise sd 2, row covariates", "RMSE vs true signal", rmse


@register_demo("BooleanMF")
def _demo_boolean_mf(random_state):
    import numpy as np

    from sklearn_lowrank import BooleanMF
    from sklearn_lowrank.datasets import make_boolean_tiles

    X, U, V = make_boolean_tiles(
        500,
        400,
        5,
        row_fraction=0.35,
        col_fraction=0.35,
        noise=0.05,
        random_state=random_state,
    )
    bmf = BooleanMF(n_components=5, random_state=random_state).fit(X)
    clean = (U.astype(float) @ V) > 0
    B = bmf.inverse_transform(bmf.transform(X))
    return (
        "500x400, 5 overlapping tiles, 5% flips",
        "cells wrong vs clean",
        float(np.mean(B != clean)),
    )


@register_demo("AugmentedCovarianceClassifier")
def _demo_augmented_covariance(random_state):
    from sklearn_lowrank.datasets import make_ar_classification
    from sklearn_lowrank.riemann import AugmentedCovarianceClassifier

    # Classes differ only in their dynamics: a plain covariance is at chance.
    X, y, _ = make_ar_classification(
        160, n_channels=8, n_times=400, random_state=random_state
    )
    clf = AugmentedCovarianceClassifier(order=3, lag=3).fit(X[:100], y[:100])
    return "EEG trials, dynamics only", "test accuracy", clf.score(X[100:], y[100:])


@register_demo("AugmentedCovariances")
def _demo_augmented_covariances(random_state):
    import numpy as np

    from sklearn_lowrank.datasets import make_ar_classification
    from sklearn_lowrank.riemann import AugmentedCovariances

    X, _, _ = make_ar_classification(20, n_channels=4, random_state=random_state)
    C = AugmentedCovariances(order=3, lag=2).fit_transform(X)
    return (
        "SPD augmented covariances",
        "min eigenvalue > 0",
        float(np.linalg.eigvalsh(C).min() > 0),
    )


@register_demo("TangentSpace")
def _demo_tangent_space(random_state):
    import numpy as np

    from sklearn_lowrank.datasets import make_ar_classification
    from sklearn_lowrank.riemann import AugmentedCovariances, TangentSpace

    X, _, _ = make_ar_classification(40, n_channels=4, random_state=random_state)
    C = AugmentedCovariances(order=2, lag=2).fit_transform(X)
    T = TangentSpace().fit_transform(C)
    # At the Riemannian mean the tangent vectors average to zero.
    return (
        "tangent vectors at the mean",
        "|mean vector|",
        float(np.linalg.norm(T.mean(axis=0))),
    )
