"""Affine-invariant Riemannian geometry of SPD matrices, batched numpy (private).

The small set of operations that Riemannian EEG classifiers need, written so
that every function takes stacks of matrices of shape ``(..., n, n)`` and
works through one batched symmetric eigendecomposition per stack:

- matrix functions of SPD matrices (:func:`powm`, :func:`logm`, :func:`expm`);
- the logarithmic and exponential maps at a reference point
  (:func:`log_map`, :func:`exp_map`) and the isometric vectorisation of a
  tangent vector (:func:`upper`, :func:`unupper`);
- the affine-invariant distance (:func:`distance_riemann`);
- the affine-invariant (Karcher) mean (:func:`mean_riemann`).

The conventions (``upper`` weights off-diagonal entries by sqrt(2), the mean is
the minimiser of the sum of squared affine-invariant distances) are those of
pyRiemann, so tangent vectors computed here can be compared entry by entry with
``pyriemann.tangentspace.TangentSpace``.

References
----------
.. [1] X. Pennec, P. Fillard and N. Ayache, "A Riemannian framework for tensor
   computing", International Journal of Computer Vision 66 (2006).
.. [2] M. Congedo, B. Afsari, A. Barachant and M. Moakher, "Approximate joint
   diagonalization and geometric mean of symmetric positive definite
   matrices", PLOS ONE 10 (2015).
"""

import numpy as np

# Number of past steps mixed by the Anderson acceleration of the mean.
_ANDERSON_DEPTH = 3


def _eig_function(C, func, *, floor=True):
    """Apply ``func`` to the eigenvalues of symmetric matrices ``C``.

    With ``floor=True`` (SPD input), eigenvalues are floored at a tiny
    *relative* level (machine precision times the largest eigenvalue of each
    matrix, times n) so that a numerically singular matrix gives a large but
    finite logarithm instead of -inf/NaN.  The floor is scale-free: EEG in
    volts gives covariances of order 1e-10, for which an absolute epsilon
    would be wrong by many orders of magnitude.
    """
    w, V = np.linalg.eigh(C)
    if floor:
        top = np.max(np.abs(w), axis=-1, keepdims=True)
        tiny = np.finfo(w.dtype).eps * C.shape[-1] * top
        # An all-zero matrix has top == 0; keep it strictly positive anyway.
        tiny = np.where(tiny > 0, tiny, np.finfo(w.dtype).tiny)
        w = np.maximum(w, tiny)
    return (V * func(w)[..., np.newaxis, :]) @ np.swapaxes(V, -1, -2)


def powm(C, alpha):
    """Matrix power ``C**alpha`` of SPD matrices.

    Parameters
    ----------
    C : ndarray of shape (..., n, n)
        SPD matrices.
    alpha : float
        Exponent, e.g. 0.5 for the square root or -0.5 for the inverse
        square root.

    Returns
    -------
    P : ndarray of shape (..., n, n)
    """
    return _eig_function(C, lambda w: w**alpha)


def logm(C):
    """Principal matrix logarithm of SPD matrices.

    Parameters
    ----------
    C : ndarray of shape (..., n, n)
        SPD matrices.

    Returns
    -------
    L : ndarray of shape (..., n, n)
        Symmetric matrices.
    """
    return _eig_function(C, np.log)


def expm(S):
    """Matrix exponential of symmetric matrices.

    Parameters
    ----------
    S : ndarray of shape (..., n, n)
        Symmetric matrices.

    Returns
    -------
    E : ndarray of shape (..., n, n)
        SPD matrices.
    """
    return _eig_function(S, np.exp, floor=False)


def _sym(S):
    return 0.5 * (S + np.swapaxes(S, -1, -2))


def _whiten(C, ref_isqrt):
    """``ref^{-1/2} C ref^{-1/2}``, symmetrised against round-off."""
    return _sym(ref_isqrt @ C @ ref_isqrt)


def log_map(C, ref):
    """Riemannian logarithmic map at ``ref`` (affine-invariant metric).

    Returns the *whitened* tangent vectors ``logm(ref^{-1/2} C ref^{-1/2})``,
    the convention of pyRiemann's tangent space, whose Frobenius norm is the
    affine-invariant distance between ``C`` and ``ref``.

    Parameters
    ----------
    C : ndarray of shape (..., n, n)
        SPD matrices.
    ref : ndarray of shape (n, n)
        SPD reference point.

    Returns
    -------
    S : ndarray of shape (..., n, n)
        Symmetric tangent vectors.
    """
    return logm(_whiten(C, powm(ref, -0.5)))


def exp_map(S, ref):
    """Riemannian exponential map at ``ref``, the inverse of :func:`log_map`.

    Parameters
    ----------
    S : ndarray of shape (..., n, n)
        Symmetric (whitened) tangent vectors.
    ref : ndarray of shape (n, n)
        SPD reference point.

    Returns
    -------
    C : ndarray of shape (..., n, n)
        SPD matrices ``ref^{1/2} expm(S) ref^{1/2}``.
    """
    ref_sqrt = powm(ref, 0.5)
    return _sym(ref_sqrt @ expm(S) @ ref_sqrt)


