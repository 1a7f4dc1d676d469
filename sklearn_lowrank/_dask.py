"""Out-of-core fits on row-chunked dask arrays (the ``distributed`` extra).

Nothing here schedules work: a fit on a dask array builds one small dask
graph per pass over the data -- one task per row block, each returning a
few ``O(m d)`` or ``O(d t)`` arrays, then a tree of additions -- and hands
it to whatever scheduler is in force (a ``dask.distributed.Client`` if one
exists, else dask's local threads).  Each block's task runs where the block
lives, so the full matrix is never materialized in one process.

This works because both passes of :class:`SketchedLeastSquares` are sums
over row blocks:

- the sketch ``S X = sum_k S_k X_k`` for the sketches that are sums over
  rows (:data:`~sklearn_lowrank._sketches.ROW_BLOCK_SKETCHES`), each block
  drawing its own columns of ``S`` from ``(seed, block index)``;
- the fused CG pass ``g = X_c^T W r``, ``||r||_W^2`` with
  ``r = Y_c - X_c z``: every block computes ``X_b z`` and ``X_b^T r_b``
  (:func:`sklearn_lowrank.least_squares._normal_residual_pass` on the
  block) and the partial results add up.

dask is imported lazily, only when a dask array is actually passed.
"""

import numpy as np

