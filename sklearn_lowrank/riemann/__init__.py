"""Riemannian classification of EEG trials with augmented covariance matrices.

- :class:`AugmentedCovariances`, :class:`TangentSpace` and
  :class:`AugmentedCovarianceClassifier` (Carrara & Papadopoulo 2023);
- the paper's order/lag heuristics, to inspect or plot them:
  :func:`estimate_order_lag`, :func:`delayed_mutual_information`,
  :func:`first_minimum`, :func:`cao_e1`, :func:`cao_order`.

The batched affine-invariant geometry the estimators use (mean, log/exp maps,
distance) is private (``_geometry``): pyRiemann is the library for it.
"""

from sklearn_lowrank.riemann._delay import (
    cao_e1,
    cao_order,
    delayed_mutual_information,
    estimate_order_lag,
    first_minimum,
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
    "estimate_order_lag",
    "first_minimum",
]
