"""MatrixSensingRegressor: the behaviour Xiong, Ding & Du (2024) prove.

Convergence claims are asserted on the slopes of ``loss_curve_`` (decades of
loss per iteration) and on iteration counts, never on wall time.
"""

import contextlib
import signal
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_lowrank import MatrixSensingRegressor, sensing
from sklearn_lowrank.datasets import make_matrix_sensing
from sklearn_lowrank.sensing import _rebalance, _solve_sensing

N, R, M_SAMPLES = 20, 2, 400  # 20x20, rank 2, 400 Gaussian measurements


def _relative_error(est, M):
    return np.linalg.norm(est.matrix_ - M) / np.linalg.norm(M)


def _slope(curve, start, stop):
    """Decades of loss gained per iteration between two iterations."""
    return (np.log10(curve[stop]) - np.log10(curve[start])) / (stop - start)


def _fit(X, y, **params):
    params = {"shape": (N, N), "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MatrixSensingRegressor(**params).fit(X, y)


@pytest.fixture(scope="module", params=[0, 1])
def gaussian_problem(request):
    return make_matrix_sensing(M_SAMPLES, (N, N), R, random_state=request.param)


@pytest.fixture(scope="module", params=[0, 1])
def psd_problem(request):
    return make_matrix_sensing(
        M_SAMPLES, (N, N), R, symmetric=True, random_state=request.param
    )


@pytest.mark.parametrize("rank, init_scale", [(R, 0.1), (2 * R, 0.5)])
def test_asymmetric_gd_recovers_linearly(gaussian_problem, rank, init_scale):
    # Exact (k = r) and over-parameterized (k = 2r) asymmetric GD: exact
    # recovery from O(n r) measurements, at a geometric rate.
    X, y, M = gaussian_problem
    est = _fit(X, y, rank=rank, solver="gd", init_scale=init_scale, tol=1e-9)
    assert _relative_error(est, M) < 1e-6
    assert est.n_iter_ < 1500
    curve = est.loss_curve_
    # Linear convergence: the loss falls by a steady number of decades per
    # iteration (the second half of the run is not slower than a third of
    # the first half's pace) down to the tolerance.
    half = est.n_iter_ // 2
    early = _slope(curve, half // 2, half)
    late = _slope(curve, half, est.n_iter_)
    assert early < 0 and late < early / 3


def test_symmetric_over_parameterization_is_sublinear(psd_problem):
    # The curse of symmetry: X X^T with k > r crawls (Omega(1/T^2)), while
    # F G^T with the same k on the same PSD problem converges linearly.
    X, y, M = psd_problem
    common = dict(rank=2 * R, solver="gd", max_iter=1200, tol=0)
    sym = _fit(X, y, parameterization="symmetric", init_scale=0.1, **common)
    asym = _fit(X, y, init_scale=0.5, **common)
    assert sym.n_iter_ == asym.n_iter_ == 1200
    sym_early, sym_late = (
        _slope(sym.loss_curve_, 100, 300),
        _slope(sym.loss_curve_, 600, 1200),
    )
    asym_late = _slope(asym.loss_curve_, 600, 1200)
    # Sublinear: the pace keeps dropping (a 1/T^2 loss gains about
    # 0.87/T decades per iteration) ...
    assert sym_late > 0.5 * sym_early
    assert sym_late > -1.5e-3
    # ... while the asymmetric pace stays at least 4x faster.
    assert asym_late < 4 * sym_late
    assert _relative_error(sym, M) > 1e-4
    assert _relative_error(asym, M) < 1e-5
    # Exact parameterization: the symmetric curse disappears.
    exact = _fit(X, y, parameterization="symmetric", rank=R, solver="gd", tol=1e-9)
    assert _relative_error(exact, M) < 1e-6 and exact.n_iter_ < 1000


def test_smaller_init_slows_gd_and_one_step_removes_it(gaussian_problem):
    X, y, M = gaussian_problem
    common = dict(rank=2 * R, max_iter=1200, tol=0)
    fast = _fit(X, y, solver="gd", init_scale=0.5, **common)
    slow = _fit(X, y, solver="gd", init_scale=0.1, **common)
    # Rate exp(-Omega(alpha^2 T)): a 5x smaller alpha is markedly slower.
    assert _slope(slow.loss_curve_, 600, 1200) > 3 * _slope(fast.loss_curve_, 600, 1200)
    assert _relative_error(slow, M) > 1e-4
    # The one-step modification: the number of iterations to a 1e-8 relative
    # residual no longer depends on alpha, and beats plain GD at alpha = 0.5.
    iters = {}
    for alpha in (0.1, 0.02):
        est = _fit(X, y, solver="gd_one_step", init_scale=alpha, rank=2 * R, tol=1e-8)
        assert est.rebalance_iter_ is not None
        assert _relative_error(est, M) < 1e-7
        iters[alpha] = est.n_iter_
    assert max(iters.values()) < 1.6 * min(iters.values())
    plain = _fit(X, y, solver="gd", init_scale=0.5, rank=2 * R, tol=1e-8)
    assert max(iters.values()) < plain.n_iter_


def test_one_step_rebalancing_keeps_the_product_and_fixes_the_imbalance():
    rng = np.random.RandomState(0)
    F = 0.01 * rng.standard_normal((12, 4))
    G = rng.standard_normal((9, 4))
    F2, G2 = _rebalance(F, G)
    np.testing.assert_allclose(F2 @ G2.T, F @ G.T, atol=1e-12)
    beta2 = 2 * np.linalg.norm(F @ G.T, 2)
    np.testing.assert_allclose(np.linalg.svd(F2, compute_uv=False) ** 2, beta2)
    # The imbalance F^T F - G^T G is now positive, of the order of sigma_1.
    assert np.linalg.eigvalsh(F2.T @ F2 - G2.T @ G2).min() > 0.5 * beta2 / 2


def test_scaled_gd_is_insensitive_to_ill_conditioning():
    X, y, M = make_matrix_sensing(
        M_SAMPLES, (N, N), R, condition_number=100, random_state=0
    )
    pre = _fit(X, y, rank=2 * R, solver="scaled_gd", tol=1e-8, max_iter=600)
    plain = _fit(X, y, rank=2 * R, solver="gd", init_scale=0.5, tol=1e-8, max_iter=600)
    assert _relative_error(pre, M) < 1e-6
    assert pre.n_iter_ < 300
    assert plain.n_iter_ == 600 and _relative_error(plain, M) > 1e-3


def test_default_solver_recovers_over_parameterized():
    X, y, M = make_matrix_sensing(M_SAMPLES, (N, N), R, random_state=3)
    est = MatrixSensingRegressor(shape=(N, N), rank=3 * R, random_state=0, tol=1e-9)
    est.fit(X, y)
    assert _relative_error(est, M) < 1e-6
    np.testing.assert_allclose(est.coef_, est.matrix_.ravel())
    np.testing.assert_allclose(
        est.left_factor_ @ est.right_factor_.T, est.matrix_, atol=1e-12
    )
    assert est.loss_curve_.shape == (est.n_iter_ + 1,)
    np.testing.assert_allclose(est.predict(X), X @ est.coef_)
    assert est.score(X, y) > 1 - 1e-10


def test_symmetric_fit_is_psd(psd_problem):
    X, y, M = psd_problem
    est = _fit(X, y, parameterization="symmetric", rank=R, tol=1e-9)
    np.testing.assert_array_equal(est.left_factor_, est.right_factor_)
    assert np.linalg.eigvalsh(est.matrix_).min() > -1e-12
    assert _relative_error(est, M) < 1e-6


class _NoDensifyCSR(sp.csr_matrix):
    """A CSR matrix that refuses to become dense."""

    def toarray(self, *args, **kwargs):
        raise AssertionError("X was densified")

    todense = toarray


@pytest.mark.parametrize("solver", ["scaled_gd", "gd_one_step"])
def test_sparse_entry_sampling_is_never_densified(solver):
    X, y, M = make_matrix_sensing(
        int(0.6 * N * N), (N, N), R, operator="entries", random_state=0
    )
    X = _NoDensifyCSR(X)
    F, G, info = _solve_sensing(
        X,
        y,
        (N, N),
        R,
        symmetric=False,
        solver=solver,
        init_scale=0.1,
        learning_rate="auto",
        max_iter=3000,
        tol=1e-9,
        random_state=np.random.RandomState(0),
        estimator="MatrixSensingRegressor",
    )
    assert info["converged"]
    assert np.linalg.norm(F @ G.T - M) / np.linalg.norm(M) < 1e-6
    # The estimator accepts sparse X and gives the same fit as dense X.
    sparse_fit = _fit(sp.csr_matrix(X), y, rank=R, solver=solver, max_iter=3000)
    dense_fit = _fit(
        sp.csr_matrix(X).toarray(), y, rank=R, solver=solver, max_iter=3000
    )
    np.testing.assert_allclose(sparse_fit.coef_, dense_fit.coef_, atol=1e-10)
    np.testing.assert_allclose(
        sparse_fit.predict(sp.csr_matrix(X)),
        sparse_fit.predict(sp.csr_matrix(X).toarray()),
    )


@pytest.mark.parametrize("solver, rank", [("scaled_gd", R), ("gd_one_step", 2 * R)])
def test_noisy_measurements_stop_at_the_noise_floor(solver, rank):
    X, y, M = make_matrix_sensing(M_SAMPLES, (N, N), R, noise=1e-3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MatrixSensingRegressor(
            shape=(N, N), rank=rank, solver=solver, random_state=0
        ).fit(X, y)
    # The iterate stops moving at an error of the order of the noise
    # (per-measurement noise 1e-3 on measurements of unit size).
    assert _relative_error(est, M) < 2e-3


def test_vector_shape_is_least_squares():
    # n_features that is not a perfect square: a (n_features, 1) matrix, i.e.
    # ordinary least squares fitted by factored gradient descent.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 6)) * np.array([1, 2, 5, 1, 1, 3])
    y = X @ rng.standard_normal(6)
    est = MatrixSensingRegressor(rank=1, tol=1e-10, max_iter=5000, random_state=0)
    est.fit(X, y)
    assert est.shape_ == (6, 1)
    np.testing.assert_allclose(est.coef_, np.linalg.lstsq(X, y)[0], atol=1e-6)


def test_scale_invariance_of_the_defaults(gaussian_problem):
    # Step size and alpha are relative to the data's scale.
    X, y, M = gaussian_problem
    a = _fit(X, y, rank=2 * R, tol=1e-9)
    b = _fit(X, 1e4 * y, rank=2 * R, tol=1e-9)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(b.matrix_, 1e4 * a.matrix_, rtol=1e-6, atol=1e-8)


def test_max_iter_gives_convergence_warning(gaussian_problem):
    X, y, _ = gaussian_problem
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        MatrixSensingRegressor(shape=(N, N), rank=R, max_iter=3).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(shape=(5, 5)), "shape=\\(5, 5\\) holds 25 entries but X has"),
        (dict(shape=(N, N), rank=N + 1), "rank=21 is too large"),
        (dict(shape=(N, N, 1)), "shape must be a pair"),
        (
            dict(shape=(40, 10), parameterization="symmetric"),
            "symmetric' needs a square shape",
        ),
        (
            dict(shape=(N, N), solver="gd_one_step", parameterization="symmetric"),
            "needs parameterization='asymmetric'",
        ),
    ],
)
def test_bad_parameters_are_named(gaussian_problem, params, match):
    X, y, _ = gaussian_problem
    params = {"rank": R, **params}
    with pytest.raises(ValueError, match=match):
        MatrixSensingRegressor(**params).fit(X, y)


