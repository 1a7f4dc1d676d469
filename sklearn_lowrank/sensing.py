"""Low-rank matrix sensing by (over-parameterized) factored gradient descent.

Implements the algorithms studied in

    Nuoya Xiong, Lijun Ding, Simon S. Du. "How Over-Parameterization Slows
    Down Gradient Descent in Matrix Sensing: The Curses of Symmetry and
    Initialization." ICLR 2024 (spotlight), arXiv:2310.01769.

Each sample is one linear measurement ``y_i = <A_i, M*>`` of an unknown
low-rank matrix ``M*`` of shape ``(n1, n2)``; a row of ``X`` is ``A_i``
flattened in C order.  The matrix is fitted as a product of factors,
``F G^T`` (asymmetric) or ``X X^T`` (symmetric, PSD targets), by gradient
descent on ``(1 / 2m) ||A(F G^T) - y||^2`` from a small random
initialization.  The paper shows:

- symmetric, over-parameterized (``rank > rank(M*)``) GD converges only
  sublinearly (an Omega(1/T^2) lower bound);
- asymmetric GD converges linearly, at a rate exp(-Omega(alpha^2 T)) that
  depends on the initialization scale alpha through the *imbalance*
  ``F^T F - G^T G`` (which GD almost conserves); hence ``G`` starts at a
  third of ``F``'s scale;
- one modification step, once the iterate is close to the solution, makes
  the rate independent of alpha.

A third solver, preconditioned gradient descent with a damped
preconditioner (ScaledGD(lambda) of Xu, Shen, Chi & Ma 2023 / PrecGD of
Zhang, Fattahi & Zhang 2021), removes the dependence on the condition number
of ``M*`` and on over-parameterization; it is the default.

The gradient only needs ``X @ vec(F G^T)`` and ``X.T @ residual``, so a
sparse ``X`` (e.g. entry-sampling measurements) is never densified.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_lowrank._linalg import top_singular_triplet
from sklearn_lowrank._messages import (
    estimator_name,
    verbose_print,
    warn,
    warn_not_converged,
)
from sklearn_lowrank._threads import bounded_fit
from sklearn_lowrank._validation import check_rank

__all__ = ["MatrixSensingRegressor"]

# Default relative step sizes (see ``learning_rate``).  Plain GD needs
# eta <~ 1 / sigma_1(M*) (in units where the operator has restricted norm
# 1); the preconditioned step is scale free.
_AUTO_STEP = {"gd": 0.25, "gd_one_step": 0.25, "scaled_gd": 0.5}

# The one-step modification fires once the relative training residual
# ||A(F G^T) - y|| / ||y|| falls below this level ("sufficiently close to the
# optimum"; the paper's condition involves the unknown M*, see the docs).
_REBALANCE_RESIDUAL = 1e-2

# After the re-balancing step, F has all singular values equal to beta with
# beta^2 = _REBALANCE_FACTOR * ||F G^T||_2, so that the imbalance
# F^T F - G^T G is of the order of sigma_1(M*), free of alpha.
_REBALANCE_FACTOR = 2.0

# A step that increases the loss by more than this fraction is rejected and
# the step size halved: GD with a safe step decreases the loss, so this only
# fires when the automatic step was too optimistic.
_INCREASE_TOLERANCE = 1e-6

# Damping of the preconditioner (G^T G + lambda I)^{-1} of solver="scaled_gd":
# lambda = _DAMPING_FACTOR * ||A(F G^T) - y|| / sqrt(m L), an estimate of
# the distance ||F G^T - M||_F (PrecGD's choice).
_DAMPING_FACTOR = 1.0

# Stagnation window: stop when F G^T moved by less than ``tol`` (relative)
# over this many iterations (noisy data: the noise floor is reached).
_STAGNATION_WINDOW = 10

# Stationary point of the least-squares problem: stop when, besides the loss
# having fallen by less than a fraction ``tol`` over the stagnation window,
# the residual is orthogonal to the range of X up to ``tol``:
# ||X^T r|| <= tol ||X||_F ||r||.  Then no matrix of any rank fits y better
# (the unconstrained least-squares optimum is reached), so running on cannot
# help; on data that a rank-k matrix fits exactly the residual test fires
# first.

# X is treated as a rank-one operator (every row a multiple of one sensing
# matrix) when ||X - s a^T||_F <= max(m, p) * eps * ||X||_F, numpy's
# ``matrix_rank`` threshold; a cheaper Pythagorean test with this (much
# looser) bound screens out every other X first.
_RANK_ONE_SCREEN = 1e-10

# Cap on the step halvings of one iteration.  After this many (a step 2^-60
# of the first) the loss cannot be lowered along the gradient at float64
# precision: the iterate is stationary and the fit stops there.
_MAX_HALVINGS = 60


class MatrixSensingRegressor(RegressorMixin, BaseEstimator):
    """Low-rank matrix sensing by over-parameterized factored gradient descent.

    Each sample is one linear measurement ``y_i = <A_i, M>`` of an unknown
    low-rank matrix ``M`` of shape ``(n1, n2)``; row ``i`` of ``X`` holds
    ``A_i`` flattened in C order (``A_i.ravel()``).  The estimator is a
    linear regressor whose coefficient vector is a rank-``rank`` matrix:
    ``coef_ = matrix_.ravel()`` and ``predict(X) = X @ coef_``.

    The matrix is fitted as ``F @ G.T`` (asymmetric) or ``X @ X.T``
    (symmetric, positive semidefinite) by gradient descent from a small
    random initialization, as analysed by Xiong, Ding & Du (2024).  Read
    more in the :ref:`User Guide <sensing>`.

    Parameters
    ----------
    shape : tuple of (int, int) or None, default=None
        Shape ``(n1, n2)`` of the unknown matrix; ``n1 * n2`` must equal
        ``n_features``.  If None, a square shape is used when
        ``n_features`` is a perfect square, otherwise ``(n_features, 1)``
        (a vector: the model is then ordinary least squares fitted by
        factored gradient descent, which is what scikit-learn's generic
        checks exercise).

    rank : int, default=5
        Number of columns ``k`` of the factors.  It may exceed the rank of
        the unknown matrix (over-parameterization, the subject of the
        paper); it must be at most ``min(n1, n2)``.

    parameterization : {"asymmetric", "symmetric"}, default="asymmetric"
        ``"asymmetric"`` fits ``F @ G.T`` (any matrix).  ``"symmetric"``
        fits ``X @ X.T`` and needs a square shape; it only represents
        positive semidefinite matrices and, over-parameterized, converges
        sublinearly (the paper's "curse of symmetry").

    solver : {"scaled_gd", "gd", "gd_one_step"}, default="scaled_gd"
        - ``"gd"``: plain gradient descent, the algorithm the paper
          analyses.
        - ``"gd_one_step"``: plain gradient descent plus the paper's
          one-step modification: once the relative training residual is
          below 1e-2, ``F`` and ``G`` are re-balanced once (``F G^T``
          unchanged) so that the imbalance ``F^T F - G^T G`` no longer
          depends on ``init_scale``; asymmetric only.
        - ``"scaled_gd"``: gradient steps preconditioned by
          ``(G^T G + lambda I)^{-1}`` and ``(F^T F + lambda I)^{-1}`` with
          the damping ``lambda`` proportional to the current residual
          (ScaledGD(lambda) / PrecGD).  Its rate is independent of the
          condition number of ``M`` and of over-parameterization; fastest
          in practice.

    init_scale : float, default=0.1
        Initialization scale alpha: the entries of ``F`` (or ``X``) start
        i.i.d. normal with standard deviation ``alpha * sqrt(s / n1)`` and
        those of ``G`` with a third of it, where ``s`` estimates the
        largest singular value of ``M``, so alpha is relative to the target
        (the paper's alpha for ``||M|| = 1``).  Smaller alpha slows down
        over-parameterized ``"gd"`` (rate exp(-alpha^2 T)).

    learning_rate : "auto" or float, default="auto"
        Step size relative to the problem's scale: the step is
        ``learning_rate / (L * s)`` for ``"gd"``/``"gd_one_step"`` and
        ``learning_rate / L`` for ``"scaled_gd"``, where ``L`` estimates
        the restricted operator norm of ``(1 / m) A^* A`` (a few power
        iterations on low-rank matrices) and ``s`` the largest singular
        value of ``M``.  ``"auto"`` is 0.25 for the plain solvers and 0.5
        for ``"scaled_gd"``.  A step that increases the loss is rejected
        and the step size halved (with a safe step, GD decreases the loss).

    max_iter : int, default=1000
        Maximum number of iterations.

    tol : float, default=1e-6
        Stop when the relative training residual
        ``||X @ coef_ - y|| / ||y||`` is below ``tol`` (noiseless data), or
        when the fitted matrix moved by less than a fraction ``tol`` over the
        last 10 iterations (the noise floor of noisy data), or when the loss
        stalls over those iterations at a least-squares stationary point
        (``||X.T @ r|| <= tol * ||X||_F * ||r||`` for the residual ``r``:
        no matrix fits y better).  Symmetric
        over-parameterized ``"gd"`` crawls sublinearly and may meet the
        second test long before it is accurate: that is the paper's point.

    random_state : int, RandomState instance or None, default=None
        Seed of the random initialization and of the power iterations.

    verbose : int, default=0
        Print the loss every 50 iterations (every iteration if >= 2).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        ``matrix_.ravel()``: the coefficients of the linear model.

    matrix_ : ndarray of shape (n1, n2)
        The recovered matrix ``left_factor_ @ right_factor_.T``.

    left_factor_ : ndarray of shape (n1, rank)
        ``F`` (``X`` for the symmetric parameterization).

    right_factor_ : ndarray of shape (n2, rank)
        ``G`` (equal to ``left_factor_`` for the symmetric one).

    shape_ : tuple of (int, int)
        The matrix shape used.

    learning_rate_ : float
        The relative step size (in the units of ``learning_rate``) used at
        the end of the fit: smaller than ``learning_rate`` when the guard
        halved it.

    loss_curve_ : ndarray of shape (n_iter_ + 1,)
        Training loss ``(1 / 2m) ||X @ coef - y||^2`` at the start and
        after every iteration, in the units of y squared (so it overflows
        to inf, or underflows to 0, when the entries of y are beyond about
        1e+-154; the fit itself runs on rescaled data and is unaffected).

    rebalance_iter_ : int or None
        Iteration at which the one-step modification was applied
        (``solver="gd_one_step"``); None if it was not.

    n_iter_ : int
        Number of iterations run.

    n_features_in_ : int
        Number of features seen during fit (``n1 * n2``).

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string feature names.

    See Also
    --------
    sklearn.linear_model.Ridge : Unconstrained linear regression; it needs
        ``n_samples >= n1 * n2`` measurements, the low-rank model only
        about ``rank * (n1 + n2)``.

    Notes
    -----
    The fit rescales X and y by powers of two to entries of at most 1 and
    scales the factors back exactly, so it is scale equivariant: ``c X``
    gives the matrix divided by c, ``c y`` the matrix times c, with the
    same iterations, for any c that keeps the data and the answer within
    float64 (otherwise a ``ValueError`` names the problem).  ``y = 0``
    gives the zero matrix with ``n_iter_ = 0``; an all-zero X gives the
    zero matrix with a warning.  When every row of X is a multiple of the
    same sensing matrix A (e.g. a constant X), the measurements determine
    only ``<A, M>``: a warning says so, and ``fit`` returns with
    ``n_iter_ = 0`` its least-squares value carried by the matrix of least
    norm of rank at most ``rank`` (predictions ``mean(y)`` for a constant
    X).

    Recovery needs more measurements than the degrees of freedom of a rank
    ``r`` matrix, ``r (n1 + n2 - r)`` (a warning is raised otherwise), and
    measurements that satisfy a restricted isometry property, e.g. i.i.d.
    Gaussian ``A_i``.  With symmetric ``A_i`` only the symmetric part of
    ``F G^T`` is identified.

    References
    ----------
    .. [1] N. Xiong, L. Ding and S. S. Du, "How Over-Parameterization Slows
       Down Gradient Descent in Matrix Sensing: The Curses of Symmetry and
       Initialization", ICLR 2024, arXiv:2310.01769.
    .. [2] X. Xu, Y. Shen, Y. Chi and C. Ma, "The Power of Preconditioning in
       Overparameterized Low-Rank Matrix Sensing", ICML 2023.
    .. [3] G. Zhang, S. Fattahi and R. Y. Zhang, "Preconditioned Gradient
       Descent for Over-Parameterized Nonconvex Matrix Factorization",
       NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lowrank import MatrixSensingRegressor
    >>> from sklearn_lowrank.datasets import make_matrix_sensing
    >>> X, y, M = make_matrix_sensing(600, (20, 20), 2, random_state=0)
    >>> est = MatrixSensingRegressor(shape=(20, 20), rank=4, random_state=0)
    >>> est = est.fit(X, y)
    >>> bool(np.linalg.norm(est.matrix_ - M) < 1e-4)
    True
    """

    _parameter_constraints: dict = {
        "shape": [tuple, None],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "parameterization": [StrOptions({"asymmetric", "symmetric"})],
        "solver": [StrOptions({"scaled_gd", "gd", "gd_one_step"})],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        shape=None,
        rank=5,
        *,
        parameterization="asymmetric",
        solver="scaled_gd",
        init_scale=0.1,
        learning_rate="auto",
        max_iter=1000,
        tol=1e-6,
        random_state=None,
        verbose=0,
    ):
        self.shape = shape
        self.rank = rank
        self.parameterization = parameterization
        self.solver = solver
        self.init_scale = init_scale
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y):
        """Fit the low-rank matrix to the measurements.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n1 * n2)
            Sensing matrices, one per row, flattened in C order.
        y : array-like of shape (n_samples,)
            Measurements.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=np.float64,
            y_numeric=True,
        )
        # y_numeric converts object arrays only; a numpy string array would
        # reach the solver's arithmetic.
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{type(self).__name__}: y must hold numbers (measurements); {exc}."
            ) from exc
        shape = _resolve_shape(
            self.shape, X.shape[1], self.parameterization, estimator=self
        )
        rank = check_rank(self.rank, shape, estimator=self, name="rank")
        symmetric = self.parameterization == "symmetric"
        if self.solver == "gd_one_step" and symmetric:
            raise ValueError(
                f"{type(self).__name__}: solver='gd_one_step' re-balances the "
                "two factors of F G^T and needs parameterization='asymmetric'."
            )
        n1, n2 = shape
        # Degrees of freedom of a rank-k matrix (k(k-1)/2 fewer if PSD).
        dof = rank * (n1 + n2 - rank)
        if symmetric:
            dof = rank * (2 * n1 - rank + 1) // 2
        if X.shape[0] < dof:
            warn(
                f"{type(self).__name__}: {X.shape[0]} measurements are fewer "
                f"than the {dof} degrees of freedom of a rank-{rank} "
                f"{n1}x{n2} matrix; the matrix is not identifiable and the "
                "fit will interpolate y without recovering it. Collect more "
                "measurements or lower rank.",
                UserWarning,
            )
        rng = check_random_state(self.random_state)
        F, G, info = _solve_sensing(
            X,
            y,
            shape,
            rank,
            symmetric=symmetric,
            solver=self.solver,
            init_scale=self.init_scale,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=rng,
            verbose=self.verbose,
            estimator=self,
        )
        self.shape_ = shape
        self.left_factor_ = F
        self.right_factor_ = G
        self.matrix_ = F @ G.T
        self.coef_ = self.matrix_.ravel()
        self.loss_curve_ = info["loss_curve"]
        self.n_iter_ = info["n_iter"]
        self.learning_rate_ = info["step"]
        self.rebalance_iter_ = info["rebalance_iter"]
        if not info["converged"]:
            advice = (
                f"the relative residual is {info['relative_residual']:.2e}, "
                f"above tol={self.tol}; increase max_iter"
            )
            if self.solver != "scaled_gd":
                # Plain GD slows with over-parameterization, small init_scale
                # and ill-conditioning; the preconditioned solver does not.
                advice += ", or use solver='scaled_gd'"
            warn_not_converged(self, n_iter=self.n_iter_, advice=advice)
        return self

    def predict(self, X):
        """Predict the measurements ``<A_i, M>`` of new sensing matrices.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n1 * n2)
            Sensing matrices, one per row, flattened in C order.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            ``X @ coef_``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=np.float64, reset=False
        )
        return np.asarray(X @ self.coef_).ravel()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _resolve_shape(shape, n_features, parameterization, *, estimator):
    """The (n1, n2) shape: given, or inferred from n_features."""
    name = estimator_name(estimator)
    symmetric = parameterization == "symmetric"
    if shape is None:
        side = int(round(np.sqrt(n_features)))
        if side * side == n_features:
            return (side, side)
        if symmetric:
            raise ValueError(
                f"{name}: parameterization='symmetric' needs a "
                f"square matrix, but n_features={n_features} is not a perfect "
                "square; pass shape=(n, n) with n * n == n_features."
            )
        return (n_features, 1)
    if len(shape) != 2 or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in shape
    ):
        raise ValueError(
            f"{name}: shape must be a pair of positive ints, got {shape!r}."
        )
    n1, n2 = int(shape[0]), int(shape[1])
    if n1 * n2 != n_features:
        raise ValueError(
            f"{name}: shape={shape} holds {n1 * n2} entries but "
            f"X has n_features={n_features}; each row of X must be a flattened "
            "n1 x n2 sensing matrix."
        )
    if symmetric and n1 != n2:
        raise ValueError(
            f"{name}: parameterization='symmetric' needs a square "
            f"shape, got shape={shape}."
        )
    return (n1, n2)


# --------------------------------------------------------------------------
# Solvers: arrays in, arrays out.
# --------------------------------------------------------------------------


def _adjoint(X, residual, shape):
    """``(1/m) A^*(residual)`` as an n1 x n2 matrix (no densification of X)."""
    return np.asarray(X.T @ residual).reshape(shape) / X.shape[0]


def _operator_scales(X, y, shape, rng):
    """Scales that set the step size: the operator's gain and sigma_1(M).

    Both are read along the top singular pair (u, v) of the spectral
    estimate (1/m) A^* y:

    - ``gain = ||A(u v^T)||^2 / m``, the restricted norm of (1/m) A^* A on
      that rank-one direction: about 1 for Gaussian A_i (restricted
      isometry) and about 1 / (n1 n2) for entry sampling, so one rule serves
      every operator and any normalisation of the rows of X;
    - ``sigma1 = <A(u v^T), y> / ||A(u v^T)||^2``, the least-squares size of
      the measurements along u v^T (the top singular value of the target
      when the operator is an isometry, an over-estimate otherwise).

    A rough value is enough: a step that turns out too large is halved by
    the guard in the solver loop.
    """
    B = _adjoint(X, y, shape)
    s, u, v = top_singular_triplet(B, rng)
    Auv = np.asarray(X @ np.outer(u, v).ravel()).ravel()
    gain = float(Auv @ Auv) / X.shape[0]
    tiny = np.finfo(float).tiny
    if gain <= tiny or s <= tiny:
        return 1.0, max(s, tiny)
    return gain, s / gain


def _loss(residual):
    return 0.5 * float(residual @ residual) / residual.shape[0]


def _residual(X, M, y):
    return np.asarray(X @ M.ravel()).ravel() - y


def _rebalance(F, G):
    """The one-step modification: re-balance F and G, keeping F G^T.

    F <- beta F (F^T F)^{-1/2} gives F all singular values beta, and
    G <- G (F^T F)^{1/2} / beta compensates, so F G^T is unchanged.  With
    beta^2 = 2 ||F G^T||_2 the imbalance F^T F - G^T G is then about
    sigma_1(M) I instead of alpha^2 I, which removes alpha from the rate.
    Directions in which F is (numerically) zero are left as they are.
    """
    Lam, W = np.linalg.eigh(F.T @ F)
    floor = Lam.max() * 1e-12 if Lam.size and Lam.max() > 0 else 0.0
    keep = Lam > floor
    if not np.any(keep):
        return F, G
    sigma1 = np.linalg.norm(F @ G.T, 2)
    beta = np.sqrt(_REBALANCE_FACTOR * sigma1)
    scale = np.ones_like(Lam)
    scale[keep] = beta / np.sqrt(Lam[keep])
    # F W diag(scale) W^T and G W diag(1/scale) W^T keep F G^T exactly.
    F_new = (F @ W) * scale @ W.T
    G_new = (G @ W) / scale @ W.T
    return F_new, G_new


def _scale_exponent(A):
    """Exponent e with ``max |A|`` in ``[2^(e-1), 2^e)`` (0 for all-zero A).

    The largest magnitude is computed without any product or sum, so it
    cannot overflow or underflow whatever the scale of A.
    """
    values = A.data if sp.issparse(A) else A
    if values.size == 0:
        return 0
    top = float(np.max(np.abs(values)))
    return int(np.frexp(top)[1]) if top > 0 else 0


def _ldexp(A, exponent):
    """``A * 2**exponent``, exact (no rounding) unless it leaves float64's
    range; sparse A keeps its structure."""
    if exponent == 0:
        return A
    if sp.issparse(A):
        A = A.copy()
        A.data = np.ldexp(A.data, exponent)
        return A
    return np.ldexp(A, exponent)


def _solve_sensing(
    X,
    y,
    shape,
    rank,
    *,
    symmetric,
    solver,
    init_scale,
    learning_rate,
    max_iter,
    tol,
    random_state,
    verbose=0,
    estimator=None,
):
    """Factored (preconditioned) gradient descent for matrix sensing.

    Minimizes ``(1 / 2m) ||X @ vec(F G^T) - y||^2`` (``G = F`` if
    ``symmetric``).

    X and y are first divided by powers of two that bring their largest
    entries into ``[1/4, 1)``, and the factors multiplied back at the end:
    the rescalings are exact, so a fit of ``c X`` (``c y``) gives the matrix
    of X divided (multiplied) by c for any c that keeps the data and the
    answer within float64, with the same iterations.  Every quantity the
    solver computes (losses, norms, step sizes) is then of the order of 1.

    ``random_state`` is a RandomState (the initialization and the power
    iterations draw from it); ``estimator`` is named in messages.

    Returns
    -------
    F, G : ndarray of shape (n1, rank), (n2, rank)
    info : dict
        ``loss_curve`` (in the units of y squared), ``n_iter``,
        ``converged``, ``step`` (relative, as ``learning_rate``),
        ``rebalance_iter``, ``relative_residual``.
    """
    n1, n2 = shape
    x_exp = _scale_exponent(X)
    y_exp = _scale_exponent(y)
    # M scales as y / X; an even difference lets F and G share it exactly
    # (the symmetric parameterization needs F = G).
    y_exp += (y_exp - x_exp) % 2
    half_exp = (y_exp - x_exp) // 2
    info = dict(rebalance_iter=None, step=0.0)
    zero_X = x_exp == 0 and not _has_nonzero(X)
    if zero_X and np.any(y):
        warn(
            f"{estimator_name(estimator)}: X is all zero, so every matrix "
            "predicts y equally badly; the fit returns the zero matrix. Check "
            "that X holds the flattened sensing matrices.",
            UserWarning,
        )
    if not np.any(y) or zero_X:
        # The zero matrix fits y = 0 exactly (factors of zeros are a fixed
        # point); with X = 0 no matrix fits better than any other, and the
        # zero matrix is the one of least norm.
        F = np.zeros((n1, rank))
        G = F if symmetric else np.zeros((n2, rank))
        loss = 0.5 * float(np.mean(np.square(_ldexp(y, -y_exp))))
        info.update(
            loss_curve=np.ldexp(np.full(1, loss), 2 * y_exp),
            n_iter=0,
            converged=True,
            relative_residual=1.0 if np.any(y) else 0.0,
        )
        return F, G, info
    X = _ldexp(X, -x_exp)
    y = _ldexp(y, -y_exp)
    rank_one = _rank_one_operator(X) if X.shape[0] > 1 and n1 * n2 > 1 else None
    if rank_one is not None:
        warn(
            f"{estimator_name(estimator)}: every row of X is a multiple of the "
            f"same {n1}x{n2} sensing matrix A, so the measurements determine "
            f"one number, <A, M>, not a rank-{rank} matrix; the fit returns "
            "the least-squares value of <A, M> carried by the matrix of least "
            "norm (n_iter_ = 0). To recover M, use measurements with different "
            "sensing matrices (e.g. i.i.d. Gaussian A_i).",
            UserWarning,
        )
        F, G, info = _solve_rank_one(*rank_one, y, shape, rank, symmetric=symmetric)
    else:
        F, G, info = _solve_normalized(
            X,
            y,
            shape,
            rank,
            symmetric=symmetric,
            solver=solver,
            init_scale=init_scale,
            learning_rate=learning_rate,
            max_iter=max_iter,
            tol=tol,
            random_state=random_state,
            verbose=verbose,
            estimator=estimator,
        )
    with np.errstate(over="ignore", under="ignore"):
        info["loss_curve"] = np.ldexp(info["loss_curve"], 2 * y_exp)
        M = F @ G.T
        top = float(np.max(np.abs(M)))
        scaled_top = float(np.ldexp(top, 2 * half_exp))
        if top > 0 and not np.finfo(np.float64).tiny <= scaled_top < np.inf:
            raise ValueError(
                f"{estimator_name(estimator)}: the fitted matrix is not "
                "representable in float64: its largest entry is about "
                f"2^{int(np.frexp(top)[1]) + 2 * half_exp} (the scale of y "
                "divided by that of X). Rescale X or y."
            )
        F = _ldexp(F, half_exp)
        G = F if symmetric else _ldexp(G, half_exp)
    return F, G, info


def _has_nonzero(A):
    values = A.data if sp.issparse(A) else A
    return bool(np.any(values))


def _rank_one_operator(X):
    """``(s, a)`` with ``X = s a^T`` numerically, or None.

    X has entries of at most 1 (rescaled).  ``a`` is the row of largest norm
    and ``s = X a / ||a||^2`` the least-squares multiples of it.  The
    Pythagorean residual ``||X||^2 - ||s||^2 ||a||^2`` (one product with X)
    rules out every X that is not close to rank one; the survivors are
    checked on the explicit residual, in row blocks to bound memory.
    """
    m, p = X.shape
    if sp.issparse(X):
        row_sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    else:
        row_sq = np.einsum("ij,ij->i", X, X)
    total = float(row_sq.sum())
    if total == 0.0:
        return None
    top = int(np.argmax(row_sq))
    if sp.issparse(X):
        # One row, gathered without densifying X (or calling its todense).
        row = sp.coo_matrix(X[[top]])
        a = np.zeros(p)
        np.add.at(a, row.col, row.data)
    else:
        a = X[top]
    a_sq = float(a @ a)
    s = np.asarray(X @ a).ravel() / a_sq
    if total - float(s @ s) * a_sq > _RANK_ONE_SCREEN * total:
        return None
    threshold = (max(m, p) * np.finfo(np.float64).eps) ** 2 * total
    block = max(1, 2**20 // p)
    residual_sq = 0.0
    for start in range(0, m, block):
        rows = X[start : start + block]
        rows = rows.toarray() if sp.issparse(rows) else rows
        diff = rows - np.outer(s[start : start + block], a)
        residual_sq += float(np.einsum("ij,ij->", diff, diff))
        if residual_sq > threshold:
            return None
    return s, a


def _solve_rank_one(s, a, y, shape, rank, *, symmetric):
    """Least-squares fit when every measurement matrix is a multiple of A.

    The measurements ``y_i = s_i <A, M>`` determine only ``c = <A, M>``
    (least squares: ``c = <s, y> / <s, s>``).  Among the matrices of rank at
    most ``rank`` with ``<A, M> = c``, the one of least Frobenius norm is
    ``c A_k / ||A_k||_F^2`` with ``A_k`` the best rank-``rank``
    approximation of A (``<A, M> <= ||A_k||_F ||M||_F`` for such M).  For the
    PSD parameterization, only the eigenpairs of the symmetric part of A with
    the sign of c can carry c; without any, no PSD matrix improves on 0.
    """
    n1, n2 = shape
    A = a.reshape(shape)
    c = float(s @ y) / float(s @ s)
    F = np.zeros((n1, rank))
    G = F if symmetric else np.zeros((n2, rank))
    tiny = np.finfo(np.float64).tiny
    if c != 0.0:
        if symmetric:
            lam, V = np.linalg.eigh(0.5 * (A + A.T))
            mag = np.sign(c) * lam
            order = np.argsort(mag)[::-1][:rank]
            order = order[mag[order] > max(mag.max(), 0.0) * n1 * np.finfo(float).eps]
            if order.size:
                weight = abs(c) / float(mag[order] @ mag[order])
                F = F.copy()
                F[:, : order.size] = V[:, order] * np.sqrt(weight * mag[order])
                G = F
        else:
            U, sigma, Vt = np.linalg.svd(A, full_matrices=False)
            keep = min(
                rank,
                int(
                    np.sum(
                        sigma > max(sigma[0], tiny) * max(n1, n2) * np.finfo(float).eps
                    )
                ),
            )
            sigma = sigma[:keep]
            root = np.sqrt(abs(c) / float(sigma @ sigma) * sigma)
            F[:, :keep] = np.sign(c) * U[:, :keep] * root
            G[:, :keep] = Vt[:keep].T * root
    residual = s * float(np.sum(A * (F @ G.T))) - y
    loss = _loss(residual)
    info = dict(
        rebalance_iter=None,
        step=0.0,
        loss_curve=np.full(1, loss),
        n_iter=0,
        converged=True,
        relative_residual=float(np.linalg.norm(residual) / np.linalg.norm(y)),
    )
    return F, G, info


def _solve_normalized(
    X,
    y,
    shape,
    rank,
    *,
    symmetric,
    solver,
    init_scale,
    learning_rate,
    max_iter,
    tol,
    random_state,
    verbose=0,
    estimator=None,
):
    """:func:`_solve_sensing` on data whose largest entries are about 1."""
    n1, n2 = shape
    y_norm = float(np.linalg.norm(y))
    info = dict(rebalance_iter=None)
    rng = random_state
    op_norm, sigma1 = _operator_scales(X, y, shape, rng)
    rel = _AUTO_STEP[solver] if learning_rate == "auto" else float(learning_rate)
    # Absolute step = relative step * unit; only the relative one is halved.
    unit = 1.0 / op_norm if solver == "scaled_gd" else 1.0 / (op_norm * sigma1)

    # Small random initialization; G deliberately a third of F's scale
    # (the imbalance F^T F - G^T G drives the linear rate of asymmetric GD).
    std = init_scale * np.sqrt(sigma1 / n1)
    F = std * rng.standard_normal((n1, rank))
    G = F if symmetric else (std / 3.0) * rng.standard_normal((n2, rank))

    M = F @ G.T
    residual = _residual(X, M, y)
    loss = _loss(residual)
    if not np.isfinite(loss):
        raise FloatingPointError(
            f"{estimator_name(estimator)}: the training loss at the initial "
            "point is not finite although X and y were rescaled to entries of "
            "at most 1; X @ coef overflows. Check X for rows of huge norm."
        )
    losses = [loss]
    # Round-off level of the loss: changes below it are not increases.
    loss_floor = 0.5 * (1e-13 * y_norm) ** 2 / X.shape[0]
    recent = [M]  # the last _STAGNATION_WINDOW + 1 iterates
    # ||X||_F of the rescaled X (entries at most 1): cannot overflow.
    x_norm = float(sp.linalg.norm(X) if sp.issparse(X) else np.linalg.norm(X))
    converged = False
    rebalanced = False
    eye = np.eye(rank)
    n_iter = 0
    while n_iter < max_iter:
        rel_res = np.sqrt(2.0 * loss * X.shape[0]) / y_norm
        if rel_res <= tol:
            converged = True
            break
        if len(recent) > _STAGNATION_WINDOW and np.linalg.norm(
            M - recent[0]
        ) <= tol * np.linalg.norm(M):
            # The iterate no longer moves: the noise floor of noisy data.
            converged = True
            break
        E = _adjoint(X, residual, shape)  # gradient of the loss w.r.t. F G^T
        if (
            len(losses) > _STAGNATION_WINDOW
            and losses[-1 - _STAGNATION_WINDOW] - loss <= tol * loss
            and np.linalg.norm(E) * X.shape[0]
            <= tol * x_norm * np.sqrt(2.0 * loss * X.shape[0])
        ):
            # ||X^T r|| <= tol ||X||_F ||r|| and the loss stalls: the
            # least-squares optimum over all matrices is reached (degenerate
            # measurements, or noise that no matrix fits).
            converged = True
            break
        if solver == "gd_one_step" and not rebalanced and rel_res < _REBALANCE_RESIDUAL:
            F, G = _rebalance(F, G)
            rebalanced = True
            info["rebalance_iter"] = n_iter

        if symmetric:
            # d/dX of (1/2m)||A(X X^T) - y||^2 is (E + E^T) X.
            grad = (E + E.T) @ F
            if solver == "scaled_gd":
                damping = _DAMPING_FACTOR * np.sqrt(2.0 * loss / op_norm)
                grad = np.linalg.solve(F.T @ F + damping * eye, grad.T).T
                grad *= 0.5  # E + E^T counts the residual twice
        else:
            grad_F = E @ G
            grad_G = E.T @ F
            if solver == "scaled_gd":
                # Damping ~ ||F G^T - M||_F (PrecGD): large far away (a plain
                # GD step), vanishing near the solution (a ScaledGD step).
                damping = _DAMPING_FACTOR * np.sqrt(2.0 * loss / op_norm)
                grad_F = np.linalg.solve(G.T @ G + damping * eye, grad_F.T).T
                grad_G = np.linalg.solve(F.T @ F + damping * eye, grad_G.T).T

        accepted = finite = False
        for _ in range(_MAX_HALVINGS + 1):
            step = rel * unit
            if symmetric:
                F_new = F - step * grad
                G_new = F_new
            else:
                F_new = F - step * grad_F
                G_new = G - step * grad_G
            M_new = F_new @ G_new.T
            new_residual = _residual(X, M_new, y)
            new_loss = _loss(new_residual)
            finite |= bool(np.isfinite(new_loss))
            if np.isfinite(new_loss) and (
                new_loss <= (1.0 + _INCREASE_TOLERANCE) * loss + loss_floor
            ):
                accepted = True
                break
            rel *= 0.5
            if verbose:
                verbose_print(estimator, f"loss went up; step -> {rel:.3g}")
        if not finite:
            raise FloatingPointError(
                f"{estimator_name(estimator)}: the training loss was not finite "
                f"after {_MAX_HALVINGS} step halvings at iteration {n_iter}. "
                "Lower learning_rate."
            )
        if not accepted:
            # No step along the gradient lowers the loss at float64
            # precision: the iterate is stationary.
            converged = True
            break
        F, G, M, residual, loss = F_new, G_new, M_new, new_residual, new_loss
        recent.append(M)
        if len(recent) > _STAGNATION_WINDOW + 1:
            recent.pop(0)
        n_iter += 1
        losses.append(loss)
        if verbose and (verbose >= 2 or n_iter % 50 == 0):
            verbose_print(estimator, f"iter {n_iter:5d}  loss {loss:.6e}")

    if not converged:
        rel_res = np.sqrt(2.0 * loss * X.shape[0]) / y_norm
        converged = rel_res <= tol
    info.update(
        loss_curve=np.asarray(losses),
        n_iter=n_iter,
        converged=converged,
        step=rel,
        relative_residual=float(np.sqrt(2.0 * loss * X.shape[0]) / y_norm),
    )
    return F, G, info
