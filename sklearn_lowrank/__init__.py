"""scikit-learn compatible low-rank and matrix-structured estimators.

Each estimator is a faithful implementation of a recent paper; see the
documentation page of each class for the reference and what it reproduces.
BLAS threads are bounded by one package-wide policy, described in
:mod:`sklearn_lowrank._threads` and the README.
"""

__version__ = "0.1.0.dev0"

from sklearn_lowrank.ebmf import CEBMF

__all__ = ["CEBMF", "__version__"]
