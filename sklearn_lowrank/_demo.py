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
