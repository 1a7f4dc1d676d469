"""Elbmf (Dalleiger & Vreeken, NeurIPS 2022): the elastic-binary proximal
operator and the alternating (inertial) proximal gradient on the relaxed
problem, plus the NMF starting point used beyond the paper."""

import warnings

import numpy as np
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

from sklearn_lowrank._messages import verbose_print
from sklearn_lowrank.boolean._polish import _count_ones


def _elastic_binary_prox(Z, l1, l2):
    """Proximal operator of the elastic-binary regularizer, clamped at 0.

    Elementwise ``argmin_{y >= 0} (y - z)^2 / 2 + l1 |y - b| + (l2 / 2)
    (y - b)^2`` where ``b`` is the closer of 0 and 1 to z (the regularizer is
    the minimum of the two branches, which are mirror images about 1/2):
    soft-thresholding of ``z - b`` by ``l1``, then shrinkage by ``1 + l2``.
    ``l1`` and ``l2`` already include the step size.

    The reference code omits the dead zone of the soft-threshold (it
    subtracts ``l1 sign(z - b)`` even when ``|z - b| < l1``, overshooting
    ``b``); this is the exact operator.

    Parameters
    ----------
    Z : ndarray
        Point at which to evaluate the operator.
    l1, l2 : float
        Step size times the l1 weight ``kappa`` and the l2 weight ``lam``.

    Returns
    -------
    Y : ndarray
        Same shape and dtype as Z, non-negative.
    """
    # In-place, one pass over the array per operation: this runs twice per
    # iteration on n x k and m x k arrays.
    b = (Z > 0.5).astype(Z.dtype)
    D = np.subtract(Z, b)
    Y = np.abs(D)
    Y -= l1
    np.maximum(Y, 0.0, out=Y)
    Y *= 1.0 / (1.0 + l2)
    np.copysign(Y, D, out=Y)
    Y += b
    np.maximum(Y, 0.0, out=Y)
    return Y


def _round_binary(Z):
    """Rounding of the reference code: the prox with kappa=1/2, lam->inf."""
    return (Z > 0.5).astype(np.float64)


def _palm_step(X, W, H, W_prev, l1, l2, beta):
    """One proximal gradient step on W for ``||X - W H^T||^2`` (H fixed).

    ``W`` is n x k, ``H`` is m x k (the other factor, transposed), ``X`` is
    n x m (dense or sparse).  With ``beta > 0`` this is the inertial (iPALM)
    step of Pock & Sabach: extrapolate from the previous iterate, then take
    the gradient step at the extrapolated point with step size ``2 (1 -
    beta) / ((1 + 2 beta) L)``; otherwise the PALM step ``1 / (1.1 L)``.
    ``L = ||H^T H||_F`` bounds the Lipschitz constant of the gradient in W
    (the Frobenius norm is an upper bound of the spectral norm).

    Returns the new W and ``X H`` (reused by the caller for the loss).
    """
    HtH = H.T @ H
    XH = X @ H
    lipschitz = max(float(np.linalg.norm(HtH)), 1e-4)
    if beta > 0:
        Y = W + beta * (W - W_prev)
        step = 2.0 * (1.0 - beta) / ((1.0 + 2.0 * beta) * lipschitz)
    else:
        Y = W
        step = 1.0 / (1.1 * lipschitz)
    # Y - step * (Y HtH - XH) = Y (I - step HtH) + step XH: one k x k product
    # and one axpy instead of three n x k temporaries.
    Z = Y @ (np.eye(HtH.shape[0], dtype=HtH.dtype) - step * HtH)
    Z += step * XH
    return _elastic_binary_prox(Z, l1 * step, l2 * step), XH