__all__ = [
    "check_row_chunked",
    "fit_sketched_least_squares",
    "is_dask_collection",
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


def check_row_chunked(X, name="X", owner="SketchedLeastSquares"):
    """Check that a dask array is chunked by rows only, with known chunk sizes.

    Raises a ``TypeError`` for other dask collections and a ``ValueError``
    naming the fix for unknown chunk sizes and for chunked columns.
    """
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


def _aligned(da, v, row_chunks, name, owner="SketchedLeastSquares"):
    """``v`` (numpy or dask, 1-D or 2-D) as a dask array with these row chunks."""
    if is_dask_collection(v):
        check_row_chunked(v, name, owner)
    else:
        v = np.asarray(v)
    n = sum(row_chunks)
    if v.shape[0] != n:
        raise ValueError(f"{owner}: {name} has {v.shape[0]} rows but X has {n}.")
    chunks = (row_chunks,) + tuple((s,) for s in v.shape[1:])
    if is_dask_collection(v):
        return v.rechunk(chunks) if v.chunks != chunks else v
    return da.from_array(v, chunks=chunks)


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


def _blocks(X, Y, W):
    """Row blocks of X, Y, W as delayed objects (W may be None)."""
    xs = X.to_delayed().ravel()
    ys = Y.to_delayed().ravel()
    ws = [None] * len(xs) if W is None else W.to_delayed().ravel()
    return zip(xs, ys, ws)


def _as_float_block(Xb, Yb, wb):
    Xb = np.asarray(Xb, dtype=np.float64)
    Yb = np.asarray(Yb, dtype=np.float64).reshape(Xb.shape[0], -1)
    wb = np.ones(Xb.shape[0]) if wb is None else np.asarray(wb, dtype=np.float64)
    return Xb, Yb, wb


def _sketch_block(Xb, Yb, wb, index, *, seed, sketch_size, sketch, weighted):
    """One block's sketch ``S_k [X_k, Y_k, 1]`` plus its weighted moments."""
    from sklearn_lowrank._sketches import sketch_row_block

    Xb, Yb, wb = _as_float_block(Xb, Yb, wb)
    if (wb < 0).any():
        raise ValueError("SketchedLeastSquares: negative values in sample_weight.")
    rng = np.random.default_rng([seed, index])
    SX, SY, S1 = sketch_row_block(
        [Xb, Yb, np.ones(Xb.shape[0])],
        sketch_size,
        sketch,
        rng,
        row_scale=np.sqrt(wb) if weighted else None,
    )
    return (
        SX,
        SY,
        S1,
        np.array([wb.sum()]),
        wb @ Xb,
        wb @ Yb,
        np.einsum("i,ij,ij->j", wb, Yb, Yb),
    )


def _residual_block(Xb, Yb, wb, *, coef, x_mean, y_mean, with_targets):
    from sklearn_lowrank.least_squares import _normal_residual_pass

    Xb, Yb, wb = _as_float_block(Xb, Yb, wb)
    # The per-block pass subtracts x_mean * sum(w r) for its own rows; the
    # correction is linear in the rows, so the block results simply add up.
    return _normal_residual_pass(
        Xb, Yb if with_targets else None, coef, x_mean, y_mean, wb
    )


def fit_sketched_least_squares(est, X, y, sample_weight=None):
    """:meth:`SketchedLeastSquares.fit` on a row-chunked dask array ``X``.

    Same estimator, same attributes; the sketch is drawn block by block
    (from ``random_state`` and the block index), so it differs from the
    in-memory sketch, but precondition mode converges to the same exact
    least-squares solution.  ``sketch="srtt"`` mixes all rows and is not
    available; ``"auto"`` is ``"countsketch"`` (precondition) or
    ``"sparse_sign"`` (sketch-and-solve).
    """
    from sklearn.utils import check_random_state

    from sklearn_lowrank._sketches import ROW_BLOCK_SKETCHES
    from sklearn_lowrank.least_squares import _preconditioned_normal_cg

    dask, da = _import_dask()
    X = check_row_chunked(X)
    if X.ndim != 2:
        raise ValueError(
            f"SketchedLeastSquares: X must be 2-D; got a {X.ndim}-D dask array. "
            f"Reshape it, e.g. X.reshape(-1, 1) for one feature."
        )
    if y is None:
        raise ValueError("SketchedLeastSquares requires y to be passed, got None.")
    n_samples, n_features = X.shape
    if n_samples < 1 or n_features < 1:
        raise ValueError(
            f"SketchedLeastSquares: X has shape {X.shape}; need at least one "
            f"sample and one feature."
        )
    Y = _aligned(da, y, X.chunks[0], "y")
    y_ndim = Y.ndim
    if y_ndim == 1:
        Y = Y.reshape(n_samples, 1)
    W = None
    if sample_weight is not None:
        W = _aligned(da, sample_weight, X.chunks[0], "sample_weight")
    for attr in ("feature_names_in_",):
        if hasattr(est, attr):
            delattr(est, attr)
    est.n_features_in_ = n_features
    est._drop_stream()

    if est.sketch == "auto":
        sketch = "countsketch" if est.mode == "precondition" else "sparse_sign"
    elif est.sketch in ROW_BLOCK_SKETCHES:
        sketch = est.sketch
    else:
        raise ValueError(
            f"SketchedLeastSquares: sketch={est.sketch!r} mixes all rows and cannot "
            f"be computed block by block on a dask array; use one of "
            f"{ROW_BLOCK_SKETCHES} (or 'auto')."
        )
    sketch_size = est._resolve_sketch_size(
        n_samples, n_features, n_samples * n_features, sketch
    )
    if sketch_size >= n_samples:
        # Too few rows for a sketch to save anything: the data is small.
        X_mem, y_mem = dask.compute(X, Y if y_ndim == 2 else Y[:, 0])
        w_mem = None if W is None else W.compute()
        return est.fit(X_mem, y_mem, sample_weight=w_mem)
    seed = int(check_random_state(est.random_state).randint(2**31))

    tasks = [
        dask.delayed(_sketch_block)(
            xb,
            yb,
            wb,
            i,
            seed=seed,
            sketch_size=sketch_size,
            sketch=sketch,
            weighted=W is not None,
        )
        for i, (xb, yb, wb) in enumerate(_blocks(X, Y, W))
    ]
    SX, SY, S1, w_total, x_sum, y_sum, y_sq = _sum_over_blocks(dask, tasks)
    w_total = float(w_total[0])
    if not all(np.isfinite(a).all() for a in (SX, SY, x_sum, y_sum)):
        raise ValueError(
            "SketchedLeastSquares: X or y contains NaN or infinity (dask input)."
        )
    if w_total <= 0:
        raise ValueError("SketchedLeastSquares: sample_weight sums to zero.")
    if est.fit_intercept:
        x_mean, y_mean = x_sum / w_total, y_sum / w_total
    else:
        x_mean, y_mean = np.zeros(n_features), np.zeros(Y.shape[1])
    SX -= S1 * x_mean
    SY -= S1 * y_mean
    if est.verbose:
        print(
            f"[SketchedLeastSquares] {sketch} sketch, {sketch_size} x {n_features}, "
            f"{X.numblocks[0]} dask row blocks"
        )

    from sklearn_lowrank.least_squares import _sketched_solution

    precond, coef = _sketched_solution(SX, SY)
    n_iter = 0
    if est.mode == "precondition":
        blocks = list(_blocks(X, Y, W))

        def residual_pass(z, with_targets):
            return _sum_over_blocks(
                dask,
                [
                    dask.delayed(_residual_block)(
                        xb,
                        yb,
                        wb,
                        coef=z,
                        x_mean=x_mean,
                        y_mean=y_mean,
                        with_targets=with_targets,
                    )
                    for xb, yb, wb in blocks
                ],
            )

        # ||Y_c||_W^2 from raw moments: only the stopping rule for consistent
        # systems uses it, where a relative error of ~eps * (mean/std)^2 is
        # harmless.
        y_sq_norm = np.maximum(
            y_sq - w_total * y_mean * (2 * y_sum / w_total - y_mean), 0
        )
        coef, n_iter = _preconditioned_normal_cg(
            coef,
            precond,
            residual_pass=residual_pass,
            y_sq_norm=y_sq_norm,
            sketch_size=sketch_size,
            tol=est.tol,
            max_iter=est.max_iter,
            verbose=est.verbose,
        )
        est.preconditioner_ = precond
    est._set_coef(coef, y_mean - x_mean @ coef, y_ndim)
    est.n_iter_ = n_iter
    est.sketch_ = sketch
    est.sketch_size_ = sketch_size
    est.n_samples_seen_ = n_samples
    return est


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
    owner : str
        Name used in error messages.
    **row_aligned : array-like or None
        Extra keyword arguments with one row per sample (e.g. row
        covariates), passed block by block; None is passed as is.
    """
    _, da = _import_dask()
    X = check_row_chunked(X, owner=owner)
    if X.ndim != 2:
        raise ValueError(f"{owner}: X must be 2-D; got a {X.ndim}-D dask array.")
    names = [k for k, v in row_aligned.items() if v is not None]
    extras = [_aligned(da, row_aligned[k], X.chunks[0], k, owner) for k in names]
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