def test_rank_below_one_is_rejected(gaussian_problem):
    X, y, _ = gaussian_problem
    with pytest.raises(InvalidParameterError, match="'rank' parameter"):
        MatrixSensingRegressor(rank=0).fit(X, y)


def test_symmetric_needs_a_square_number_of_features():
    X = np.ones((30, 12))
    with pytest.raises(ValueError, match="n_features=12 is not a perfect square"):
        MatrixSensingRegressor(rank=1, parameterization="symmetric").fit(X, X[:, 0])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_rejected(gaussian_problem, bad):
    X, y, _ = gaussian_problem
    X = X.copy()
    X[3, 7] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        MatrixSensingRegressor(rank=R).fit(X, y)
    X, y = gaussian_problem[0], gaussian_problem[1].copy()
    y[0] = bad
    with pytest.raises(ValueError, match="Input y contains"):
        MatrixSensingRegressor(rank=R).fit(X, y)


def test_too_few_measurements_warn(gaussian_problem):
    X, y, _ = gaussian_problem
    # rank 2 of a 20x20 matrix has 2 * (40 - 2) = 76 degrees of freedom.
    with pytest.warns(UserWarning, match="fewer than the 76 degrees of freedom"):
        _fit(X[:50], y[:50], rank=R, max_iter=5)


