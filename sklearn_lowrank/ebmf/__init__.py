"""Empirical Bayes matrix factorization, with covariate-moderated priors.

:class:`CEBMF` implements EBMF (Wang and Stephens, JMLR 2021; R flashier) and
its covariate-moderated extension cEBMF (Denault et al., NeurIPS 2025).  The
EBNM solvers it is built on live in :mod:`sklearn_lowrank.ebmf._ebnm` and
:mod:`sklearn_lowrank.ebmf._cebnm`.
"""

from sklearn_lowrank.ebmf._cebmf import CEBMF

__all__ = ["CEBMF"]