def _elbmf_palm(
    X,
    XT,
    U,
    Vt,
    *,
    l1_reg,
    l2_reg,
    reg_growth,
    max_iter,
    tol,
    beta,
    verbose=0,
    estimator=None,
):
    """Elbmf: alternating proximal gradient on the relaxed problem.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n, m)
        Binary data (float).
    XT : ndarray or CSR matrix of shape (m, n)
        Its transpose, in a layout fast for products (CSR for sparse X).
    U : ndarray of shape (n, k)
        Initial row factor (non-negative).
    Vt : ndarray of shape (m, k)
        Initial column factor, transposed.
    l1_reg, l2_reg, reg_growth : float
        ``kappa``, initial ``lam`` and the growth rate ``lam_t = lam_0
        reg_growth^t``.
    max_iter : int
        Maximum number of alternating iterations.
    tol : float
        Stop when the squared loss changes by less than ``tol * ||X||^2``.
    beta : float
        Inertia of iPALM (0 gives PALM).
    verbose : int, default=0
        Print the loss every iteration when above 1.
    estimator : estimator instance or str or None
        Named in the verbose lines.

    Returns
    -------
    U, Vt : ndarray
        Relaxed (not yet rounded) factors.
    losses : list of float
        ``||X - U V||_F^2`` after each iteration.
    converged : bool
        Whether the tolerance was met before ``max_iter``.
    """
    # The hot loop runs in float32: X holds 0/1 exactly, and the products
    # with X (the only O(nnz k) work) are memory-bound, so half the bytes is
    # about half the time.
    X, XT = X.astype(np.float32, copy=False), XT.astype(np.float32, copy=False)
    U, Vt = U.astype(np.float32), Vt.astype(np.float32)
    sq_norm_X = float(_count_ones(X))
    scale = max(sq_norm_X, 1.0)
    U_prev, Vt_prev = U, Vt
    losses = []
    converged = False
    for t in range(max_iter):
        l2 = l2_reg * reg_growth**t
        U_new, _ = _palm_step(X, U, Vt, U_prev, l1_reg, l2, beta)
        U, U_prev = U_new, U
        Vt_new, XtU = _palm_step(XT, Vt, U, Vt_prev, l1_reg, l2, beta)
        Vt, Vt_prev = Vt_new, Vt
        # ||X - U V||^2 = ||X||^2 - 2 <V^T, X^T U> + <U^T U, V V^T>: only the
        # X^T U of the V step and k x k Gram matrices, never U V itself.
        XtU = XtU.astype(np.float64)
        U64, Vt64 = U.astype(np.float64), Vt.astype(np.float64)
        loss = max(
            sq_norm_X - 2.0 * np.vdot(Vt64, XtU) + np.vdot(U64.T @ U64, Vt64.T @ Vt64),
            0.0,
        )
        if verbose > 1:
            verbose_print(
                estimator, f"PALM iter {t + 1:4d}  lambda {l2:.3g}  loss {loss:.6g}"
            )
        if losses and abs(losses[-1] - loss) <= tol * scale:
            losses.append(loss)
            converged = True
            break
        losses.append(loss)
    return U.astype(np.float64), Vt.astype(np.float64), losses, converged


def _nmf_start(X, k, random_state):
    """Starting factors for Elbmf from NMF (tiles of a real-valued fit).

    Each NMF component is rescaled so that its row and column factors have
    the same maximum, so that a planted tile (a constant block) comes out as
    two indicator vectors.
    """
    # Only the supports matter (Elbmf and the polish refine them), so a
    # loose tolerance is enough (the comparison with tol=1e-3 is in the
    # user guide).
    nmf = NMF(
        n_components=k,
        init="nndsvd",
        solver="cd",
        max_iter=100,
        tol=1e-2,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        # A loose NMF is all that is needed; its own max_iter is not the
        # user's concern.
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = nmf.fit_transform(X)
    return _balance_components(W, nmf.components_)


def _balance_components(W, H):
    """Rescale each component so that ``W[:, k]`` and ``H[k]`` share the same
    maximum (the product ``W H`` is unchanged): a constant block then comes
    out as two indicator vectors, ready to be cut at 1/2."""
    w_max, h_max = W.max(axis=0), H.max(axis=1)
    ok = (w_max > 0) & (h_max > 0)
    scale = np.ones(W.shape[1])
    scale[ok] = np.sqrt(h_max[ok] / w_max[ok])
    return W * scale, H / scale[:, None]
