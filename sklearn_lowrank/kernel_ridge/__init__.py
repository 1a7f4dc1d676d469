"""Kernel ridge regression on a Nyström basis chosen by sequential leverage scores.

:class:`NystromKRR` implements INK-ESTIMATE (Calandriello, Lazaric and Valko,
UAI 2016).  The dictionary and its leverage scores live in
:mod:`sklearn_lowrank.kernel_ridge._ink`; the Nyström solves and kernels in
:mod:`sklearn_lowrank.kernel_ridge._nystrom`.
"""

from sklearn_lowrank.kernel_ridge._estimator import NystromKRR

__all__ = ["NystromKRR"]
