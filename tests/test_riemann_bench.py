"""The paired-CV statistics that benchmarks/bench_riemann.py reports.

The guide's real-data accuracy table rests on these numbers, so the
standard errors are checked against their definitions on a hand-made
example (6 splits of 100 trials, 20 tested and 80 trained on each).
"""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def difference(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_riemann import _difference

    return _difference


def test_paired_difference_standard_errors(difference):
    a = np.array([0.80, 0.70, 0.90, 0.60, 0.75, 0.85])
    b = np.array([0.70, 0.70, 0.80, 0.65, 0.70, 0.80])
    splits = [(np.arange(80), np.arange(80, 100))] * 6
    r = difference(a, b, splits)
    d = a - b  # 0.1, 0, 0.1, -0.05, 0.05, 0.05
    s = np.std(d, ddof=1)
    assert r["diff"] == pytest.approx(0.25 / 6)
    # Naive SE: the splits treated as independent.
    assert r["se_naive"] == pytest.approx(s / np.sqrt(6))
    # Nadeau-Bengio: variance (1/J + n_test/n_train) s^2, here 1/6 + 1/4.
    assert r["se_nb"] == pytest.approx(s * np.sqrt(1 / 6 + 1 / 4))
    assert r["se_nb"] > r["se_naive"]
    assert r["t"] == pytest.approx(r["diff"] / r["se_nb"])
    assert r["p"] == pytest.approx(2 * stats.t.sf(abs(r["t"]), 5))
    assert (r["better"], r["worse"]) == (4, 1)


def test_paired_difference_identical_scores(difference):
    """Equal pipelines (FingerMovements at order 1): zero SE, t 0, p 1."""
    a = np.array([0.6, 0.5, 0.7])
    splits = [(np.arange(8), np.arange(8, 10))] * 3
    r = difference(a, a.copy(), splits)
    assert (r["diff"], r["se_nb"], r["t"], r["p"]) == (0, 0, 0, 1)