def upper(S):
    """Isometric vectorisation of symmetric matrices.

    Keeps the upper triangle (row-major, as ``np.triu_indices``), with the
    off-diagonal entries multiplied by sqrt(2) so that the Euclidean norm of
    the vector equals the Frobenius norm of the matrix.

    Parameters
    ----------
    S : ndarray of shape (..., n, n)

    Returns
    -------
    T : ndarray of shape (..., n * (n + 1) // 2)
    """
    n = S.shape[-1]
    rows, cols = np.triu_indices(n)
    weights = np.where(rows == cols, 1.0, np.sqrt(2.0))
    return S[..., rows, cols] * weights


def unupper(T):
    """Inverse of :func:`upper`.

    Parameters
    ----------
    T : ndarray of shape (..., n * (n + 1) // 2)

    Returns
    -------
    S : ndarray of shape (..., n, n)
        Symmetric matrices.
    """
    m = T.shape[-1]
    n = int(round((np.sqrt(1 + 8 * m) - 1) / 2))
    if n * (n + 1) // 2 != m:
        raise ValueError(f"{m} is not the length of an upper triangle.")
    rows, cols = np.triu_indices(n)
    weights = np.where(rows == cols, 1.0, 1.0 / np.sqrt(2.0))
    S = np.zeros(T.shape[:-1] + (n, n), dtype=T.dtype)
    S[..., rows, cols] = T * weights
    S[..., cols, rows] = T * weights
    return S


def distance_riemann(A, B):
    """Affine-invariant Riemannian distance.

    ``d(A, B) = ||logm(B^{-1/2} A B^{-1/2})||_F = sqrt(sum log^2 lambda_i)``
    where ``lambda_i`` are the generalised eigenvalues of ``(A, B)``.

    Parameters
    ----------
    A : ndarray of shape (..., n, n)
        SPD matrices.
    B : ndarray of shape (n, n) or (..., n, n)
        SPD matrices, broadcast against ``A``.

    Returns
    -------
    d : ndarray of shape (...)
    """
    w = np.linalg.eigvalsh(_whiten(A, powm(B, -0.5)))
    top = np.max(w, axis=-1, keepdims=True)
    w = np.maximum(w, np.finfo(w.dtype).eps * A.shape[-1] * top)
    return np.sqrt(np.sum(np.log(w) ** 2, axis=-1))


def _arithmetic_harmonic_mean(C, w):
    """``A # H``: geometric mean of the arithmetic and harmonic means of C.

    The matrices are divided by the mean of their average eigenvalue first
    (both means are homogeneous), so that the inverses can neither overflow
    nor underflow; if the harmonic mean is not finite anyway (numerically
    singular input), ``A`` is returned.
    """
    A = np.einsum("i,ijk->jk", w, C)
    unit = np.trace(A) / A.shape[0]
    if not np.isfinite(unit) or unit <= 0:
        return A
    try:
        H = np.linalg.inv(np.einsum("i,ijk->jk", w, np.linalg.inv(C / unit)))
    except np.linalg.LinAlgError:
        return A
    if not np.all(np.isfinite(H)):
        return A
    w_A, V_A = np.linalg.eigh(A / unit)
    if w_A[0] <= 0:
        return A
    A_sqrt = (V_A * np.sqrt(w_A)) @ V_A.T
    A_isqrt = (V_A / np.sqrt(w_A)) @ V_A.T
    inner = powm(_whiten(_sym(H), A_isqrt), 0.5)
    G = _sym(A_sqrt @ inner @ A_sqrt) * unit
    return G if np.all(np.isfinite(G)) else A


