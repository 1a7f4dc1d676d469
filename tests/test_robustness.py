"""Degenerate and extreme input, for every estimator in the registry (issue 16).

For each estimator: constant input, all-zero input, X (and y) scaled by
1e+150 and 1e-150, flat EEG trials and non-SPD matrices for the Riemannian
estimators, string targets, NaN/inf.  The contract (MISSION.md, "Robust by
construction"): a documented result or a clear error naming the estimator --
never NaN, never a silently different answer, never a false convergence, and
never a hang.

Each case runs in a long-lived worker *process* under a timeout: a loop that
never exits (in Python or in C) fails its test after ``TIMEOUT`` seconds, the
worker is killed and a fresh one serves the next case, so CI never stalls.
The case bodies below run in the worker and make their own assertions; the
test in the main process re-raises what they report.
"""

import multiprocessing
import traceback
import warnings

import numpy as np
import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning

from sklearn_lowrank.discovery import all_estimators
from tests.estimator_registry import CASES, output, with_known_bugs

# Seconds per case.  Every case fits tiny data (well under a second on an
# idle core); the margin is for a machine loaded by parallel test runs.
TIMEOUT = 20.0

ESTIMATORS = dict(all_estimators())
SCALES = {"1e+150": 1e150, "1e-150": 1e-150}


# --------------------------------------------------------------------------
# The worker process
# --------------------------------------------------------------------------


def _serve(conn):
    # Runs in the worker: one BLAS thread (the cases are tiny; parallel test
    # runs share the cores), then answer requests until the pipe closes.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    while True:
        try:
            func_name, args = conn.recv()
        except EOFError:
            return
        try:
            globals()[func_name](*args)
            conn.send(("ok", ""))
        except BaseException:
            conn.send(("fail", traceback.format_exc()))


class _Worker:
    def __init__(self):
        self._process = None
        self._conn = None

    def _start(self):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()

    def run(self, func_name, *args, timeout=TIMEOUT):
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send((func_name, args))
        # The first request also waits for the worker's imports.
        if not self._conn.poll(timeout):
            self.stop()
            pytest.fail(f"{func_name}{args} did not finish within {timeout:.0f} s")
        status, text = self._conn.recv()
        if status != "ok":
            pytest.fail(f"{func_name}{args} failed in the worker:\n{text}")

    def stop(self):
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._conn.close()
        self._process = None


@pytest.fixture(scope="module")
def worker():
    w = _Worker()
    yield w
    w.stop()


def _params(test_name, pairs):
    return with_known_bugs(test_name, pairs)


# --------------------------------------------------------------------------
# Helpers that run in the worker
# --------------------------------------------------------------------------


def _estimator(name, **params):
    case = CASES[name]
    est = ESTIMATORS[name](**case.params)
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est.set_params(**params)


