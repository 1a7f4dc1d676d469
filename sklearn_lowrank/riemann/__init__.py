"""Riemannian classification of EEG trials with augmented covariance matrices.

- :class:`AugmentedCovariances`, :class:`TangentSpace` and
  :class:`AugmentedCovarianceClassifier` (Carrara & Papadopoulo 2023) live in
  :mod:`sklearn_lowrank.riemann.augmented`;
- the batched affine-invariant geometry they use (mean, log/exp maps,
  distance) lives in :mod:`sklearn_lowrank.riemann._geometry` and is
  re-exported here.
"""

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
    "distance_riemann",
    "exp_map",
    "log_map",
    "mean_riemann",
    "unupper",
    "upper",
]
