"""``python -m sklearn_lowrank`` and the shared list of problems it runs."""

import subprocess
import sys

import numpy as np
import pytest

from sklearn_lowrank import __main__ as cli
from sklearn_lowrank import _demo
from sklearn_lowrank.discovery import PROBLEMS, Problem, all_estimators
from tests.estimator_registry import CASES


def test_every_estimator_has_a_problem():
    missing = sorted({n for n, _ in all_estimators()} - set(PROBLEMS))
    assert not missing, f"add a Problem to discovery.PROBLEMS for {missing}"


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_registry_fits_the_problems_test_size(name):
    # The tests and the demo share one list: the registry's data is the
    # problem's "test" size, its parameters the problem's "test" parameters.
    X, y = CASES[name].make_data(0)
    data = PROBLEMS[name].make_data(0, "test")
    np.testing.assert_array_equal(X, data["X"])
    assert (y is None) == (data["y"] is None)
    params = {k: v for k, v in CASES[name].params.items() if k != "random_state"}
    assert params == PROBLEMS[name].params["test"]


def test_targets_compare_as_stated():
    problem = Problem("t", "m", ("<", 1.0), "b", make_data=None, evaluate=None)
    assert problem.passes(0.5) and not problem.passes(1.0)
    assert not problem.passes(float("nan"))
    at_least = Problem("t", "m", (">=", 0.9), "b", make_data=None, evaluate=None)
    assert at_least.passes(0.9) and not at_least.passes(0.89)


def test_help_prints_usage_and_does_not_run_the_demo(monkeypatch, capsys):
    def fail(**kwargs):
        raise AssertionError("--help ran the demo")

    monkeypatch.setattr(_demo, "run_demos", fail)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m sklearn_lowrank" in capsys.readouterr().out


def _row(**changes):
    row = dict(
        estimator="Est",
        task="a task",
        metric="error",
        value=0.5,
        target="< 0.1",
        baseline="exact",
        passed=False,
        seconds=1.0,
        warmup_seconds=0.2,
    )
    row.update(changes)
    return row


def test_table_states_target_reference_and_verdict():
    text = _demo.format_table([_row(), _row(estimator="Good", value=0.01, passed=True)])
    bad_line = next(line for line in text.splitlines() if line.startswith("Est "))
    assert "< 0.1" in bad_line and "exact" in bad_line and "FAIL" in bad_line
    good_line = next(line for line in text.splitlines() if line.startswith("Good"))
    assert "PASS" in good_line
    footer = _demo.format_footer([_row(), _row(passed=True)])
    assert "1/2 rows met their target" in footer
    assert "warm-up" in footer and "0.40 s" in footer
    assert "docs/" in footer and "examples/" in footer


def test_main_exits_nonzero_when_a_row_fails(monkeypatch, capsys):
    monkeypatch.setattr(_demo, "run_demos", lambda random_state: [_row()])
    assert cli.main([]) == 1
    monkeypatch.setattr(
        _demo, "run_demos", lambda random_state: [_row(passed=True, value=0.01)]
    )
    assert cli.main([]) == 0
    assert "PASS" in capsys.readouterr().out


FAST = sorted(set(PROBLEMS) - {"NystromKRR"})  # its exact-KRR baseline is slow


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", FAST)
def test_demo_problem_meets_its_target(name):
    # What the demo prints as PASS holds (NystromKRR's accuracy against exact
    # KernelRidge is tested in tests/test_kernel_ridge.py).
    cls = dict(all_estimators())[name]
    est, data = _demo._fit(cls, PROBLEMS[name], "demo", random_state=0)
    value = PROBLEMS[name].evaluate(est, data)
    assert PROBLEMS[name].passes(value), (name, value, PROBLEMS[name].target)


def test_python_dash_m_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_lowrank", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert "rows met their target" not in result.stdout  # the demo did not run
