"""Input checks shared by several estimators.

sklearn's ``validate_data`` already covers shapes, dtypes, NaN/inf and the
feature count; the helpers here cover what is specific to low-rank models and
give errors that name the estimator, the parameter and the offending value.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

__all__ = ["check_binary", "check_rank", "check_side_data"]


def check_rank(rank, shape, *, estimator, name="n_components", strict=False):
    """Check that a rank fits a matrix of the given shape.

    Parameters
    ----------
    rank : int
        The requested rank (already known to be an integer >= 1 through
        ``_parameter_constraints``).
    shape : tuple of int
        ``(n_rows, n_cols)`` of the matrix being factorized.
    estimator : estimator instance or str
        Used to name the estimator in the message.
    name : str, default="n_components"
        Name of the parameter, used in the message.
    strict : bool, default=False
        If True, require ``rank < min(shape)`` (a factorization whose rank
        equals the smaller dimension is not low rank, e.g. for completion).

    Returns
    -------
    rank : int
        The validated rank.
    """
    limit = int(min(shape))
    est_name = estimator if isinstance(estimator, str) else type(estimator).__name__
    too_big = rank >= limit if strict else rank > limit
    if too_big:
        bound = f"< min{tuple(shape)} = {limit}" if strict else f"<= {limit}"
        raise ValueError(
            f"{est_name}: {name}={rank} is too large for a matrix of shape "
            f"{tuple(shape)}; it must be {bound}."
        )
    return int(rank)


def check_binary(X, *, estimator, binarize=None):
    """Return X as 0/1 data, or raise if it is not binary.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Validated input (finite).
    estimator : estimator instance or str
        Used to name the estimator in the message.
    binarize : float or None, default=None
        If a float, entries strictly greater than it become 1 and the others
        0 (as in :class:`sklearn.naive_bayes.BernoulliNB`). If None, X must
        already hold only zeros and ones.

    Returns
    -------
    X : ndarray or sparse matrix
        The same container type with values in {0, 1}.
    """
    est_name = estimator if isinstance(estimator, str) else type(estimator).__name__
    values = X.data if sp.issparse(X) else X
    if binarize is not None:
        if sp.issparse(X):
            X = X.copy()
            X.data = (X.data > binarize).astype(X.dtype)
            X.eliminate_zeros()
            return X
        return (X > binarize).astype(X.dtype)
    if values.size and np.any((values != 0) & (values != 1)):
        bad = values[(values != 0) & (values != 1)].ravel()[0]
        raise ValueError(
            f"{est_name} expects binary data (only 0 and 1), got the value "
            f"{bad!r}. Pass binarize=<threshold> to binarize real-valued input."
        )
    return X


def check_side_data(Z, n_expected, *, estimator, name, axis_name="rows"):
    """Validate side information aligned with the rows or columns of X.

    Parameters
    ----------
    Z : array-like of shape (n_expected, n_covariates)
        Covariates; a 1-D array is read as one covariate.
    n_expected : int
        Number of rows (or columns) of X that Z must match.
    estimator : estimator instance or str
        Used to name the estimator in the message.
    name : str
        Name of the argument, used in the message.
    axis_name : str, default="rows"
        "rows" or "columns": what Z is aligned with, for the message.

    Returns
    -------
    Z : ndarray of shape (n_expected, n_covariates)
        Finite float64 array.
    """
    est_name = estimator if isinstance(estimator, str) else type(estimator).__name__
    Z = check_array(
        Z,
        ensure_2d=False,
        dtype=np.float64,
        ensure_all_finite=True,
        input_name=name,
        estimator=est_name,
    )
    if Z.ndim == 1:
        Z = Z[:, np.newaxis]
    if Z.shape[0] != n_expected:
        raise ValueError(
            f"{est_name}: {name} has {Z.shape[0]} rows but X has {n_expected} "
            f"{axis_name}; they must match."
        )
    return Z
