"""Low-rank matrix completion by robust alternating minimization.

:class:`AltMinCompleter` (estimator in ``_estimator.py``; the alternating
minimization, its blocked least-squares solvers and the spectral start in
``_solvers.py``).
"""

from sklearn_lowrank.completion._estimator import AltMinCompleter

__all__ = ["AltMinCompleter"]
