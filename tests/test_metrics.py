"""The shared error measures (sklearn_lowrank._metrics)."""

import numpy as np
import pytest

from sklearn_lowrank import _metrics


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_relative_error_and_rmse_do_not_overflow(scale):
    truth = np.array([[3.0, 0.0], [0.0, 4.0]]) * scale
    estimate = truth * 1.1
    assert _metrics.relative_error(estimate, truth) == pytest.approx(0.1)
    assert _metrics.rmse(estimate, truth) / scale == pytest.approx(
        np.sqrt((0.09 + 0.16) / 4)
    )


def test_relative_error_of_a_zero_truth():
    assert _metrics.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert _metrics.relative_error(np.ones(3), np.zeros(3)) == np.inf


def test_masked_relative_error_reads_only_the_mask():
    truth = np.array([1.0, 2.0, 3.0])
    estimate = np.array([100.0, 2.0, 3.3])
    mask = np.array([False, True, True])
    expected = 0.3 / np.sqrt(13.0)
    assert _metrics.masked_relative_error(estimate, truth, mask) == pytest.approx(
        expected
    )


def test_rmse_skips_missing_truth():
    assert _metrics.rmse([1.0, 5.0], [2.0, np.nan]) == pytest.approx(1.0)
    assert np.isnan(_metrics.rmse([np.nan, 5.0], [2.0, 5.0]))


def test_cell_error_rate_and_accuracy():
    assert _metrics.cell_error_rate([1, 0, 1, 1], [1, 1, 1, 1]) == 0.25
    assert _metrics.accuracy(["a", "b"], ["a", "a"]) == 0.5


def test_tile_scores_match_tiles_one_to_one():
    U = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    V = np.array([[1, 1, 0], [0, 0, 1]])
    # The same tiles in the other order: perfect.
    assert _metrics.tile_scores(U, V, U[:, ::-1], V[::-1]) == (1.0, 1.0)
    # The second tile lost, the first grown by a row: 4 of 6 cells both ways.
    U_hat = np.array([[1, 0], [1, 0], [1, 0], [0, 0]])
    V_hat = np.array([[1, 1, 0], [0, 0, 0]])
    recall, precision = _metrics.tile_scores(U, V, U_hat, V_hat)
    assert recall == pytest.approx(4 / 6) and precision == pytest.approx(4 / 6)
