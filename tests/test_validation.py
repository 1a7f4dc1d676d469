"""The shared input checks of sklearn_lowrank._validation."""

import numpy as np
import pytest

from sklearn_lowrank._validation import (
    check_observed_lines,
    check_rank,
    check_sample_weight,
    check_spd,
)


def _spd_stack(n_matrices=4, n=3, seed=0):
    A = np.random.default_rng(seed).standard_normal((n_matrices, n, 2 * n))
    return A @ np.swapaxes(A, 1, 2) / (2 * n)


@pytest.mark.parametrize("scale", [1.0, 1e150, 1e-150])
def test_check_spd_accepts_spd_at_any_scale(scale):
    C = _spd_stack() * scale
    assert check_spd(C, estimator="Est") is C


@pytest.mark.parametrize(
    "broken, match",
    [
        ("zero", r"Est expects symmetric positive definite .* X\[2\] \(1 in all\)"),
        ("negative", r"Est expects symmetric positive definite .* X\[2\] \(1 in all\)"),
        ("singular", r"Est expects symmetric positive definite .* X\[2\] \(1 in all\)"),
        ("asymmetric", r"Est expects symmetric matrices, but X\[2\] \(1 in all\)"),
    ],
)
def test_check_spd_names_the_estimator_and_the_matrix(broken, match):
    C = _spd_stack()
    if broken == "zero":
        C[2] = 0.0
    elif broken == "negative":
        C[2] = -C[2]
    elif broken == "singular":
        C[2] = np.outer([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    else:
        C[2, 0, 1] += 1.0
    with pytest.raises(ValueError, match=match):
        check_spd(C, estimator="Est")


def test_check_sample_weight():
    np.testing.assert_array_equal(check_sample_weight(None, 3, estimator="E"), 1.0)
    np.testing.assert_array_equal(check_sample_weight(2, 3, estimator="E"), 2.0)
    with pytest.raises(ValueError, match="E: sample_weight has shape"):
        check_sample_weight([1.0, 2.0], 3, estimator="E")
    with pytest.raises(ValueError, match="non-negative; got 1 negative"):
        check_sample_weight([1.0, -2.0, 1.0], 3, estimator="E")
    with pytest.raises(ValueError, match="E: sample_weight must contain"):
        check_sample_weight([0.0, 0.0, 0.0], 3, estimator="E")
    with pytest.raises(ValueError, match="NaN"):
        check_sample_weight([0.0, np.nan, 1.0], 3, estimator="E")


def test_check_observed_lines():
    observed = np.ones((3, 4), dtype=bool)
    assert check_observed_lines(observed, estimator="E") is observed
    observed[:, 2] = False
    with pytest.raises(ValueError, match="E: X has 1 columns with no observed"):
        check_observed_lines(observed, estimator="E")
    observed[1] = False
    with pytest.raises(ValueError, match="E: X has 1 rows with no observed"):
        check_observed_lines(observed, estimator="E")


class _Named:
    pass


def test_checks_name_an_estimator_instance_by_its_class():
    with pytest.raises(ValueError, match="_Named: n_components=5 is too large"):
        check_rank(5, (3, 4), estimator=_Named())
