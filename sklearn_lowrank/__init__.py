"""scikit-learn compatible low-rank and matrix-structured estimators.

Each estimator is a faithful implementation of a recent paper; see the
documentation page of each class for the reference and what it reproduces.
BLAS threads are bounded by one package-wide policy, described in
:mod:`sklearn_lowrank._threads` and the README.
"""

from sklearn_lowrank.boolean import BooleanMF

__version__ = "0.1.0.dev0"

__all__ = ["BooleanMF", "__version__"]
