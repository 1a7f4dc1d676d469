"""Every benchmark script runs: ``--help`` (imports succeed) and ``--smoke``.

The scripts are found by a glob, so a new ``benchmarks/bench_*.py`` is picked
up without editing this file.  Each runs in a subprocess with this checkout
first on ``PYTHONPATH`` (the package under test, not an installed copy).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))
# --smoke promises "every contender at tiny sizes, under a minute"; the
# timeout leaves room for a machine loaded by parallel test runs.
SMOKE_TIMEOUT = 180
# The table header printed by _harness.print_table for every comparison.
RATIO_HEADER = "time / ours"


def _run(script, *args, timeout):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _smoke_param(script):
    # The shared parser gives every script a --smoke flag; a script that
    # never reads it would silently run its default (minutes-long) sizes,
    # so those are not run until the script picks its sizes by args.smoke.
    marks = []
    if "smoke" not in script.read_text():
        marks.append(
            pytest.mark.xfail(
                run=False,
                strict=False,
                reason=f"{script.name} does not choose --smoke sizes yet",
            )
        )
    return pytest.param(script, id=script.stem, marks=marks)


def test_scripts_found():
    assert len(SCRIPTS) >= 8, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_benchmark_help(script):
    """Module-level imports resolve (a renamed private helper breaks here)."""
    proc = _run(script, "--help", timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--smoke" in proc.stdout


@pytest.mark.parametrize("script", [_smoke_param(s) for s in SCRIPTS])
def test_benchmark_smoke(script):
    proc = _run(script, "--smoke", timeout=SMOKE_TIMEOUT)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert RATIO_HEADER in proc.stdout, proc.stdout[-2000:]


def test_sweep_uses_existing_benchmark_functions(monkeypatch):
    """benchmarks/sweep.py (the docs' benchmarks page) calls functions of the
    bench scripts; a renamed one would only fail when the sweep is re-run."""
    import ast
    import importlib

    sweep = ROOT / "benchmarks" / "sweep.py"
    used = {
        (node.value.id, node.attr)
        for node in ast.walk(ast.parse(sweep.read_text()))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id.startswith("bench_")
    }
    assert {module for module, _ in used} == {s.stem for s in SCRIPTS} - {
        "bench_distributed"
    }
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    missing = [
        f"{module}.{name}"
        for module, name in sorted(used)
        if not hasattr(importlib.import_module(module), name)
    ]
    assert not missing, f"sweep.py calls functions that no longer exist: {missing}"