def mean_riemann(C, *, sample_weight=None, tol=1e-10, max_iter=50, init=None):
    """Affine-invariant (Karcher) mean of SPD matrices.

    Minimises ``sum_i w_i d(M, C_i)^2`` by the Riemannian gradient iteration
    ``M <- M^{1/2} expm(nu J) M^{1/2}``, ``J = sum_i w_i logm(M^{-1/2} C_i
    M^{-1/2})`` (Pennec et al. 2006). With ``nu = 1`` this is a fixed-point
    iteration that converges linearly on concentrated matrices such as EEG
    covariances; it is Anderson-accelerated (the last 3 steps mixed in the
    log coordinates of a chart at the starting point). If the gradient norm
    more than doubles, the iteration returns to its best point and continues
    without acceleration, halving ``nu`` whenever the gradient norm grows,
    the safeguard of Congedo et al. (2015).

    It starts from the geometric mean ``A # H`` of the arithmetic mean ``A``
    and the harmonic mean ``H = (sum_i w_i C_i^{-1})^{-1}``: the Karcher mean
    lies between ``H`` and ``A`` in the Loewner order, ``A # H`` is exact for
    two matrices, and it costs one batched inverse instead of a pass of
    eigendecompositions.

    The iteration stops when ``||J||_F <= tol * max(1, s)``, ``s = sqrt(sum_i
    w_i ||L_i||_F^2)`` the weighted rms norm of the tangent vectors ``L_i``:
    moving the reference point by ``J`` moves the tangent vectors by about
    ``||J||``, so the criterion bounds their error relative to their spread
    (absolute when the matrices are within distance 1 of their mean).
    ``J`` and ``L_i`` are in whitened coordinates, so it is scale-free.
    Because the test is made *before* the update, the logarithms of the last
    iteration are the tangent vectors of the ``C_i`` at the returned mean;
    they are returned too, which saves the caller one full pass of
    eigendecompositions.

    Parameters
    ----------
    C : ndarray of shape (n_matrices, n, n)
        SPD matrices.
    sample_weight : ndarray of shape (n_matrices,), default=None
        Non-negative weights (normalised to sum to one); uniform if None.
    tol : float, default=1e-10
        Tolerance on the Frobenius norm of the Riemannian gradient, relative
        to the rms norm of the tangent vectors when that exceeds 1.
    max_iter : int, default=50
        Maximum number of iterations.
    init : ndarray of shape (n, n), default=None
        Starting point; ``A # H`` (see above) if None.

    Returns
    -------
    mean : ndarray of shape (n, n)
        The affine-invariant mean.
    logs : ndarray of shape (n_matrices, n, n)
        ``logm(mean^{-1/2} C_i mean^{-1/2})``, the whitened tangent vectors at
        ``mean``.
    n_iter : int
        Number of gradient evaluations.
    converged : bool
        Whether the stopping criterion was reached within ``max_iter``.
    """
    n_matrices = C.shape[0]
    if sample_weight is None:
        w = np.full(n_matrices, 1.0 / n_matrices)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        w = w / w.sum()
    M = _arithmetic_harmonic_mean(C, w) if init is None else np.array(init, dtype=float)
    # Anderson acceleration of the fixed-point map M -> M^{1/2} expm(J) M^{1/2},
    # in log coordinates x = upper(logm(B^{-1/2} M B^{-1/2})) of a fixed chart
    # at the starting point B. The plain iteration converges linearly (rate
    # ~0.1-0.2 on EEG covariances); mixing the last few steps makes it
    # superlinear in practice, halving the passes over the matrices, which
    # dominate the cost (one batched eigendecomposition each).
    B_sqrt, B_isqrt = powm(M, 0.5), powm(M, -0.5)
    x = np.zeros(M.shape[0] * (M.shape[0] + 1) // 2)
    dx_hist, df_hist = [], []
    prev_x = prev_f = None
    best, M_best = np.inf, M
    # Safeguard for widely dispersed matrices, where even the unit step can
    # overshoot: on a clear increase of the gradient, go back to the best
    # point and continue with the damped plain iteration (step halved on
    # every increase), as pyRiemann does.
    accelerate, nu, previous = True, 1.0, np.inf
    logs = None
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is returned)
        # One eigendecomposition of M gives both M^{1/2} and M^{-1/2}.
        w_M, V_M = np.linalg.eigh(M)
        w_M = np.maximum(w_M, np.finfo(float).eps * w_M[-1])
        M_sqrt = (V_M * np.sqrt(w_M)) @ V_M.T
        M_isqrt = (V_M / np.sqrt(w_M)) @ V_M.T
        logs = logm(_whiten(C, M_isqrt))
        J = np.einsum("i,ijk->jk", w, logs)
        crit = np.linalg.norm(J)
        spread = np.sqrt(np.dot(w, np.sum(logs * logs, axis=(1, 2))))
        if crit <= tol * max(1.0, spread):
            converged = True
            break
        if accelerate and crit > 2.0 * best:
            accelerate, nu, previous = False, 0.5, best
            M = M_best
            continue
        if crit < best:
            best, M_best = crit, M
        if not accelerate:
            if crit > previous:
                nu *= 0.5
            previous = crit
            M = _sym(M_sqrt @ expm(nu * J) @ M_sqrt)
            continue
        M_next = _sym(M_sqrt @ expm(J) @ M_sqrt)
        f = upper(logm(_whiten(M_next, B_isqrt))) - x
        if prev_x is not None:
            dx_hist.append(x - prev_x)
            df_hist.append(f - prev_f)
            del dx_hist[:-_ANDERSON_DEPTH], df_hist[:-_ANDERSON_DEPTH]
        prev_x, prev_f = x, f
        if dx_hist:
            dF = np.stack(df_hist, axis=1)
            dX = np.stack(dx_hist, axis=1)
            gamma = np.linalg.lstsq(dF, f, rcond=None)[0]
            x = x + f - (dX + dF) @ gamma
            M = _sym(B_sqrt @ expm(unupper(x)) @ B_sqrt)
        else:
            x = x + f
            M = M_next
    if not converged:
        # The loop ended on an update: recompute the logs at the final point.
        logs = log_map(C, M)
    return M, logs, n_iter, converged
