"""scikit-learn compatible low-rank and matrix-structured estimators.

Each estimator is a faithful implementation of a recent paper; see the
documentation page of each class for the reference and what it reproduces.
BLAS threads are bounded by one package-wide policy, described in
:mod:`sklearn_lowrank._threads` and the README.
"""

__version__ = "0.1.0.dev0"

from sklearn_lowrank.riemann import (
    AugmentedCovarianceClassifier,
    AugmentedCovariances,
    TangentSpace,
)

__all__ = [
    "AugmentedCovarianceClassifier",
    "AugmentedCovariances",
    "TangentSpace",
    "__version__",
]