@contextlib.contextmanager
def _time_limit(seconds):
    """Fail instead of hanging (the solver loops must all be bounded)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def _raise(*_):
        raise TimeoutError(f"fit did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "solver, parameterization",
    [
        ("scaled_gd", "asymmetric"),
        ("gd", "asymmetric"),
        ("gd_one_step", "asymmetric"),
        ("scaled_gd", "symmetric"),
    ],
)
@pytest.mark.parametrize(
    "x_scale, y_scale",
    [(1, 1e150), (1, 1e-150), (1e150, 1), (1e-150, 1), (1e150, 1e150)],
)
def test_scale_equivariance(psd_problem, solver, parameterization, x_scale, y_scale):
    # Scaling X by a and y by b scales the matrix by b / a and the
    # predictions by b, with the same iterations (no norm over- or
    # underflows, no false convergence).
    X, y, _ = psd_problem
    params = dict(rank=2 * R, solver=solver, parameterization=parameterization)
    params.update(max_iter=300, tol=1e-8)
    ref = _fit(X, y, **params)
    with _time_limit(60):
        est = _fit(X * x_scale, y * y_scale, **params)
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(
        est.matrix_ * (x_scale / y_scale), ref.matrix_, rtol=1e-6, atol=1e-10
    )
    np.testing.assert_allclose(
        est.predict(X * x_scale) / y_scale, ref.predict(X), rtol=1e-6, atol=1e-9
    )
    assert np.all(np.isfinite(est.loss_curve_))


@pytest.mark.parametrize(
    "x_scale, y_scale, solver",
    [
        (1, 1e300, "scaled_gd"),  # used to hang in the step halving
        (1e300, 1, "gd"),  # used to hang
        (1e300, 1, "scaled_gd"),  # used to raise LinAlgError: Singular matrix
        (1, 1e-300, "scaled_gd"),  # used to return 0 with n_iter_ = 0
        (1e-300, 1, "scaled_gd"),  # used to predict zeros
    ],
)
def test_extreme_scales_give_the_scaled_answer(
    gaussian_problem, x_scale, y_scale, solver
):
    X, y, M = gaussian_problem
    params = dict(rank=R, solver=solver, max_iter=10)
    ref = _fit(X, y, **params)
    with _time_limit(60):
        est = _fit(X * x_scale, y * y_scale, **params)
    assert est.n_iter_ == ref.n_iter_ == 10
    np.testing.assert_allclose(
        est.predict(X * x_scale) / y_scale, ref.predict(X), rtol=1e-6, atol=1e-9
    )
    # Run to the end: the matrix is recovered, scaled by y_scale / x_scale.
    with _time_limit(60):
        est = _fit(X * x_scale, y * y_scale, rank=R, solver=solver, tol=1e-9)
    assert est.n_iter_ > 0
    unscaled = est.matrix_ * (x_scale / y_scale)
    assert np.linalg.norm(unscaled - M) / np.linalg.norm(M) < 1e-6


@pytest.mark.parametrize("x_scale, y_scale", [(1e-300, 1e300), (1e300, 1e-300)])
def test_unrepresentable_answer_is_a_clear_error(gaussian_problem, x_scale, y_scale):
    X, y, _ = gaussian_problem
    with pytest.raises(ValueError, match="not representable in float64"):
        _fit(X * x_scale, y * y_scale, rank=R, max_iter=5)


def test_zero_targets_and_zero_measurements_give_the_zero_matrix(gaussian_problem):
    X, y, _ = gaussian_problem
    est = _fit(X, np.zeros_like(y), rank=R)
    assert est.n_iter_ == 0 and not est.matrix_.any()
    assert np.all(np.isfinite(est.loss_curve_))
    with pytest.warns(UserWarning, match="X is all zero"):
        est = MatrixSensingRegressor(shape=(N, N), rank=R).fit(np.zeros_like(X), y)
    assert est.n_iter_ == 0 and not est.matrix_.any()
    np.testing.assert_allclose(est.loss_curve_, [0.5 * np.mean(y**2)])


def test_step_halving_is_bounded(gaussian_problem, monkeypatch):
    # A loss that is never finite after the start: the halving loop gives
    # up after _MAX_HALVINGS tries with a clear error instead of spinning.
    X, y, _ = gaussian_problem
    calls = []
    true_loss = sensing._loss

    def broken_loss(residual):
        calls.append(1)
        return true_loss(residual) if len(calls) == 1 else np.inf

    monkeypatch.setattr(sensing, "_loss", broken_loss)
    with _time_limit(60), pytest.raises(FloatingPointError, match="not finite"):
        MatrixSensingRegressor(shape=(N, N), rank=R).fit(X, y)
    assert len(calls) == 1 + sensing._MAX_HALVINGS + 1

    # A loss that never decreases: the iterate is stationary, the fit stops.
    calls.clear()

    def flat_loss(residual):
        calls.append(1)
        return true_loss(residual) if len(calls) == 1 else 1e300

    monkeypatch.setattr(sensing, "_loss", flat_loss)
    with _time_limit(60):
        est = MatrixSensingRegressor(shape=(N, N), rank=R, max_iter=1000).fit(X, y)
    assert est.n_iter_ == 0
    assert len(calls) == 1 + sensing._MAX_HALVINGS + 1


def test_string_targets_are_a_clear_error(gaussian_problem):
    X, y, _ = gaussian_problem
    labels = np.array(["spam", "ham"])[np.arange(len(y)) % 2]
    with pytest.raises(ValueError, match="could not convert string to float"):
        MatrixSensingRegressor(shape=(N, N), rank=R).fit(X, labels)


def _min_norm_rank_k(A, c, k):
    """Least-norm matrix of rank <= k with <A, M> = c: c A_k / ||A_k||^2."""
    U, s, Vt = np.linalg.svd(A)
    A_k = (U[:, :k] * s[:k]) @ Vt[:k]
    return c * A_k / np.sum(A_k**2)


@pytest.mark.parametrize("solver", ["scaled_gd", "gd", "gd_one_step"])
@pytest.mark.parametrize("rank", [1, 3])
def test_constant_measurements_give_the_least_squares_fit_of_least_norm(solver, rank):
    # Issue 16: every A_i equal (constant X) used to run all max_iter and
    # warn "increase max_iter", which cannot help.  The measurements only
    # determine <A, M>; the fit is its least-squares value mean(y), carried
    # by the rank-k matrix of least norm, with a warning saying why.
    rng = np.random.RandomState(0)
    y = rng.standard_normal(240) + 0.02  # weak signal: the solvers crawled
    X = np.full((240, 64), 3.0)
    est = MatrixSensingRegressor(rank=rank, solver=solver, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    messages = [str(w.message) for w in caught]
    assert any(
        m.startswith("MatrixSensingRegressor: every row of X is a multiple")
        and "not a rank-" in m
        for m in messages
    ), messages
    assert est.n_iter_ == 0 and est.loss_curve_.shape == (1,)
    np.testing.assert_allclose(est.predict(X[:3]), y.mean(), rtol=1e-12)
    np.testing.assert_allclose(
        est.matrix_,
        _min_norm_rank_k(np.full((8, 8), 3.0), y.mean(), rank),
        rtol=1e-10,
    )


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.filterwarnings("ignore:MatrixSensingRegressor. every row")
def test_rank_one_operator_matrix_of_least_norm(sparse):
    # Rows s_i A of a full-rank Gaussian A: <A, M> = <s, y> / <s, s>, and
    # among rank-k matrices the least-norm one is c A_k / ||A_k||^2 (smaller
    # than what gradient descent from a random start would drift to).
    rng = np.random.RandomState(1)
    A = rng.standard_normal((6, 5))
    s = rng.standard_normal(50)
    y = rng.standard_normal(50)
    X = np.outer(s, A.ravel())
    c = (s @ y) / (s @ s)
    for rank in (1, 2, 5):
        est = _fit(sp.csr_matrix(X) if sparse else X, y, shape=(6, 5), rank=rank)
        np.testing.assert_allclose(
            est.matrix_, _min_norm_rank_k(A, c, rank), atol=1e-12
        )
        assert np.linalg.matrix_rank(est.matrix_) == rank
    # The rescaling by powers of two applies: 1e+-150 gives the scaled answer.
    ref = _fit(X, y, shape=(6, 5), rank=2)
    for x_scale, y_scale in [(1e150, 1), (1e-150, 1), (1, 1e150), (1e-150, 1e-150)]:
        est = _fit(X * x_scale, y * y_scale, shape=(6, 5), rank=2)
        np.testing.assert_allclose(
            est.matrix_ * x_scale / y_scale, ref.matrix_, rtol=1e-12
        )


@pytest.mark.filterwarnings("ignore:MatrixSensingRegressor. every row")
def test_rank_one_operator_symmetric_is_psd():
    # PSD parameterization: only the eigenpairs of sym(A) with the sign of c
    # can carry c = <A, M>; with none of that sign, 0 is the best PSD fit.
    rng = np.random.RandomState(2)
    Q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    A = (Q * [3.0, 2.0, 1.0, -1.0, -4.0]) @ Q.T
    y = np.full(30, 2.0)
    X = np.tile(A.ravel(), (30, 1))
    for target, rank, eig in [(2.0, 2, [3.0, 2.0]), (-2.0, 1, [-4.0])]:
        est = _fit(
            X,
            target * np.ones(30),
            shape=(5, 5),
            rank=rank,
            parameterization="symmetric",
        )
        assert np.linalg.eigvalsh(est.matrix_).min() > -1e-12
        np.testing.assert_allclose(np.sum(A * est.matrix_), target, rtol=1e-12)
        np.testing.assert_allclose(
            np.sort(np.abs(np.linalg.eigvalsh(est.matrix_)))[::-1][:rank],
            abs(target) * np.abs(eig) / np.sum(np.square(eig)),
            rtol=1e-10,
        )
    # A positive definite A and a negative target: no PSD matrix helps.
    P = (Q * [3.0, 2.0, 1.0, 0.5, 0.1]) @ Q.T
    est = _fit(
        np.tile(P.ravel(), (30, 1)),
        -y,
        shape=(5, 5),
        rank=2,
        parameterization="symmetric",
    )
    assert not est.matrix_.any()


def test_stationary_point_of_degenerate_measurements_stops_the_fit():
    # Two distinct sensing matrices and a weak signal: the preconditioned
    # solver approaches the least-squares fit slowly.  Once the residual is
    # orthogonal to the range of X (||X^T r|| <= tol ||X|| ||r||) and the
    # loss stalls, no matrix fits better: the fit stops there, converged.
    rng = np.random.RandomState(0)
    y = rng.standard_normal(240) + 0.02
    rows = [[3.0] * 64, [3.0] * 32 + [1.0] * 32]
    X = np.repeat(rows, 120, axis=0)
    est = MatrixSensingRegressor(rank=1, max_iter=1100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    r = X @ est.coef_ - y
    assert np.linalg.norm(X.T @ r) <= 1e-6 * np.linalg.norm(X) * np.linalg.norm(r)
    best = X @ np.linalg.lstsq(X, y, rcond=None)[0] - y
    assert r @ r <= (1 + 1e-9) * (best @ best)
