"""
Scaling out on dask
===================

Three ways sklearn_lowrank runs on a ``dask.distributed`` cluster, with no
change to the estimators:

1. a hyperparameter search under ``joblib.parallel_config(backend="dask")``;
2. ``SketchedLeastSquares.fit`` on a row-chunked dask array: each block is
   sketched (and, in precondition mode, multiplied) where it lives, and only
   small ``d``-sized results travel, so ``X`` is never gathered;
3. fold-in ``transform`` of new rows block by block (here ``BooleanMF``).

A local cluster stands in for a real one: replace ``LocalCluster(...)`` by
``Client("tcp://scheduler:8786")``.  Needs the ``distributed`` extra
(``pip install 'sklearn-lowrank[distributed]'``).  Prints its results; a
plot would add nothing.
"""

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from sklearn_lowrank import BooleanMF, SketchedLeastSquares
from sklearn_lowrank.datasets import make_boolean_tiles, make_leverage_regression

if __name__ == "__main__":  # worker processes re-import this file
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    client = Client(cluster)

    # 1. Distributed search: the same results as the default (loky) backend.
    X, y, _ = make_leverage_regression(20_000, 30, condition_number=1e4, random_state=0)
    search = GridSearchCV(
        SketchedLeastSquares(mode="sketch_and_solve", random_state=0),
        {"sketch_size": [600, 2400]},
        cv=3,
        n_jobs=-1,
    )
    with parallel_config(backend="dask"):
        search.fit(X, y)
    print(f"1. best params on dask: {search.best_params_}")

    # 2. Out-of-core least squares on a row-chunked dask array.  persist()
    # keeps the blocks on the workers, as if they had been loaded there.
    dX = client.persist(da.from_array(X, chunks=(2_500, -1)))
    dy = client.persist(da.from_array(y, chunks=2_500))
    on_dask = SketchedLeastSquares(random_state=0).fit(dX, dy)
    in_memory = SketchedLeastSquares(random_state=0).fit(X, y)
    gap = np.abs(on_dask.coef_ - in_memory.coef_).max() / np.abs(in_memory.coef_).max()
    print(
        f"2. dask fit over {dX.numblocks[0]} blocks: {on_dask.n_iter_} CG passes, "
        f"relative difference to the in-memory fit {gap:.1e}"
    )

    # 3. Fold-in transform of many new rows, one task per block (lazy).
    B, _, _ = make_boolean_tiles(400, 60, 3, noise=0.02, random_state=0)
    model = BooleanMF(n_components=3, random_state=0).fit(B[:100])
    U = model.transform(da.from_array(B, chunks=(100, -1)))
    same = np.array_equal(U.compute(), model.transform(B))
    print(f"3. transform of a dask array: {type(U).__name__} {U.shape}; equal: {same}")

    client.close()
    cluster.close()
