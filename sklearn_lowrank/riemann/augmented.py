"""Augmented covariance matrices (ACM) for EEG classification.

Implements Carrara & Papadopoulo, "Classification of BCI-EEG based on
augmented covariance matrix", arXiv:2302.04508 (2023): each trial is delay
embedded (``order`` copies of the channels shifted by multiples of ``lag``
samples, exactly as MOABB's ``AugmentedDataset`` slices them), the covariance
of the embedded signal is estimated with trace-relative shrinkage, and the SPD
matrices are classified on the Riemannian manifold, either by a linear model
in the tangent space at the affine-invariant mean of the training matrices or
by minimum distance to the class means (MDM).

Public building blocks, so that MOABB users can compose their own pipelines:

- :class:`AugmentedCovariances`: trials -> SPD augmented covariances;
- :class:`TangentSpace`: SPD matrices -> tangent vectors at the training mean;
- :class:`AugmentedCovarianceClassifier`: a Pipeline of both and a classifier
  (or of the covariances and a minimum-distance-to-mean step).

Input is ``(n_trials, n_channels, n_times)`` with time on the last axis, as
MNE, MOABB and pyRiemann give it.  A 2-D ``X`` is read, with a warning, as
single-channel trials ``(n_trials, n_times)`` (the univariate time-series
convention): MNE's reading of 2-D input as ``(n_trials, n_channels)`` with one
time sample leaves nothing to estimate a covariance from.

Degenerate input follows one policy, shared by every estimator here:

- a trial that is constant in time on every channel (flat, all-zero) has a
  zero covariance: it is given ``1e-6 * scale_**2 * I`` (``scale_``: the
  peak amplitude of the training trials), an SPD matrix far from every real
  trial, with a warning naming the trials;
  a channel constant in time (dead) is warned about by name; an ``X`` with
  no channel raises a ``ValueError``;
- a covariance that is not numerically positive definite (a dead channel
  with ``cov_estimator="scm"``, fewer samples than dimensions without
  shrinkage) is shrunk toward ``trace / n * I`` just enough to be SPD, with a
  warning naming the trials;
- :class:`TangentSpace` and the minimum-distance step accept only SPD
  matrices: zero, singular-indefinite or negative-definite input raises a
  ``ValueError`` naming the matrices.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.exceptions import DataConversionWarning
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names_in,
    _num_samples,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from sklearn_lowrank._messages import verbose_print, warn, warn_not_converged
from sklearn_lowrank._threads import bounded_blas_threads, bounded_fit
from sklearn_lowrank._validation import check_spd, format_indices, not_positive_definite
from sklearn_lowrank.riemann._delay import estimate_order_lag
from sklearn_lowrank.riemann._geometry import (
    distance_riemann,
    log_map,
    mean_riemann,
    upper,
)

__all__ = ["AugmentedCovarianceClassifier", "AugmentedCovariances", "TangentSpace"]

# Search ranges of the order/lag heuristics (those of the authors' code).
_MAX_ORDER = 10
_MAX_LAG = 30
# ``order=None``: the largest order up to this one whose embedded covariance
# can be full rank (n_channels * order < samples per embedded trial).
_DEFAULT_MAX_ORDER = 4
# Trials are embedded and reduced to covariances in chunks, so the embedded
# copy of the data (order times larger than X) never exists all at once.
_CHUNK_BYTES = 64 * 2**20
# Smallest eigenvalue, relative to trace / n, of a regularised covariance.
_SPD_FLOOR = 1e-6
# Smallest variance returned in the units of X: below it, the off-diagonal
# entries would be subnormal numbers with fewer than 53 bits.
_SMALLEST_EXACT = np.finfo(float).tiny / np.finfo(float).eps


def _geometry_threads():
    """BLAS threads for the batched geometry: one.

    The geometry is a stack of small eigendecompositions and products
    (matrices of a few dozen to a few hundred rows); LAPACK gains nothing from
    a second thread on them, and its spinning threads cost many times the work
    when the machine is busy (see the user guide).
    """
    return bounded_blas_threads(max_threads=1)


# --------------------------------------------------------------------------
# Input validation shared by the estimators
# --------------------------------------------------------------------------


def _validate_trials(estimator, X, *, reset):
    """Validate trials ``(n_trials, n_channels, n_times)``, time last.

    A 2-D X is read as single-channel trials ``(n_trials, n_times)`` (the
    univariate time-series convention of aeon/sktime), with a warning: a
    covariance needs several time samples per trial, so the MNE reading of 2-D
    input as ``(n_trials, n_channels)`` with one sample could only be refused.
    4-D and higher is refused, and so is an X with no channel.
    """
    name = type(estimator).__name__
    dtype = getattr(X, "dtype", None)
    if dtype is not None and dtype.kind in "iub":
        warn(
            f"{name} received X of dtype {dtype}; EEG trials are expected as "
            "floating-point values (volts). Converting to float64.",
            DataConversionWarning,
        )
    ndim = getattr(X, "ndim", None)
    if not reset and ndim is not None and ndim in (2, 3):
        fitted_ndim = getattr(estimator, "_input_ndim", ndim)
        if ndim != fitted_ndim:
            raise ValueError(
                f"{name} was fitted on {fitted_ndim}-D X but got {ndim}-D X; "
                "pass trials in the same layout as during fit."
            )
        if ndim == 3 and X.shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} channels, but {name} was fitted with "
                f"{estimator.n_features_in_} channels."
            )
    if ndim == 3 and X.shape[1] == 0:
        raise ValueError(
            f"{name} needs at least one channel, got X of shape {X.shape} "
            "(n_trials, n_channels, n_times)."
        )
    X = validate_data(
        estimator, X, reset=reset, allow_nd=True, dtype=np.float64, order="C"
    )
    if X.ndim > 3:
        raise ValueError(
            f"{name} expects X of shape (n_trials, n_channels, n_times), got "
            f"ndim={X.ndim} with shape {X.shape}."
        )
    if reset:
        estimator._input_ndim = X.ndim
    if X.ndim == 2:
        warn(
            f"{name} received 2-D X of shape {X.shape}, read as single-channel "
            "trials (n_trials, n_times). Pass EEG as a 3-D array (n_trials, "
            "n_channels, n_times).",
            UserWarning,
        )
        X = X[:, np.newaxis, :]
    if X.shape[2] < 2:
        raise ValueError(
            f"{name} needs at least 2 time samples per trial to estimate a "
            f"covariance, got X of shape {X.shape} (n_times = 1; for 2-D X, "
            "time is the 1 feature(s) axis)."
        )
    return X


def _validate_spd(estimator, C, *, reset):
    """Validate a stack of SPD matrices ``(n_matrices, n, n)``.

    Symmetric, finite and positive definite (a Cholesky factorisation
    exists); zero, singular or indefinite matrices are refused by name.
    """
    name = type(estimator).__name__
    C = validate_data(estimator, C, reset=reset, allow_nd=True, dtype=np.float64)
    if C.ndim != 3 or C.shape[1] != C.shape[2]:
        raise ValueError(
            f"{name} expects SPD matrices of shape (n_matrices, n, n), got "
            f"shape {C.shape}."
        )
    return check_spd(
        C,
        estimator=estimator,
        name="matrices ",
        advice=(
            "Estimate covariances with shrinkage (e.g. AugmentedCovariances "
            "with cov_estimator='oas')."
        ),
    )


def _check_embedding(estimator, order, lag, n_times):
    name = type(estimator).__name__
    if order > 1 and order * lag > n_times - 2:
        raise ValueError(
            f"{name}: order * lag = {order} * {lag} = {order * lag} must be at "
            f"most n_times - 2 = {n_times - 2}, so that each embedded trial "
            "keeps at least 2 samples."
        )


# --------------------------------------------------------------------------
# Private array functions: embedding and covariance estimation
# --------------------------------------------------------------------------


def delay_embed(X, order, lag):
    """Delay-embed trials exactly as MOABB's ``AugmentedDataset``.

    Block ``p`` (``p = 0 .. order - 1``) holds ``x(t + p * lag)``; every block
    keeps ``n_times - order * lag`` samples (MOABB drops the last ``lag``
    samples that would still fit). ``order=1`` returns X unchanged.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
    order : int
    lag : int

    Returns
    -------
    Z : ndarray of shape (n_trials, n_channels * order, n_times - order * lag)
        (``X`` itself when ``order == 1``).
    """
    if order == 1:
        return X
    n_times = X.shape[-1]
    return np.concatenate(
        [X[:, :, p * lag : n_times - (order - p) * lag] for p in range(order)],
        axis=1,
    )


def _shrinkage_oas(S, n_samples):
    """Oracle approximating shrinkage coefficient (Chen et al. 2010).

    The formula of :func:`sklearn.covariance.oas`, batched over trials.
    """
    n = S.shape[-1]
    # The coefficient is scale-free; compute it on S / (trace / n) so that
    # the squares can neither overflow nor underflow whatever the units.
    mu = np.trace(S, axis1=1, axis2=2) / n
    mu = np.where(mu > 0, mu, 1.0)
    alpha = np.mean((S / mu[:, np.newaxis, np.newaxis]) ** 2, axis=(1, 2))
    num = alpha + 1.0
    den = (n_samples + 1.0) * (alpha - 1.0 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(den > 0, np.minimum(num / den, 1.0), 1.0)
    return shrink


def _shrinkage_ledoit_wolf(Zc, S):
    """Ledoit-Wolf shrinkage coefficient, batched over centred trials.

    The formula of :func:`sklearn.covariance.ledoit_wolf_shrinkage`.
    """
    n, T = Zc.shape[1], Zc.shape[2]
    # Scale-free coefficient: computed on each trial divided by its largest
    # entry, so fourth moments cannot overflow or underflow.
    peak = np.max(np.abs(Zc), axis=(1, 2))
    peak = np.where(peak > 0, peak, 1.0)[:, np.newaxis, np.newaxis]
    Zc = Zc / peak
    S = S / peak**2
    X2 = Zc**2
    trace = X2.sum(axis=2) / T
    mu = trace.sum(axis=1) / n
    beta_ = np.sum(X2.sum(axis=1) ** 2, axis=1)
    delta_ = np.sum(S**2, axis=(1, 2))
    beta = (beta_ / T - delta_) / (n * T)
    delta = (delta_ - 2.0 * mu * trace.sum(axis=1) + n * mu**2) / n
    beta = np.minimum(beta, delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(beta > 0, beta / delta, 0.0)


def _shrink_to_trace(S, shrink):
    """``(1 - s) S + s * trace(S) / n * I`` per matrix: scale-free shrinkage."""
    n = S.shape[-1]
    mu = np.trace(S, axis1=1, axis2=2) / n
    S *= (1.0 - shrink)[:, np.newaxis, np.newaxis]
    idx = np.arange(n)
    S[:, idx, idx] += (shrink * mu)[:, np.newaxis]
    return S


def augmented_covariances(X, order, lag, *, estimator="oas", shrinkage=0.0):
    """Covariance matrices of delay-embedded trials.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
    order, lag : int
        Delay embedding (see :func:`delay_embed`).
    estimator : {"oas", "lwf", "scm"}, default="oas"
        Per-trial covariance estimator, on the embedded trial centred in
        time: OAS or Ledoit-Wolf shrinkage (as sklearn computes them), or the
        plain (biased) sample covariance.
    shrinkage : float in [0, 1], default=0.0
        Extra shrinkage toward ``trace(C) / n * I`` applied afterwards (as
        pyRiemann's ``Shrinkage``).

    Returns
    -------
    C : ndarray of shape (n_trials, n_channels * order, n_channels * order)
    """
    n_trials, n_channels, n_times = X.shape
    n = n_channels * order
    n_samples = n_times - (order * lag if order > 1 else 0)
    C = np.empty((n_trials, n, n))
    chunk = max(1, int(_CHUNK_BYTES // (8 * n * n_samples)))
    for start in range(0, n_trials, chunk):
        X_chunk = X[start : start + chunk]
        if estimator == "lwf":
            # Ledoit-Wolf needs the fourth moments of the embedded samples.
            Z = delay_embed(X_chunk, order, lag)
            Zc = Z - Z.mean(axis=2, keepdims=True)
            S = Zc @ np.swapaxes(Zc, 1, 2) / n_samples
            S = _shrink_to_trace(S, _shrinkage_ledoit_wolf(Zc, S))
        else:
            S = _embedded_covariance(X_chunk, order, lag, n_samples)
            if estimator == "oas":
                S = _shrink_to_trace(S, _shrinkage_oas(S, n_samples))
        if shrinkage > 0:
            S = _shrink_to_trace(S, np.full(S.shape[0], float(shrinkage)))
        C[start : start + chunk] = S
    return C


def _embedded_covariance(X, order, lag, n_samples):
    """Biased covariance of the delay-embedded trials, without embedding them.

    Block ``(p, q)`` of the scatter matrix is ``sum_s x(s + p lag) x(s + q
    lag)^T`` over ``n_samples`` samples; block ``(p + 1, q + 1)`` is block
    ``(p, q)`` minus its first ``lag`` outer products plus ``lag`` new ones.
    Only the first block row needs full-length products, which divides the
    work by ``order`` and never builds the ``order`` times larger embedded copy.
    """
    n_chunk, n_channels, _ = X.shape
    c = n_channels
    # Centring the whole trial first keeps the scatter free of large offsets;
    # the exact per-window means are removed at the end.
    Xc = X - X.mean(axis=2, keepdims=True)
    Xt = np.swapaxes(Xc, 1, 2)
    S = np.empty((n_chunk, c * order, c * order))
    head = Xc[:, :, :n_samples]
    for q in range(order):
        S[:, :c, q * c : (q + 1) * c] = head @ Xt[:, q * lag : q * lag + n_samples]
    for p in range(1, order):
        a = (p - 1) * lag
        for q in range(p, order):
            b = (q - 1) * lag
            drop = Xc[:, :, a : a + lag] @ Xt[:, b : b + lag]
            add = (
                Xc[:, :, a + n_samples : a + n_samples + lag]
                @ Xt[:, b + n_samples : b + n_samples + lag]
            )
            S[:, p * c : (p + 1) * c, q * c : (q + 1) * c] = (
                S[:, (p - 1) * c : p * c, (q - 1) * c : q * c] - drop + add
            )
    for p in range(1, order):
        for q in range(p):
            S[:, p * c : (p + 1) * c, q * c : (q + 1) * c] = np.swapaxes(
                S[:, q * c : (q + 1) * c, p * c : (p + 1) * c], 1, 2
            )
    means = np.concatenate(
        [Xc[:, :, p * lag : p * lag + n_samples].mean(axis=2) for p in range(order)],
        axis=1,
    )
    S /= n_samples
    S -= means[:, :, np.newaxis] * means[:, np.newaxis, :]
    return S


def _resolve_order_lag(estimator, X):
    """``order_``, ``lag_``: given, estimated on X (training), or by rank."""
    order, lag = estimator.order, estimator.lag
    if order == "auto" or lag == "auto":
        order, lag = estimate_order_lag(
            X,
            order=1 if order is None else order,
            lag=lag,
            max_order=_MAX_ORDER,
            max_lag=_MAX_LAG,
        )
        if estimator.order is None:
            order = None
    if order is None:
        order = _full_rank_order(X.shape[1], X.shape[2], lag)
    _check_embedding(estimator, order, lag, X.shape[2])
    return order, lag


def _full_rank_order(n_channels, n_times, lag, max_order=_DEFAULT_MAX_ORDER):
    """Largest order <= max_order with ``n_channels * order`` dimensions
    below the ``n_times - order * lag`` samples of an embedded trial, so that
    the augmented sample covariance can be full rank; at least 1."""
    order = 1
    for candidate in range(2, max_order + 1):
        if n_channels * candidate < n_times - candidate * lag:
            order = candidate
    return order


def _warn_if_rank_deficient(estimator, n_dims, n_samples, cov_estimator, shrinkage):
    if n_dims < n_samples:
        return
    remedy = (
        "the shrinkage of the covariance estimator keeps the matrices positive definite"
        if cov_estimator != "scm" or shrinkage > 0
        else "cov_estimator='scm' without shrinkage gives singular matrices; "
        "use cov_estimator='oas' or shrinkage > 0"
    )
    warn(
        f"{type(estimator).__name__}: the embedding dimension n_channels * "
        f"order = {n_dims} is not smaller than the {n_samples} samples left "
        f"per embedded trial, so the sample covariances are rank deficient; "
        f"{remedy}.",
        UserWarning,
    )


def _regularise_to_spd(estimator, C):
    """Shrink the matrices of C that are not positive definite, with a warning.

    Each is shrunk toward ``trace / n * I`` by the smallest coefficient that
    lifts its smallest eigenvalue to ``1e-6 * trace / n``: a floor at
    rounding level would leave condition numbers near 1e16, on which the
    Riemannian mean crawls.
    """
    bad = not_positive_definite(C)
    if not bad.size:
        return C
    n = C.shape[-1]
    w = np.linalg.eigvalsh(C[bad])
    mu = np.trace(C[bad], axis1=1, axis2=2) / n
    floor = _SPD_FLOOR * mu
    shrink = np.clip((floor - w[:, 0]) / (mu - w[:, 0]), 0.0, 1.0)
    C[bad] = _shrink_to_trace(C[bad], shrink)
    warn(
        f"{type(estimator).__name__}: the covariances of trials {format_indices(bad)} "
        "are not positive definite (a dead or duplicated channel, or fewer "
        "samples than dimensions without shrinkage); they were shrunk toward "
        f"trace / n * I by {float(shrink.min()):.2g} to {float(shrink.max()):.2g} "
        "to make them SPD. Use cov_estimator='oas' or remove the dead channels.",
        UserWarning,
    )
    return C


def _regularise_flat(estimator, C, constant, warn=True):
    """Give flat trials a documented SPD matrix; warn about dead channels.

    ``constant[i, c]``: channel ``c`` of trial ``i`` is constant in time. A
    trial constant on every channel has a zero covariance; it gets
    ``_SPD_FLOOR * I`` in units of ``scale_**2`` (a trial with 1e-6 of the
    squared peak amplitude of the training trials, in every direction), so
    that it stays on the SPD manifold, far from every real trial.
    """
    flat = constant.all(axis=1)
    if flat.any():
        C[flat] = _SPD_FLOOR * np.eye(C.shape[-1])
    if warn:
        _warn_constant(estimator, constant)


def _warn_constant(estimator, constant):
    """Warn about flat trials and dead channels (see :func:`_regularise_flat`)."""
    name = type(estimator).__name__
    flat = constant.all(axis=1)
    if flat.any():
        warn(
            f"{name}: trials {format_indices(np.flatnonzero(flat))} are flat (every "
            "channel constant in time, e.g. all zero) and have no covariance; "
            f"they were given {_SPD_FLOOR:g} * scale_**2 * I (scale_ = "
            f"{estimator.scale_:g}) to stay SPD. Remove them unless expected.",
            UserWarning,
        )
    dead = constant & ~flat[:, np.newaxis]
    if dead.any():
        warn(
            f"{name}: channels {format_indices(np.flatnonzero(dead.any(axis=0)))} are "
            f"constant in time (dead) in trials "
            f"{format_indices(np.flatnonzero(dead.any(axis=1)))}; their rows of the "
            "covariance come from shrinkage alone. Remove dead channels.",
            UserWarning,
        )


def _pair_names(names):
    """Names of the upper-triangle entries ``(i, j), i <= j``, as :func:`upper`."""
    rows, cols = np.triu_indices(len(names))
    names = np.asarray(names, dtype=object)
    pairs = [f"{a} {b}" for a, b in zip(names[rows], names[cols])]
    return np.asarray(pairs, dtype=object)


_COV_CONSTRAINTS = {
    "order": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
        None,
    ],
    "lag": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "cov_estimator": [StrOptions({"oas", "lwf", "scm"})],
    "shrinkage": [Interval(Real, 0, 1, closed="both")],
}
_MEAN_CONSTRAINTS = {
    "tol": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
}


# --------------------------------------------------------------------------
# Public estimators
# --------------------------------------------------------------------------


class _StackedInputMixin:
    """Tags of estimators whose samples are 2-D arrays (trials or matrices).

    ``three_d_array`` says what they take; ``two_d_array`` keeps sklearn's
    common checks running (they only generate 2-D data and would otherwise
    skip every check), as MNE's decoders do.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        return tags


class AugmentedCovariances(
    _StackedInputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Covariance matrices of delay-embedded trials (augmented covariances).

    Each trial ``x(t)`` of shape ``(n_channels, n_times)`` is delay embedded
    into ``[x(t); x(t + lag); ...; x(t + (order - 1) lag)]`` exactly as
    MOABB's ``AugmentedDataset`` does, and the covariance of the embedded
    signal, an SPD matrix of size ``n_channels * order``, is estimated with
    scale-free shrinkage. ``order=1`` gives the plain spatial covariance.

    The covariances are computed on ``X / scale_``, where ``scale_`` is the
    peak absolute value of the training trials, and returned in the units of
    X: scaling X by ``s`` scales the matrices by
    ``s**2`` (X * 1e+-150 included), and shrinkage coefficients are
    scale-free. Covariances beyond the range of float64 raise a
    ``ValueError`` (``normalize=True`` returns them in units of ``scale_**2``).

    Degenerate trials, with a warning naming them: a flat trial (every
    channel constant in time, e.g. all zero) is given ``1e-6 * scale_**2 *
    I``; a dead
    (constant) channel is named; a covariance that is not positive definite
    (dead channel with ``cov_estimator="scm"``) is shrunk toward
    ``trace / n * I`` just enough to be SPD (smallest eigenvalue ``1e-6``
    times the mean one). An X with no channel raises a ``ValueError``.

    Read more in :ref:`the user guide <riemann>`.

    Parameters
    ----------
    order : int, "auto" or None, default=None
        Number of delayed copies (embedding dimension). None: the largest
        order up to 4 for which ``n_channels * order`` is below the
        ``n_times - order * lag`` samples of an embedded trial (a full-rank
        augmented covariance is possible), at least 1. ``"auto"`` estimates
        it on the training trials with Cao's false-nearest-neighbour method.
    lag : int or "auto", default=1
        Delay between copies, in samples. ``"auto"`` estimates it on the
        training trials as the first minimum of the mutual information.
    cov_estimator : {"oas", "lwf", "scm"}, default="oas"
        Per-trial covariance estimator: Oracle Approximating Shrinkage,
        Ledoit-Wolf, or the sample covariance. Shrinkage is toward
        ``trace(C) / n * I``, relative to each trial's own scale.
    shrinkage : float in [0, 1], default=0.0
        Additional trace-relative shrinkage applied after the estimator.
    normalize : bool, default=False
        Return the covariances of ``X / scale_`` (units of ``scale_**2``)
        instead of those of X: the output is then the same for X in volts,
        microvolts or X * 1e+-150, and can never overflow or underflow. The
        affine-invariant steps downstream (:class:`TangentSpace`, minimum
        distance to mean) give the same answers either way;
        :class:`AugmentedCovarianceClassifier` uses True.

    Attributes
    ----------
    order_ : int
        Embedding order used.
    lag_ : int
        Lag used (estimated if ``lag="auto"``).
    scale_ : float
        The largest absolute value of the training trials (1 if all are
        zero), by which trials are divided before estimation.
    n_features_in_ : int
        Number of channels seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit. Defined only when X has feature
        names that are all strings (2-D input, read as single-channel trials).

    See Also
    --------
    TangentSpace : Map the matrices to a Euclidean tangent space.
    AugmentedCovarianceClassifier : The full classifier.

    References
    ----------
    .. [1] I. Carrara and T. Papadopoulo, "Classification of BCI-EEG based on
       augmented covariance matrix", arXiv:2302.04508, 2023.

    Examples
    --------
    >>> from sklearn_lowrank.datasets import make_ar_classification
    >>> from sklearn_lowrank import AugmentedCovariances
    >>> X, y, _ = make_ar_classification(20, n_channels=4, n_times=200,
    ...                                  random_state=0)
    >>> AugmentedCovariances(order=3, lag=2).fit_transform(X).shape
    (20, 12, 12)
    """

    _parameter_constraints: dict = {**_COV_CONSTRAINTS, "normalize": ["boolean"]}

    def __init__(
        self, order=None, lag=1, cov_estimator="oas", shrinkage=0.0, normalize=False
    ):
        self.order = order
        self.lag = lag
        self.cov_estimator = cov_estimator
        self.shrinkage = shrinkage
        self.normalize = normalize

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y=None):
        """Set the embedding (estimating ``order``/``lag`` if asked) and scale.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Training trials.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        X = _validate_trials(self, X, reset=True)
        self.order_, self.lag_ = _resolve_order_lag(self, X)
        # Trials divided by their training peak: the squares and fourth
        # moments stay far from overflow and underflow, and X * s gives the
        # same scaled trials up to rounding.
        peak = float(np.max(np.abs(X)))
        self.scale_ = peak if peak > 0 else 1.0
        constant = np.ptp(X, axis=2) == 0
        _warn_constant(self, constant)
        if not self.normalize and not constant.all():
            # Refuse now units whose covariances transform could not return.
            power = np.mean((X[~constant.all(axis=1)] / self.scale_) ** 2, axis=2)
            with np.errstate(over="ignore"):
                squared = np.float64(self.scale_) ** 2
            smallest = np.min(power[power > 0]) * squared
            if not np.isfinite(squared) or smallest < _SMALLEST_EXACT:
                raise ValueError(
                    f"{type(self).__name__}: trials of amplitude {self.scale_:.3g} "
                    "have covariances beyond the range of float64; rescale X "
                    "(e.g. to microvolts) or pass normalize=True."
                )
        return self

    def transform(self, X):
        """Augmented covariance matrix of each trial.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)

        Returns
        -------
        C : ndarray of shape (n_trials, n_channels * order_, n_channels * order_)
            SPD matrices.
        """
        check_is_fitted(self)
        X = _validate_trials(self, X, reset=False)
        return self._covariances(X)

    def fit_transform(self, X, y=None):
        """Fit to the trials, then return their augmented covariances.

        Same result as ``fit(X).transform(X)``, with the input validated and
        the flat-trial / dead-channel warnings given once.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Training trials.
        y : None
            Ignored.

        Returns
        -------
        C : ndarray of shape (n_trials, n_channels * order_, n_channels * order_)
            SPD matrices.
        """
        self.fit(X, y)
        X = _validate_trials(self, X, reset=False)
        return self._covariances(X, warn=False)

    def _covariances(self, X, warn=True):
        _check_embedding(self, self.order_, self.lag_, X.shape[2])
        n_samples = X.shape[2] - (self.order_ * self.lag_ if self.order_ > 1 else 0)
        _warn_if_rank_deficient(
            self,
            X.shape[1] * self.order_,
            n_samples,
            self.cov_estimator,
            self.shrinkage,
        )
        constant = np.ptp(X, axis=2) == 0  # (n_trials, n_channels)
        X = X / self.scale_
        with _geometry_threads():
            C = augmented_covariances(
                X,
                self.order_,
                self.lag_,
                estimator=self.cov_estimator,
                shrinkage=self.shrinkage,
            )
            _regularise_flat(self, C, constant, warn=warn)
            C = _regularise_to_spd(self, C)
        if self.normalize:
            return C
        # Back to the units of X; the scaled matrices are SPD and finite, so
        # only a covariance beyond the range of doubles (or so small that it
        # would lose digits among subnormal numbers) can fail here.
        with np.errstate(over="ignore", under="ignore"):
            C *= np.float64(self.scale_) ** 2
        top = np.max(np.abs(C))
        smallest = np.min(np.diagonal(C, axis1=1, axis2=2))
        if not np.isfinite(top) or smallest < _SMALLEST_EXACT:
            raise ValueError(
                f"{type(self).__name__}: the covariances of trials of amplitude "
                f"{self.scale_:.3g} are beyond the range of float64 "
                "(they overflow or underflow); rescale X (e.g. to microvolts) "
                "or pass normalize=True."
            )
        return C

    def get_feature_names_out(self, input_features=None):
        """Names of the rows (and columns) of the output matrices.

        Row ``p * n_channels + c`` of an augmented covariance is channel ``c``
        advanced by ``p * lag_`` samples: it is named ``"{channel}_d{p}"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Channel names; ``ch0, ch1, ...`` if None.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_channels * order_`` names.
        """
        check_is_fitted(self)
        channels = _channel_names(self, input_features)
        return np.asarray(
            [f"{c}_d{p}" for p in range(self.order_) for c in channels], dtype=object
        )

    def set_output(self, *, transform=None):
        """Accept an output container setting, and keep returning arrays.

        The output is a 3-D stack of matrices, which no DataFrame can hold:
        whatever ``transform`` is, this step returns ndarrays. The method is
        here so that ``Pipeline.set_output(transform="pandas")`` configures
        the later (2-D) steps, such as :class:`TangentSpace`.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Recorded, not applied.

        Returns
        -------
        self : estimator instance
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError(
                f"{type(self).__name__}: transform={transform!r} must be "
                "'default', 'pandas', 'polars' or None."
            )
        return self


def _channel_names(estimator, input_features):
    if getattr(estimator, "_input_ndim", 3) == 2:
        # 2-D input: its features are time samples of one channel.
        return ["ch0"] if input_features is None else [str(input_features[0])]
    if input_features is None:
        return [f"ch{i}" for i in range(estimator.n_features_in_)]
    input_features = np.asarray(input_features, dtype=object)
    if len(input_features) != estimator.n_features_in_:
        raise ValueError(
            f"{type(estimator).__name__}: input_features should have length "
            f"equal to the number of channels ({estimator.n_features_in_}), got "
            f"{len(input_features)}."
        )
    return [str(c) for c in input_features]


class TangentSpace(_StackedInputMixin, TransformerMixin, BaseEstimator):
    """Tangent-space vectors of SPD matrices at their affine-invariant mean.

    ``fit`` computes the affine-invariant (Karcher) mean ``M`` of the training
    matrices; ``transform`` maps each matrix ``C`` to
    ``upper(logm(M^{-1/2} C M^{-1/2}))``, the upper triangle with
    off-diagonal entries weighted by sqrt(2) (pyRiemann's convention), so the
    Euclidean distance between vectors near ``M`` approximates the Riemannian
    distance between matrices.

    Input must be symmetric positive definite: zero, singular, indefinite or
    negative-definite matrices raise a ``ValueError`` naming them.

    Read more in :ref:`the user guide <riemann>`.

    Parameters
    ----------
    tol : float, default=1e-6
        Tolerance on the norm of the Riemannian gradient of the mean
        (dimensionless: the gradient lives in whitened coordinates), relative
        to the rms norm of the tangent vectors when that exceeds 1. The
        tangent vectors are accurate to about ``tol`` times their spread;
        pyRiemann uses an absolute 1e-8, which costs one or two more passes
        over the matrices.
    max_iter : int, default=50
        Maximum number of iterations of the mean.

    Attributes
    ----------
    reference_ : ndarray of shape (n, n)
        Affine-invariant mean of the training matrices.
    n_iter_ : int
        Number of iterations of the mean.
    n_features_in_ : int
        Size ``n`` of the matrices seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (never set for 3-D input).

    See Also
    --------
    AugmentedCovariances : Produce the SPD matrices from trials.

    References
    ----------
    .. [1] A. Barachant, S. Bonnet, M. Congedo and C. Jutten, "Classification
       of covariance matrices using a Riemannian-based kernel for BCI
       applications", Neurocomputing 112 (2013).

    Examples
    --------
    >>> from sklearn_lowrank.datasets import make_ar_classification
    >>> from sklearn_lowrank import AugmentedCovariances, TangentSpace
    >>> X, y, _ = make_ar_classification(20, n_channels=4, n_times=200,
    ...                                  random_state=0)
    >>> C = AugmentedCovariances(order=2).fit_transform(X)
    >>> TangentSpace().fit_transform(C).shape
    (20, 36)
    """

    _parameter_constraints: dict = dict(_MEAN_CONSTRAINTS)

    def __init__(self, tol=1e-6, max_iter=50):
        self.tol = tol
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y=None):
        """Compute the affine-invariant mean of the training matrices.

        Parameters
        ----------
        X : array-like of shape (n_matrices, n, n)
            SPD matrices.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit_transform(self, X, y=None):
        """Fit and return the tangent vectors of the training matrices.

        Cheaper than ``fit(X).transform(X)``: the last iteration of the mean
        already holds the logarithms at the mean.

        Parameters
        ----------
        X : array-like of shape (n_matrices, n, n)
            SPD matrices.
        y : None
            Ignored.

        Returns
        -------
        T : ndarray of shape (n_matrices, n * (n + 1) // 2)
        """
        return upper(self._fit(X))

    def _fit(self, X):
        C = _validate_spd(self, X, reset=True)
        with _geometry_threads():
            self.reference_, logs, self.n_iter_, converged = mean_riemann(
                C, tol=self.tol, max_iter=self.max_iter
            )
        if not converged:
            warn_not_converged(
                self,
                n_iter=self.n_iter_,
                what="iterations of the Riemannian mean",
                advice="increase max_iter or tol, or shrink the covariances more",
            )
        return logs

    def transform(self, X):
        """Tangent vectors at ``reference_``.

        Parameters
        ----------
        X : array-like of shape (n_matrices, n, n)
            SPD matrices.

        Returns
        -------
        T : ndarray of shape (n_matrices, n * (n + 1) // 2)
        """
        check_is_fitted(self)
        C = _validate_spd(self, X, reset=False)
        with _geometry_threads():
            return upper(log_map(C, self.reference_))

    def get_feature_names_out(self, input_features=None):
        """Names of the tangent coordinates: ``"{row} {column}"``.

        Coordinate ``(i, j)``, ``i <= j`` (the order of :func:`numpy.triu_indices`)
        couples rows ``i`` and ``j`` of the matrices. After
        :class:`AugmentedCovariances` in a Pipeline, the rows are named
        ``"{channel}_d{p}"``, so ``"C3_d0 Cz_d1"`` couples channel C3 with
        channel Cz advanced by one lag.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the ``n`` rows of the matrices; ``x0, x1, ...`` if None.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n * (n + 1) // 2`` names.
        """
        check_is_fitted(self)
        return _pair_names(_check_feature_names_in(self, input_features))


class _MinimumDistanceToMean(ClassifierMixin, BaseEstimator):
    """Minimum distance to the Riemannian class means, on SPD matrices.

    The last step of ``AugmentedCovarianceClassifier(method="mdm")``;
    ``predict_proba`` is the softmax of minus the squared distances.
    """

    def __init__(self, tol=1e-6, max_iter=50):
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y):
        C = _validate_spd(self, X, reset=True)
        self.classes_, y = np.unique(y, return_inverse=True)
        means, self.n_iter_ = [], 0
        with _geometry_threads():
            for k in range(len(self.classes_)):
                M, _, n_iter, converged = mean_riemann(
                    C[y == k], tol=self.tol, max_iter=self.max_iter
                )
                if not converged:
                    warn_not_converged(
                        self,
                        n_iter=n_iter,
                        what=f"iterations of the mean of class {self.classes_[k]!r}",
                    )
                means.append(M)
                self.n_iter_ = max(self.n_iter_, n_iter)
        self.class_means_ = np.stack(means)
        return self

    def _scores(self, X):
        check_is_fitted(self)
        C = _validate_spd(self, X, reset=False)
        with _geometry_threads():
            dist = np.stack([distance_riemann(C, M) for M in self.class_means_], axis=1)
        return -(dist**2)

    def predict(self, X):
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    def predict_proba(self, X):
        scores = self._scores(X)
        # Shifted so the largest is 0: the sum is at least 1, never NaN.
        scores -= scores.max(axis=1, keepdims=True)
        proba = np.exp(scores)
        return proba / proba.sum(axis=1, keepdims=True)

    def decision_function(self, X):
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores


def _classifier_has(method):
    """``available_if`` check: MDM has every method; else ask the classifier."""

    def check(self):
        if self.method == "mdm":
            return True
        pipeline = getattr(self, "pipeline_", None)
        if pipeline is not None:
            return hasattr(pipeline[-1], method)
        inner = self.estimator if self.estimator is not None else _default_clf()
        return hasattr(inner, method)

    return check


def _default_clf():
    return SVC(kernel="linear")


class AugmentedCovarianceClassifier(_StackedInputMixin, ClassifierMixin, BaseEstimator):
    """EEG classifier on augmented covariance matrices (ACM).

    Implements Carrara & Papadopoulo (2023): delay embedding of each trial
    (MOABB's ``AugmentedDataset`` slicing), a shrunk covariance of the
    embedded signal, and Riemannian classification of the resulting SPD
    matrices: a linear classifier in the tangent space at the affine-invariant
    mean of the training matrices (default), or minimum distance to the
    Riemannian class means (``method="mdm"``). Augmentation makes the matrix
    see the temporal dynamics (lagged cross-covariances, i.e. the
    Yule-Walker equations of an AR model), which a plain spatial covariance
    (``order=1``) cannot.

    ``fit`` builds and fits the Pipeline ``AugmentedCovariances ->
    TangentSpace -> estimator`` (or ``AugmentedCovariances -> minimum
    distance to mean``), available as ``pipeline_``. Predictions do not
    depend on the units of X (volts or X * 1e+-150 give the same answer).

    Read more in :ref:`the user guide <riemann>`.

    Parameters
    ----------
    order : int, "auto" or None, default=None
        Number of delayed copies of the channels (embedding dimension);
        ``order=1`` is the plain covariance. None: the largest order up to 4
        whose augmented covariance can be full rank (``n_channels * order <
        n_times - order * lag``). ``"auto"`` estimates it on the training
        trials with Cao's false-nearest-neighbour method.
    lag : int or "auto", default=1
        Delay between copies, in samples. ``"auto"`` estimates it on the
        training trials as the first minimum of the mutual information.
    cov_estimator : {"oas", "lwf", "scm"}, default="oas"
        Per-trial covariance estimator (shrinkage relative to the trace).
    shrinkage : float in [0, 1], default=0.0
        Additional trace-relative shrinkage.
    method : {"tangent", "mdm"}, default="tangent"
        Tangent space + ``estimator``, or minimum distance to mean.
    estimator : classifier or None, default=None
        Any scikit-learn classifier fitted on the tangent vectors;
        ``SVC(kernel="linear")`` (the paper's) if None. Ignored by MDM.
        ``predict_proba`` is available when the estimator has it (e.g.
        ``LogisticRegression``).
    tol : float, default=5e-3
        Tolerance of the Riemannian mean (norm of its gradient, in whitened
        coordinates, relative to the rms norm of the tangent vectors when
        that exceeds 1); the tangent vectors are accurate to about ``tol``
        times their spread. On the real EEG sets of the user guide this
        default gave the accuracy of a far tighter tolerance in fewer passes
        over the matrices.
    max_iter : int, default=50
        Maximum iterations of the Riemannian mean.
    verbose : int, default=0
        Print the selected embedding and the mean's iterations.

    Attributes
    ----------
    pipeline_ : Pipeline
        The fitted steps: ``"covariances"``, then ``"tangent_space"`` and
        ``"estimator"``, or ``"mdm"``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    order_ : int
        Embedding order used.
    lag_ : int
        Lag used (estimated if ``lag="auto"``).
    n_iter_ : int
        Iterations of the (largest) Riemannian mean computation.
    n_features_in_ : int
        Number of channels seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (never set for 3-D input).

    See Also
    --------
    AugmentedCovariances : The embedding + covariance step alone.
    TangentSpace : The tangent-space step alone.

    References
    ----------
    .. [1] I. Carrara and T. Papadopoulo, "Classification of BCI-EEG based on
       augmented covariance matrix", arXiv:2302.04508, 2023.
    .. [2] A. Barachant, S. Bonnet, M. Congedo and C. Jutten, "Multiclass
       brain-computer interface classification by Riemannian geometry", IEEE
       Transactions on Biomedical Engineering 59 (2012).

    Examples
    --------
    >>> from sklearn_lowrank.datasets import make_ar_classification
    >>> from sklearn_lowrank import AugmentedCovarianceClassifier
    >>> X, y, _ = make_ar_classification(80, n_channels=4, n_times=300,
    ...                                  random_state=0)
    >>> clf = AugmentedCovarianceClassifier(order=3, lag=3).fit(X[:60], y[:60])
    >>> clf.score(X[60:], y[60:]) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **_COV_CONSTRAINTS,
        **_MEAN_CONSTRAINTS,
        "method": [StrOptions({"tangent", "mdm"})],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        order=None,
        lag=1,
        cov_estimator="oas",
        shrinkage=0.0,
        method="tangent",
        estimator=None,
        tol=5e-3,
        max_iter=50,
        verbose=0,
    ):
        self.order = order
        self.lag = lag
        self.cov_estimator = cov_estimator
        self.shrinkage = shrinkage
        self.method = method
        self.estimator = estimator
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    @bounded_fit
    def fit(self, X, y):
        """Fit the pipeline: embedding, Riemannian mean(s) and classifier.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Training trials, time on the last axis.
        y : array-like of shape (n_trials,)
            Class labels (at least two classes).

        Returns
        -------
        self : object
        """
        y = _check_labels(self, X, y)
        steps = [
            (
                "covariances",
                AugmentedCovariances(
                    order=self.order,
                    lag=self.lag,
                    cov_estimator=self.cov_estimator,
                    shrinkage=self.shrinkage,
                    normalize=True,
                ),
            )
        ]
        if self.method == "mdm":
            steps.append(
                ("mdm", _MinimumDistanceToMean(tol=self.tol, max_iter=self.max_iter))
            )
        else:
            inner = self.estimator if self.estimator is not None else _default_clf()
            steps += [
                ("tangent_space", TangentSpace(tol=self.tol, max_iter=self.max_iter)),
                ("estimator", clone(inner)),
            ]
        self.pipeline_ = Pipeline(steps)
        self._call_pipeline("fit", X, y)
        covariances = self.pipeline_["covariances"]
        self.n_features_in_ = covariances.n_features_in_
        if hasattr(covariances, "feature_names_in_"):
            self.feature_names_in_ = covariances.feature_names_in_
        self.order_, self.lag_ = covariances.order_, covariances.lag_
        self.classes_ = self.pipeline_[-1].classes_
        self.n_iter_ = self.pipeline_[-2 if self.method == "tangent" else -1].n_iter_
        if self.verbose:
            n = covariances.n_features_in_ * self.order_
            verbose_print(
                self,
                f"order={self.order_} lag={self.lag_}: {n}x{n} matrices; "
                f"Riemannian mean in {self.n_iter_} iterations",
            )
        return self

    def predict(self, X):
        """Predict the class of each trial.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)

        Returns
        -------
        y : ndarray of shape (n_trials,)
        """
        check_is_fitted(self)
        return self._call_pipeline("predict", X)

    @available_if(_classifier_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities (MDM: softmax of minus squared distances).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)

        Returns
        -------
        proba : ndarray of shape (n_trials, n_classes)
            Columns ordered as ``classes_``.
        """
        check_is_fitted(self)
        return self._call_pipeline("predict_proba", X)

    @available_if(_classifier_has("decision_function"))
    def decision_function(self, X):
        """Confidence scores; for two classes, positive favours ``classes_[1]``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)

        Returns
        -------
        scores : ndarray of shape (n_trials,) or (n_trials, n_classes)
            MDM: minus squared Riemannian distances to the class means
            (their difference for two classes).
        """
        check_is_fitted(self)
        return self._call_pipeline("decision_function", X)

    def _call_pipeline(self, method, *args):
        """Call ``pipeline_.method``, naming this classifier in its messages.

        Errors and warnings of the steps name the step (e.g.
        AugmentedCovariances); the user called this classifier, so both are
        re-issued with its name first, the warnings attributed to the user's
        line.
        """
        name = type(self).__name__
        steps = {type(step).__name__ for _, step in self.pipeline_.steps}

        def rename(message):
            for step in steps:
                message = message.replace(step, name)
            return message

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = getattr(self.pipeline_, method)(*args)
            except ValueError as exc:
                raise ValueError(rename(str(exc))) from exc
        for w in caught:
            warn(rename(str(w.message)), w.category)
        return result


def _check_labels(estimator, X, y):
    """Validate the labels of ``fit``: at least two classes, one per trial."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target "
            "y is None."
        )
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs at least two classes to train, "
            f"got {len(classes)} class: {classes.tolist()!r}."
        )
    n_trials = _num_samples(X)
    if n_trials != y.shape[0]:
        raise ValueError(f"X has {n_trials} trials but y has {y.shape[0]} labels.")
    return y