def _fit(est, X, y):
    """Fit, recording warnings; returns (fitted estimator, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return est, caught


def _assert_no_nan_attributes(est):
    name = type(est).__name__
    for attr, value in vars(est).items():
        if not attr.endswith("_") or attr.startswith("_"):
            continue
        if isinstance(value, float) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "fc"
        ):
            assert not np.any(np.isnan(value)), f"{name}.{attr} holds NaN"


def _assert_finite_output(est, X):
    out = output(est, X)
    if out.dtype.kind in "fc":
        assert np.all(np.isfinite(out)), f"{type(est).__name__} output not finite"
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert np.all(np.isfinite(proba)), "predict_proba is not finite"
    return out


def _is_clear_error(exc, name):
    return isinstance(exc, ValueError) and name in str(exc)


def _names_estimator(caught, name):
    return [w for w in caught if name in str(w.message)]


def _result_or_clear_error(name, X, y, *, params=None, expect_warning=False):
    """Fit on degenerate input: a clear error, or a finite documented result.

    Returns the fitted estimator, or None when it refused the input with a
    ValueError naming itself.  ``expect_warning``: a result on this input is
    only acceptable with a warning naming the estimator (e.g. flat trials
    regularised to SPD).  A ConvergenceWarning is never acceptable: the
    inputs here are the easiest possible (or must be refused).
    """
    est, caught = _fit_or_clear_error(name, X, y, params or {})
    if est is None:
        return None
    spurious = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert not spurious, f"spurious ConvergenceWarning: {spurious[0].message}"
    if expect_warning:
        assert _names_estimator(caught, name), (
            f"{name} accepted degenerate input silently (no warning naming it)"
        )
    _assert_no_nan_attributes(est)
    _assert_finite_output(est, X)
    return est


def _base_data(name):
    X, y = CASES[name].make_data(0)
    return np.array(X, dtype=np.float64), y


# --------------------------------------------------------------------------
# Case bodies (run in the worker)
# --------------------------------------------------------------------------


def case_constant(name):
    X, y = _base_data(name)
    # 1.0 for Boolean data (any other constant is binarized to it).
    value = 1.0 if CASES[name].x_scale_power == "error" else 3.0
    C = np.where(np.isnan(X), np.nan, value)  # keep completion's missing entries
    if CASES[name].input == "spd":
        C = np.broadcast_to(X[0], X.shape).copy()  # one SPD matrix, repeated
    est = _result_or_clear_error(name, C, y)
    if est is not None and CASES[name].input == "matrix" and y is None:
        # A constant matrix is exactly rank one: it is its own reconstruction.
        observed = ~np.isnan(C)
        rec = output(est, C)
        np.testing.assert_allclose(rec[observed], value, rtol=1e-6)


def case_all_zero(name):
    X, y = _base_data(name)
    Z = np.where(np.isnan(X), np.nan, 0.0)
    est = _result_or_clear_error(
        name, Z, y, expect_warning=CASES[name].input != "matrix"
    )
    if est is not None and CASES[name].input == "matrix" and y is None:
        rec = output(est, Z)
        np.testing.assert_allclose(rec[~np.isnan(Z)], 0.0, atol=1e-12)


def _scaled_params(name):
    # Binary data scaled is no longer binary: BooleanMF with the default
    # binarize=None must refuse it (binarize=0.5 would silently threshold).
    return {"binarize": None} if CASES[name].x_scale_power == "error" else {}


def _assert_same_answer(name, scaled_est, base_est, X_scaled, X, factor):
    out_scaled = _assert_finite_output(scaled_est, X_scaled)
    out = output(base_est, X)
    if is_classifier(base_est):
        np.testing.assert_array_equal(out_scaled, out)
        # A classifier has predict_proba or decision_function (or both).
        for method in ("predict_proba", "decision_function"):
            if hasattr(base_est, method):
                np.testing.assert_allclose(
                    getattr(scaled_est, method)(X_scaled),
                    getattr(base_est, method)(X),
                    atol=1e-6,
                )
        return
    np.testing.assert_allclose(
        out_scaled / factor,
        out,
        rtol=1e-5,
        atol=1e-8 * np.nanmax(np.abs(out)),
        err_msg=f"{name}: scaling the input by {factor:g} changed the answer",
    )
    n_iter, n_iter_scaled = (
        getattr(base_est, "n_iter_", 0),
        getattr(scaled_est, "n_iter_", 0),
    )
    assert abs(int(n_iter_scaled) - int(n_iter)) <= max(2, 0.25 * int(n_iter)), (
        f"{name}: n_iter_ {n_iter_scaled} after scaling vs {n_iter}: a false "
        "(or missed) convergence"
    )


def _fit_or_clear_error(name, X, y, params):
    """``(fitted, warnings)``, or ``(None, None)`` after an error naming ``name``."""
    est = _estimator(name, **params)
    try:
        return _fit(est, X, y)
    except Exception as exc:
        assert _is_clear_error(exc, name), (
            f"{name} failed with an error that does not name it: "
            f"{type(exc).__name__}: {exc}"
        )
        return None, None


def case_scaled_X(name, scale):
    s = SCALES[scale]
    power = CASES[name].x_scale_power
    X, y = _base_data(name)
    params = _scaled_params(name)
    base, base_caught = _fit(_estimator(name, **params), X, y)
    est, caught = _fit_or_clear_error(name, X * s, y, params)
    if power == "error":
        assert est is None, f"{name} accepted non-binary (scaled binary) input"
        return
    if est is None:
        return
    _assert_no_nan_attributes(est)
    _assert_finite_output(est, X * s)
    if power is None:  # not scale-equivariant in X: finite is all we ask
        return
    base_cw = any(issubclass(w.category, ConvergenceWarning) for w in base_caught)
    scaled_cw = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert scaled_cw == base_cw, (
        f"{name}: ConvergenceWarning {'appeared' if scaled_cw else 'vanished'} "
        f"after scaling X by {scale}"
    )
    _assert_same_answer(name, est, base, X * s, X, s**power)


def case_scaled_y(name, scale):
    s = SCALES[scale]
    X, y = _base_data(name)
    base, _ = _fit(_estimator(name), X, y)
    est, _ = _fit_or_clear_error(name, X, y * s, {})
    if est is None:
        return
    _assert_no_nan_attributes(est)
    _assert_same_answer(name, est, base, X, X, s)


def case_flat_trials(name, variant):
    X, y = _base_data(name)
    if CASES[name].input == "spd":
        n = X.shape[1]
        if variant == "one zero matrix":
            X[0] = 0.0
        else:  # "one negative-definite matrix"
            X[0] = -np.eye(n)
        _result_or_clear_error(name, X, y, expect_warning=True)
        return
    if variant == "one zero trial":
        X[0] = 0.0
    elif variant == "one constant trial":
        X[0] = 5.0
    elif variant == "zero channel":
        X[:, 0, :] = 0.0
    else:  # "all trials constant"
        X[:] = 5.0
    est = _result_or_clear_error(name, X, y, expect_warning=True)
    if est is not None and not is_classifier(est):
        # Documented output: SPD matrices.
        eigenvalues = np.linalg.eigvalsh(est.transform(X))
        assert eigenvalues.min() > 0, f"{name} output is not SPD for {variant}"


def case_flat_trial_at_predict(name):
    # Fitted on good trials, shown a flat one: a clear error or a warned,
    # finite answer; never NaN probabilities and a silent classes_[0].
    X, y = _base_data(name)
    est, _ = _fit(_estimator(name), X, y)
    flat = X[:3].copy()
    flat[0] = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _assert_finite_output(est, flat)
        except AssertionError:
            raise
        except Exception as exc:
            assert _is_clear_error(exc, name), f"{type(exc).__name__}: {exc}"
            return
    assert _names_estimator(caught, name), f"{name} read a flat trial silently"


def case_string_targets(name):
    X, y = _base_data(name)
    labels = np.array(["spam", "ham", "eggs"])[np.arange(len(X)) % 3]
    est = _estimator(name)
    if is_regressor(est):
        with pytest.raises(ValueError, match="could not convert string to float"):
            est.fit(X, labels)
    else:  # classifiers: string labels are labels
        labels = np.where(y == y[0], "left", "right")
        est, _ = _fit(est, X, labels)
        assert set(est.predict(X)) <= {"left", "right"}
        np.testing.assert_array_equal(est.classes_, ["left", "right"])


def case_non_finite(name, kind):
    X, y = _base_data(name)
    value = {"NaN in X": np.nan, "inf in X": np.inf, "NaN in y": None}[kind]
    est = _estimator(name)
    if kind == "NaN in y":
        y = np.array(y, dtype=np.float64)
        y[0] = np.nan
    else:
        X.flat[1] = value
    allow_nan = est.__sklearn_tags__().input_tags.allow_nan
    if kind == "NaN in X" and allow_nan:
        est, _ = _fit(est, X, y)  # NaN marks a missing entry
        _assert_no_nan_attributes(est)
        _assert_finite_output(est, X)
        return
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    # sklearn's own wording (validate_data) is the clear error here; it names
    # the estimator for NaN, not for infinity.
    message = str(info.value)
    assert message.startswith(("Input X contains", "Input y contains")), message


# --------------------------------------------------------------------------
# The tests (main process)
# --------------------------------------------------------------------------

NAMES = sorted(n for n in ESTIMATORS if n in CASES)
REGRESSORS = [n for n in NAMES if is_regressor(ESTIMATORS[n]())]
SUPERVISED = [
    n for n in NAMES if is_regressor(ESTIMATORS[n]()) or is_classifier(ESTIMATORS[n]())
]
RIEMANN = [n for n in NAMES if CASES[n].input in ("trials", "spd")]


def _ids(names, variants=None):
    if variants is None:
        return [(n,) for n in names]
    return [(n, v) for n in names for v in variants]


def _riemann_variants():
    pairs = []
    for n in RIEMANN:
        if CASES[n].input == "spd":
            variants = ["one zero matrix", "one negative-definite matrix"]
        else:
            variants = [
                "one zero trial",
                "one constant trial",
                "zero channel",
                "all trials constant",
            ]
        pairs += [(n, v) for v in variants]
    return pairs


@pytest.mark.parametrize("name", _params("test_constant_input", _ids(NAMES)))
def test_constant_input(worker, name):
    worker.run("case_constant", name)


@pytest.mark.parametrize("name", _params("test_all_zero_input", _ids(NAMES)))
def test_all_zero_input(worker, name):
    worker.run("case_all_zero", name)


@pytest.mark.parametrize("name, scale", _params("test_scaled_X", _ids(NAMES, SCALES)))
def test_scaled_X(worker, name, scale):
    worker.run("case_scaled_X", name, scale)


@pytest.mark.parametrize(
    "name, scale", _params("test_scaled_y", _ids(REGRESSORS, SCALES))
)
def test_scaled_y(worker, name, scale):
    worker.run("case_scaled_y", name, scale)


@pytest.mark.parametrize(
    "name, variant", _params("test_flat_eeg_input", _riemann_variants())
)
def test_flat_eeg_input(worker, name, variant):
    worker.run("case_flat_trials", name, variant)


@pytest.mark.parametrize(
    "name",
    _params(
        "test_flat_trial_at_predict",
        _ids([n for n in RIEMANN if CASES[n].input == "trials"]),
    ),
)
def test_flat_trial_at_predict(worker, name):
    worker.run("case_flat_trial_at_predict", name)


@pytest.mark.parametrize("name", _params("test_string_targets", _ids(SUPERVISED)))
def test_string_targets(worker, name):
    worker.run("case_string_targets", name)


def _non_finite_ids():
    pairs = _ids(NAMES, ["NaN in X", "inf in X"])
    return pairs + _ids(REGRESSORS, ["NaN in y"])


@pytest.mark.parametrize("name, kind", _params("test_non_finite", _non_finite_ids()))
def test_non_finite(worker, name, kind):
    worker.run("case_non_finite", name, kind)


def test_a_hang_fails_instead_of_stalling(worker):
    # The timeout is what keeps CI moving: a case that never returns fails.
    with pytest.raises(pytest.fail.Exception, match="did not finish"):
        worker.run("case_hang", timeout=3)


def case_hang():
    import time

    while True:
        time.sleep(0.1)
