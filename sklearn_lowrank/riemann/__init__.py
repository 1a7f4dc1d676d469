"""Riemannian classification of EEG trials with augmented covariance matrices.

- :class:`AugmentedCovariances`, :class:`TangentSpace` and
  :class:`AugmentedCovarianceClassifier` (Carrara & Papadopoulo 2023) live in
  :mod:`sklearn_lowrank.riemann.augmented`;
- the batched affine-invariant geometry they use (mean, log/exp maps,
  distance) lives in :mod:`sklearn_lowrank.riemann._geometry` and the
  order/lag heuristics (mutual information, Cao's FNN) in
  :mod:`sklearn_lowrank.riemann._delay`; both are re-exported here.
"""

from sklearn_lowrank.riemann._delay import (
    cao_e1,
    cao_order,
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
from sklearn_lowrank.riemann.augmented import (
    AugmentedCovarianceClassifier,
    AugmentedCovariances,
    TangentSpace,
)

__all__ = [
    "AugmentedCovarianceClassifier",
    "AugmentedCovariances",
    "TangentSpace",
    "cao_e1",
    "cao_order",
    "delayed_mutual_information",
    "distance_riemann",
    "estimate_order_lag",
    "exp_map",
    "first_minimum",
    "log_map",
    "mean_riemann",
    "unupper",
    "upper",
]
