"""The demo behind ``python -m sklearn_lowrank``.

One problem per estimator on generated data with known truth, taken from
:data:`sklearn_lowrank.discovery.PROBLEMS` (the same list the tests use).
Each row states the figure measured, the target it is compared with and
whether it passed.  Every estimator is first fitted once on the problem's tiny
``"test"`` size, untimed, so the timings exclude the cold start (imports,
first BLAS calls, caches); that warm-up time is reported separately.  An
estimator without a problem is listed as such, so a new estimator is never
silently missing from the demo.
"""

import time
import warnings

from sklearn_lowrank.discovery import PROBLEMS, all_estimators

DOCS = (
    "docs/ in the source tree: user guide per estimator in docs/guide/, "
    "build with python -m sphinx -b html docs docs/_build"
)
EXAMPLES = "examples/plot_*.py in the source tree (one script per estimator family)"


def _fit(cls, problem, size, random_state):
    data = problem.make_data(random_state, size)
    est = cls(**problem.params.get(size, {}))
    if "random_state" in est.get_params():
        est.set_params(random_state=random_state)
    return est.fit(data["X"], data["y"], **data.get("fit_params", {})), data


def run_demos(random_state=0):
    """Run every estimator's problem and judge it against its target.

    Returns
    -------
    rows : list of dict
        Keys ``estimator``, ``task``, ``metric``, ``value``, ``target``,
        ``baseline``, ``passed``, ``seconds`` (data generation and fit,
        after the warm-up; the evaluation, which may fit a reference model,
        is not timed) and ``warmup_seconds``.
    """
    rows = []
    for name, cls in all_estimators():
        problem = PROBLEMS.get(name)
        if problem is None:
            rows.append(
                dict(
                    estimator=name,
                    task="(no demo problem)",
                    metric="",
                    value=float("nan"),
                    target="",
                    baseline="",
                    passed=False,
                    seconds=float("nan"),
                    warmup_seconds=float("nan"),
                )
            )
            continue
        with warnings.catch_warnings():
            # The tiny warm-up problem may stop early by design.
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            _fit(cls, problem, "test", random_state)
            warmup = time.perf_counter() - start
        start = time.perf_counter()
        est, data = _fit(cls, problem, "demo", random_state)
        seconds = time.perf_counter() - start  # data generation included
        value = problem.evaluate(est, data)
        rows.append(
            dict(
                estimator=name,
                task=problem.task,
                metric=problem.metric,
                value=value,
                target=problem.target_text(),
                baseline=problem.baseline,
                passed=problem.passes(value),
                seconds=seconds,
                warmup_seconds=warmup,
            )
        )
    return rows


def format_table(rows):
    """Format demo rows as a fixed-width text table.

    Each row shows the figure, the target it must meet, what that target
    stands for (the reference it is compared with) and PASS/FAIL; the task
    of each row is listed below the table.
    """
    header = ("estimator", "metric", "value", "target", "compared with", "", "fit [s]")
    lines = [
        (
            r["estimator"],
            r["metric"],
            f"{r['value']:.3g}",
            r["target"],
            r["baseline"],
            "PASS" if r["passed"] else "FAIL",
            f"{r['seconds']:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header).rstrip(), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line).rstrip() for line in lines]
    out += ["", "Problems:"]
    out += [f"  {r['estimator']}: {r['task']}" for r in rows]
    return "\n".join(out)


def format_footer(rows):
    """Summary, warm-up time and where to read on."""
    n_passed = sum(r["passed"] for r in rows)
    warmup = sum(r["warmup_seconds"] for r in rows if r["warmup_seconds"] >= 0)
    return "\n".join(
        [
            f"{n_passed}/{len(rows)} rows met their target.",
            f"Times exclude a warm-up fit per estimator on tiny data "
            f"({warmup:.2f} s in total, imports and first BLAS calls).",
            "",
            f"Documentation: {DOCS}",
            f"Examples:      {EXAMPLES}",
        ]
    )
