"""Input checks shared by several estimators.

sklearn's ``validate_data`` already covers shapes, dtypes, NaN/inf and the
feature count; the helpers here cover what is specific to low-rank models and
give errors that name the estimator, the parameter and the offending value.

Naming (CONTRIBUTING.md, "validation"): every check is a module-level
``check_<what>(value, ..., *, estimator)`` here, returning the validated
value; ``estimator`` (an instance or a name) is named first in the message
through :func:`sklearn_lowrank._messages.estimator_name`.  An estimator's own
preparation of its X/y (``validate_data`` plus these checks) is one private
method per class.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

from sklearn_lowrank._messages import estimator_name

__all__ = [
    "check_binary",
    "check_observed_lines",
    "check_rank",
    "check_sample_weight",
    "check_sample_weight_totals",
    "check_side_data",
    "check_spd",
]


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
    est_name = estimator_name(estimator)
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
    est_name = estimator_name(estimator)
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
    est_name = estimator_name(estimator)
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


def check_sample_weight(sample_weight, n_samples, *, estimator):
    """Float64 row weights: non-negative, finite, not all zero.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), float or None
        None means unit weights; a scalar is the same weight for every row.
    n_samples : int
        Number of rows of X.
    estimator : estimator instance or str
        Used to name the estimator in the message.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
    """
    est_name = estimator_name(estimator)
    if sample_weight is None:
        return np.ones(n_samples)
    if np.isscalar(sample_weight):
        sample_weight = np.full(n_samples, float(sample_weight))
    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=np.float64,
        input_name="sample_weight",
        estimator=est_name,
    )
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"{est_name}: sample_weight has shape {sample_weight.shape}, "
            f"expected ({n_samples},)."
        )
    check_sample_weight_totals(
        np.count_nonzero(sample_weight < 0), sample_weight.sum(), estimator=estimator
    )
    return sample_weight


def check_sample_weight_totals(n_negative, total, *, estimator):
    """The value check of :func:`check_sample_weight`, from two totals.

    For weights that are never in memory at once (dask row blocks), the
    caller reduces them to the number of negative weights and their sum.

    Parameters
    ----------
    n_negative : int
        Number of negative weights.
    total : float
        Sum of the weights (finite, already checked).
    estimator : estimator instance or str
        Used to name the estimator in the message.
    """
    est_name = estimator_name(estimator)
    if n_negative:
        raise ValueError(
            f"{est_name}: sample_weight must be non-negative; got "
            f"{int(n_negative)} negative value(s)."
        )
    if not total > 0:
        raise ValueError(
            f"{est_name}: sample_weight must contain at least one non-zero number."
        )


def check_observed_lines(observed, *, estimator):
    """Refuse a partially observed matrix with a row or column never observed.

    Parameters
    ----------
    observed : ndarray of bool of shape (n_rows, n_cols)
        True where an entry of X is observed.
    estimator : estimator instance or str
        Used to name the estimator in the message.

    Returns
    -------
    observed : ndarray of bool
        The mask, unchanged.
    """
    est_name = estimator_name(estimator)
    for axis, what in ((1, "rows"), (0, "columns")):
        empty = np.flatnonzero(~observed.any(axis=axis))
        if empty.size:
            raise ValueError(
                f"{est_name}: X has {empty.size} {what} with no observed entry "
                f"(all NaN): {what} {format_indices(empty)}. Remove them before "
                "fitting."
            )
    return observed


def format_indices(indices, max_named=10):
    """``"[0, 4, ...] (12 in all)"``: which items of a stack a message names."""
    indices = [int(i) for i in indices]
    more = len(indices) - max_named
    text = ", ".join(map(str, indices[:max_named]))
    return f"[{text}{', ...' if more > 0 else ''}] ({len(indices)} in all)"


def not_positive_definite(C):
    """Indices of the matrices of the stack ``C`` whose Cholesky fails.

    One batched factorisation when all succeed (the common case); a failure
    is located matrix by matrix.  Cholesky is the cheapest test that is exact
    in the sense that matters downstream: a matrix that factors can be
    inverted and logged.
    """
    try:
        np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        pass
    else:
        return np.empty(0, dtype=int)
    bad = []
    for i, matrix in enumerate(C):
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            bad.append(i)
    return np.asarray(bad, dtype=int)


def check_spd(C, *, estimator, name="X", advice=""):
    """Refuse matrices that are not symmetric positive definite.

    Parameters
    ----------
    C : ndarray of shape (n_matrices, n, n)
        Finite, validated stack of matrices.
    estimator : estimator instance or str
        Used to name the estimator in the message.
    name : str, default="X"
        Name of the argument, used in the message.
    advice : str, default=""
        What the user should do, appended to the message.

    Returns
    -------
    C : ndarray of shape (n_matrices, n, n)
        The input, unchanged.
    """
    est_name = estimator_name(estimator)
    # Compare in units of each matrix's largest entry, so the test does not
    # depend on the scale of the data.
    scale = np.max(np.abs(C), axis=(1, 2), keepdims=True)
    unit = C / np.where(scale > 0, scale, 1.0)
    asymmetric = np.flatnonzero(
        np.max(np.abs(unit - np.swapaxes(unit, 1, 2)), axis=(1, 2)) > 1e-10
    )
    if asymmetric.size:
        raise ValueError(
            f"{est_name} expects symmetric matrices, but {name}"
            f"{format_indices(asymmetric)} are not symmetric."
        )
    bad = not_positive_definite(unit)
    if bad.size:
        raise ValueError(
            f"{est_name} expects symmetric positive definite matrices, but "
            f"{name}{format_indices(bad)} are not positive definite (zero, "
            f"singular or indefinite).{' ' + advice if advice else ''}"
        )
    return C
