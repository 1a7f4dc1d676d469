"""scikit-learn compatible low-rank and matrix-structured estimators.

Each estimator is a faithful implementation of a recent paper; see the
documentation page of each class for the reference and what it reproduces.
BLAS threads are bounded by one package-wide policy, described in
:mod:`sklearn_lowrank._threads` and the README.
"""

import os as _os
from pathlib import Path as _Path

from sklearn.base import BaseEstimator as _BaseEstimator

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


# The "?" link of the notebook HTML repr (scikit-learn's ``_doc_link_*``
# hooks on BaseEstimator).  Set here, once, for every estimator exported
# above: any import of a submodule runs this file first, and no estimator
# class has to carry it.  There is no hosted site yet, so the link goes to
# the estimator's page of the docs built from this checkout
# (``python -m sphinx -b html docs docs/_build/html``); a hosted copy is
# chosen with the SKLEARN_LOWRANK_DOCS_URL environment variable (read at
# display time).  With neither, there is no link rather than a broken one.
_BUILT_DOCS = _Path(__file__).resolve().parents[1] / "docs" / "_build" / "html"


def _doc_link_params(estimator):
    page = f"generated/sklearn_lowrank.{type(estimator).__name__}.html"
    base = _os.environ.get("SKLEARN_LOWRANK_DOCS_URL")
    if base:
        return {"url": f"{base.rstrip('/')}/{page}"}
    if (_BUILT_DOCS / page).is_file():
        return {"url": (_BUILT_DOCS / page).as_uri()}
    return {"url": ""}


for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and issubclass(_obj, _BaseEstimator):
        _obj._doc_link_module = "sklearn_lowrank"
        _obj._doc_link_template = "{url}"
        _obj._doc_link_url_param_generator = _doc_link_params
del _name, _obj
