"""Pickle and skops round-trips of every fitted estimator in the registry.

A user persists a fitted model and loads it elsewhere: the loaded model must
give identical predictions/transforms, and a streaming model must continue
its stream as if it had never been saved.
"""

import io
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_lowrank.discovery import all_estimators
from tests.estimator_registry import CASES, output, with_known_bugs

sio = pytest.importorskip("skops.io")

ESTIMATORS = dict(all_estimators())
NAMES = sorted(n for n in ESTIMATORS if n in CASES)


def _estimator(name):
    est = ESTIMATORS[name](**CASES[name].params)
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est


def _fitted(name):
    X, y = CASES[name].make_data(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _estimator(name).fit(X, y), X, y


def _skops_round_trip(est):
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    # Only our own classes (and numpy/scipy/sklearn types skops already
    # trusts) may be in a saved model; anything else is a surprise.
    foreign = [t for t in untrusted if not t.startswith("sklearn_lowrank.")]
    assert not foreign, f"unexpected types in the saved model: {foreign}"
    return sio.loads(data, trusted=untrusted)


def _pickle_round_trip(est):
    buffer = io.BytesIO()
    pickle.dump(est, buffer)
    return pickle.loads(buffer.getvalue())


ROUND_TRIPS = {"pickle": _pickle_round_trip, "skops": _skops_round_trip}


def _pairs(test_name, names):
    return with_known_bugs(test_name, [(n, f) for n in names for f in ROUND_TRIPS])


@pytest.mark.parametrize(
    "name, fmt", _pairs("test_fitted_estimator_round_trips", NAMES)
)
def test_fitted_estimator_round_trips(name, fmt):
    est, X, _ = _fitted(name)
    expected = output(est, X)
    restored = ROUND_TRIPS[fmt](est)
    assert type(restored) is type(est)
    np.testing.assert_array_equal(output(restored, X), expected)
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    assert restored.get_params() == est.get_params()


STREAMING = [n for n in NAMES if CASES[n].partial_fit]


@pytest.mark.parametrize(
    "name, fmt", _pairs("test_stream_continues_after_round_trip", STREAMING)
)
def test_stream_continues_after_round_trip(name, fmt):
    X, y = CASES[name].make_data(0)
    half = len(X) // 2
    est = _estimator(name).partial_fit(X[:half], y[:half])
    restored = ROUND_TRIPS[fmt](est)
    est.partial_fit(X[half:], y[half:])
    restored.partial_fit(X[half:], y[half:])
    np.testing.assert_array_equal(output(restored, X), output(est, X))
