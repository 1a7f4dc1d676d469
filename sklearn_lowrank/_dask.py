"""Generic helpers for row-chunked dask arrays (the ``distributed`` extra).

Nothing here knows an estimator.  Two patterns cover every use in the
package:

- **map-reduce over row blocks** (:func:`row_blocks`,
  :func:`sum_over_row_blocks`): one pass over the data is one small dask
  graph -- one task per row block, each returning a few small arrays, then a
  tree of additions -- handed to whatever scheduler is in force (a
  ``dask.distributed.Client`` if one exists, else dask's local threads).
  Each block's task runs where the block lives, so the full matrix is never
  materialized in one process.  An estimator whose passes are sums over rows
  (the sketch ``S X = sum_k S_k X_k``, the normal-equation residual
  ``X^T r = sum_k X_k^T r_k``) is fitted out of core this way.
- **row-wise transforms** (:func:`rowwise_transform`,
  :func:`transform_row_blocks`): a ``transform`` that treats rows
  independently (a fold-in of new rows) applied lazily, block by block.

dask is imported lazily, only when a dask array is actually passed.
"""

import functools
import inspect

import numpy as np
from sklearn.utils.validation import check_is_fitted

from sklearn_lowrank._messages import estimator_name

__all__ = [
    "aligned",
    "check_row_chunked",
    "is_dask_collection",
    "row_blocks",
    "rowwise_transform",
    "sum_over_row_blocks",
    "transform_row_blocks",
]

_EXTRA_HINT = (
    "install the 'distributed' extra: pip install 'sklearn-lowrank[distributed]' "
    "(dask[array], distributed, dask-ml)"
)
# Fan-in of the tree of additions that sums the per-block results.
_SPLIT_EVERY = 8


def is_dask_collection(X):
    """True for a dask array / dataframe, without importing dask."""
    return type(X).__module__.split(".")[0] in ("dask", "dask_expr")


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching
        raise ImportError(
            f"Fitting on dask arrays needs dask with its array module: {_EXTRA_HINT}."
        ) from exc
    return dask, da


def check_row_chunked(X, name="X", *, estimator):
    """Check that a dask array is chunked by rows only, with known chunk sizes.

    Raises a ``TypeError`` for other dask collections and a ``ValueError``
    naming the fix for unknown chunk sizes and for chunked columns.

    Parameters
    ----------
    X : dask collection
    name : str, default="X"
        Name of the argument, for the messages.
    estimator : estimator instance or str
        Named at the start of the messages.
    """
    owner = estimator_name(estimator)
    _, da = _import_dask()
    if not isinstance(X, da.Array):
        raise TypeError(
            f"{owner}: {name} is a {type(X).__name__}; only dask arrays are "
            f"supported. Convert a dask DataFrame with "
            f"{name}.to_dask_array(lengths=True)."
        )
    if X.ndim not in (1, 2):
        raise ValueError(f"{owner}: {name} must be 1-D or 2-D; got {X.ndim}-D.")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{owner}: the dask array {name} has unknown chunk sizes (NaN rows "
            f"per block, e.g. after boolean indexing); call "
            f"{name}.compute_chunk_sizes() first."
        )
    if X.ndim == 2 and len(X.chunks[1]) > 1:
        raise ValueError(
            f"{owner}: the dask array {name} is chunked along its columns "
            f"({len(X.chunks[1])} column blocks); each block must hold whole "
            f"rows. Rechunk by rows: {name} = {name}.rechunk({{1: -1}})."
        )
    return X


def aligned(v, row_chunks, name, *, estimator):
    """``v`` (numpy or dask, 1-D or 2-D) as a dask array with these row chunks.

    Parameters
    ----------
    v : array-like or dask array
        One row per sample.
    row_chunks : tuple of int
        Rows per block of the reference array (``X.chunks[0]``).
    name : str
        Name of the argument, for the messages.
    estimator : estimator instance or str
        Named at the start of the messages.
    """
    _, da = _import_dask()
    if is_dask_collection(v):
        check_row_chunked(v, name, estimator=estimator)
    else:
        v = np.asarray(v)
    n = sum(row_chunks)
    if v.ndim == 0 or v.shape[0] != n:
        rows = "a scalar" if v.ndim == 0 else f"{v.shape[0]} rows"
        raise ValueError(
            f"{estimator_name(estimator)}: {name} has {rows} but X has {n}."
        )
    chunks = (tuple(row_chunks),) + tuple((s,) for s in v.shape[1:])
    if is_dask_collection(v):
        return v.rechunk(chunks) if v.chunks != chunks else v
    return da.from_array(v, chunks=chunks)


