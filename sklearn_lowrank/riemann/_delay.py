"""Delay-embedding parameters from data: mutual information and Cao's FNN.

Carrara & Papadopoulo (2023) replace the expensive grid over ``order`` and
``lag`` by the dynamical-systems heuristics of Takens embeddings, computed on
the training trials only:

- ``lag``: the first minimum of the time-delayed mutual information of each
  channel (Fraser & Swinney 1986), averaged over channels and trials;
- ``order``: the embedding dimension at which Cao's averaged false-nearest-
  neighbour statistic ``E1(d)`` saturates (Cao 1997).

Both functions take arrays ``(n_trials, n_channels, n_times)`` and return
integers plus the curve they were read from, so they can be tested and plotted
without an estimator.  They subsample trials and samples to a fixed budget:
the statistics are averages, and the selection must stay far cheaper than the
grid search it replaces.
"""

import numpy as np

# Budget: how many (trial, channel) series and samples the heuristics look at.
_MAX_SERIES_MI = 128
_MAX_SERIES_FNN = 16
_MAX_TIMES_FNN = 300


def _pick_series(X, max_series):
    """Evenly spaced (trial, channel) series from X, as rows of a 2-D array."""
    series = X.reshape(-1, X.shape[-1])
    if series.shape[0] > max_series:
        keep = np.linspace(0, series.shape[0] - 1, max_series).round().astype(int)
        series = series[keep]
    return series


def delayed_mutual_information(X, max_lag, *, n_bins=16):
    """Time-delayed mutual information, averaged over trials and channels.

    Each series is quantised into ``n_bins`` equiprobable bins (ranks), so the
    estimate is invariant to amplitude and monotone transforms; the mutual
    information between ``x(t)`` and ``x(t + tau)`` is then computed from the
    joint histogram of bin codes.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
    max_lag : int
        Largest delay, in samples.
    n_bins : int, default=16

    Returns
    -------
    mi : ndarray of shape (max_lag + 1,)
        ``mi[tau]`` in nats; ``mi[0]`` is the entropy of the quantised series.
    """
    series = _pick_series(X, _MAX_SERIES_MI)
    n_series, n_times = series.shape
    ranks = np.argsort(np.argsort(series, axis=1), axis=1)
    codes = (ranks * n_bins) // n_times
    offsets = (np.arange(n_series) * n_bins * n_bins)[:, np.newaxis]
    mi = np.zeros(max_lag + 1)
    for tau in range(max_lag + 1):
        a = codes[:, : n_times - tau]
        b = codes[:, tau:]
        joint = np.bincount(
            (offsets + a * n_bins + b).ravel(), minlength=n_series * n_bins**2
        ).reshape(n_series, n_bins, n_bins)
        p = joint / (n_times - tau)
        pa = p.sum(axis=2, keepdims=True)
        pb = p.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p / (pa * pb)), 0.0)
        mi[tau] = terms.sum(axis=(1, 2)).mean()
    return mi


def first_minimum(curve, start=1):
    """Index of the first local minimum of ``curve`` at or after ``start``.

    If the curve decreases monotonically, the index where it first drops below
    ``1/e`` of its value at 0 is used instead (the usual fallback for the
    mutual-information criterion); failing that, the last index.
    """
    for i in range(max(start, 1), len(curve) - 1):
        if curve[i] <= curve[i - 1] and curve[i] < curve[i + 1]:
            return i
    below = np.flatnonzero(curve[start:] < curve[0] / np.e)
    return int(below[0] + start) if below.size else len(curve) - 1


def cao_e1(X, lag, max_order):
    """Cao's averaged false-nearest-neighbour ratio ``E1(d)``, d = 1..max_order.

    For each series and embedding dimension ``d``, every delay vector's
    nearest neighbour (max-norm, excluding points closer in time than
    ``lag``) is found; ``a(t, d)`` is the ratio of their distance in
    dimension ``d + 1`` to that in dimension ``d``, and ``E(d)`` its mean.
    ``E1(d) = E(d + 1) / E(d)`` tends to 1 once ``d`` unfolds the dynamics.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
    lag : int
        Delay in samples.
    max_order : int
        Largest embedding dimension considered.

    Returns
    -------
    e1 : ndarray of shape (max_order,)
        ``e1[d - 1] = E1(d)``; NaN where the series is too short.
    """
    series = _pick_series(X, _MAX_SERIES_FNN)[:, :_MAX_TIMES_FNN]
    n_series, n_times = series.shape
    n_points = n_times - (max_order + 1) * lag
    e = np.full(max_order + 1, np.nan)
    if n_points < 4:
        return np.full(max_order, np.nan)
    # Exclude temporal neighbours (Theiler window of one lag) and the point
    # itself, whose distances are trivially small.
    t = np.arange(n_points)
    excluded = np.abs(t[:, np.newaxis] - t[np.newaxis, :]) <= lag
    dist = np.zeros((n_series, n_points, n_points))
    for d in range(1, max_order + 2):
        coord = series[:, (d - 1) * lag : (d - 1) * lag + n_points]
        step = np.abs(coord[:, :, np.newaxis] - coord[:, np.newaxis, :])
        previous = dist.copy() if d > 1 else None
        np.maximum(dist, step, out=dist)
        if previous is not None:
            # a(t, d-1): distance in dimension d of the neighbours found in d-1.
            masked = np.where(excluded, np.inf, previous)
            nn = np.argmin(masked, axis=2)
            near = np.take_along_axis(masked, nn[..., np.newaxis], axis=2)[..., 0]
            far = np.take_along_axis(dist, nn[..., np.newaxis], axis=2)[..., 0]
            ok = near > 0
            e[d - 1] = np.mean(far[ok] / near[ok]) if ok.any() else np.nan
    return e[2:] / e[1:-1]


def cao_order(e1, threshold=0.9):
    """Smallest dimension ``d`` at which ``E1(d) >= threshold``.

    Parameters
    ----------
    e1 : ndarray of shape (max_order,)
        Output of :func:`cao_e1`.
    threshold : float, default=0.9

    Returns
    -------
    order : int
        Between 1 and ``len(e1)``.
    """
    e1 = np.nan_to_num(e1, nan=1.0)
    above = np.flatnonzero(e1 >= threshold)
    return int(above[0] + 1) if above.size else len(e1)


def estimate_order_lag(X, *, order="auto", lag="auto", max_order=10, max_lag=30):
    """Estimate the delay embedding of training trials (MI lag, Cao order).

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Training trials only.
    order, lag : int or "auto", default="auto"
        A given integer is kept; ``"auto"`` is estimated.
    max_order, max_lag : int, default=10, 30
        Search ranges; both are further capped so that ``order * lag`` leaves
        at least half of the trial for the covariance.

    Returns
    -------
    order : int
    lag : int
    """
    n_times = X.shape[-1]
    if lag == "auto":
        mi = delayed_mutual_information(X, max(1, min(max_lag, n_times // 4)))
        lag = max(1, first_minimum(mi))
    if order == "auto":
        cap = max(1, min(max_order, (n_times // 2) // lag))
        order = cao_order(cao_e1(X, lag, cap)) if cap > 1 else 1
    return int(order), int(lag)
