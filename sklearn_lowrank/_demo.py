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