def row_blocks(X, *row_aligned):
    """Row blocks of ``X`` and of row-aligned arrays, as delayed objects.

    Parameters
    ----------
    X : dask array, chunked by rows
    *row_aligned : dask array or None
        Arrays with the same row chunks as ``X`` (see :func:`aligned`);
        None gives None for every block.

    Returns
    -------
    blocks : list of tuple
        ``(X_k, V_k, ...)`` for every block ``k``.
    """
    columns = [X.to_delayed().ravel()]
    for v in row_aligned:
        columns.append(
            [None] * len(columns[0]) if v is None else v.to_delayed().ravel()
        )
    return list(zip(*columns))


def _add(*parts):
    return tuple(sum(vals[1:], vals[0]) for vals in zip(*parts))


def _sum_over_blocks(dask, tasks):
    """Sum tuples of arrays returned by per-block delayed tasks, as a tree."""
    while len(tasks) > 1:
        tasks = [
            dask.delayed(_add)(*tasks[i : i + _SPLIT_EVERY])
            for i in range(0, len(tasks), _SPLIT_EVERY)
        ]
    return dask.compute(tasks[0])[0]


def sum_over_row_blocks(func, blocks, **kwargs):
    """One pass: ``sum_k func(k, *blocks[k], **kwargs)``, computed by dask.

    Parameters
    ----------
    func : callable
        ``func(index, *block, **kwargs) -> tuple of ndarray``, run on numpy
        blocks where they live; the tuples of all blocks are added
        elementwise.  A module-level function, so that it pickles.
    blocks : list of tuple
        From :func:`row_blocks`.
    **kwargs
        Small arguments shared by every block (vectors, seeds).

    Returns
    -------
    sums : tuple of ndarray
    """
    dask, _ = _import_dask()
    tasks = [
        dask.delayed(func)(index, *block, **kwargs)
        for index, block in enumerate(blocks)
    ]
    return _sum_over_blocks(dask, tasks)


def transform_row_blocks(transform, X, n_columns, owner, **row_aligned):
    """Lazy ``transform(X)`` of a row-chunked dask array, block by block.

    For transforms that treat rows independently (fold-in of new rows), so
    the blocks' results stacked are the transform of the whole array.
    Unlike ``X.map_blocks(transform)`` (and dask-ml's ``ParallelPostFit``),
    the result declares its true number of columns, ``n_columns``.

    Parameters
    ----------
    transform : callable
        The estimator's own ``transform``, called on numpy blocks.
    X : dask array of shape (n_samples, n_features)
    n_columns : int
        Number of columns of the result.
    owner : estimator instance or str
        Named in error messages.
    **row_aligned : array-like or None
        Extra keyword arguments with one row per sample (e.g. row
        covariates), passed block by block; None is passed as is.
    """
    _, da = _import_dask()
    X = check_row_chunked(X, estimator=owner)
    if X.ndim != 2:
        raise ValueError(
            f"{estimator_name(owner)}: X must be 2-D; got a {X.ndim}-D dask array."
        )
    names = [k for k, v in row_aligned.items() if v is not None]
    extras = [aligned(row_aligned[k], X.chunks[0], k, estimator=owner) for k in names]
    extras = [e if e.ndim == 2 else e.reshape(-1, 1) for e in extras]

    def one_block(Xb, *extra_blocks):
        return transform(Xb, **dict(zip(names, extra_blocks)))

    return da.map_blocks(
        one_block,
        X,
        *extras,
        chunks=(X.chunks[0], (n_columns,)),
        dtype=np.float64,
        meta=np.empty((0, 0), dtype=np.float64),
    )


def rowwise_transform(n_columns):
    """Decorator: a row-wise ``transform`` also accepts a dask array, lazily.

    The decorated method ``method(self, X, ...)`` is called unchanged on
    in-memory input.  On a row-chunked dask array it returns a lazy dask
    array, computed block by block by the method itself
    (:func:`transform_row_blocks`); every other argument must be row-aligned
    (one row per sample, e.g. row covariates) or None.

    Parameters
    ----------
    n_columns : callable
        ``n_columns(fitted_estimator) -> int``, the number of output columns.
    """

    def decorate(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self, X, *args, **kwargs):
            if not is_dask_collection(X):
                return method(self, X, *args, **kwargs)
            check_is_fitted(self)
            bound = signature.bind(self, X, *args, **kwargs)
            row_aligned = dict(list(bound.arguments.items())[2:])
            return transform_row_blocks(
                functools.partial(method, self),
                X,
                n_columns(self),
                self,
                **row_aligned,
            )

        return wrapper

    return decorate
