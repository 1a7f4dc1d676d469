"""scikit-learn compatible low-rank and matrix-structured estimators.

Each estimator is a faithful implementation of a recent paper; see the
documentation page of each class for the reference and what it reproduces.
BLAS threads are bounded by one package-wide policy, described in
:mod:`sklearn_lowrank._threads` and the README.
"""

from sklearn_lowrank.boolean import BooleanMF
from sklearn_lowrank.completion import AltMinCompleter
from sklearn_lowrank.ebmf import CEBMF
from sklearn_lowrank.kernel_ridge import NystromKRR
from sklearn_lowrank.least_squares import SketchedLeastSquares
from sklearn_lowrank.riemann import (
    AugmentedCovarianceClassifier,
    AugmentedCovariances,
    TangentSpace,
)
from sklearn_lowrank.sensing import MatrixSensingRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "CEBMF",
    "AltMinCompleter",
    "AugmentedCovarianceClassifier",
    "AugmentedCovariances",
    "BooleanMF",
    "MatrixSensingRegressor",
    "NystromKRR",
    "SketchedLeastSquares",
    "TangentSpace",
    "__version__",
]
