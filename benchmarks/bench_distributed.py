"""Scale-out on dask: an out-of-core least-squares fit and a distributed search.

(a) ``SketchedLeastSquares.fit`` on a dask array that is generated block by
    block from a seed and never held whole (default 2.5e6 x 100 = 2 GB;
    ``--full`` 2e7 x 100 = 16 GB), on a ``LocalCluster`` of two worker
    processes.  Reports the peak resident memory of every process (scheduler
    side = this process, and each worker), the passes over the data, and the
    throughput in GB/s next to two ceilings measured on the same box: a
    one-pass memory read (``numpy.sum`` over an in-cache-cold array) and a
    pass that only generates the blocks and sums them (what any consumer of
    this lazily generated array must pay).  The exact least-squares solution
    is not computable in memory at these sizes; the error column is the
    relative normal-equation residual ``||X_c^T r|| / (||X_c|| ||r||)``,
    checked by one extra dask pass.  At the default size the fit is then
    repeated on the blocks persisted in the workers' memory (1 GB each).
(b) When the data fits in this process (``--smoke``: 2e4 x 20), the same
    problem gathered in memory, side by side: ours on the dask blocks
    persisted in the workers, ours in memory, ``LinearRegression``,
    ``numpy.linalg.lstsq`` and ``scipy.sparse.linalg.lsqr`` (error: the
    relative normal-equation residual of the centered problem).  Above
    0.5 GB the in-memory peers are skipped (they copy X).
(c) ``GridSearchCV`` over ``AugmentedCovarianceClassifier`` (order x lag
    grid) under ``joblib.parallel_config(backend="dask")`` on the cluster vs
    the default loky backend: wall-time ratio and equality of the scores.

``--smoke`` runs everything at tiny sizes in well under a minute.
"""

import resource
import sys
import time
from pathlib import Path

import numpy as np

# Run as a script from anywhere: the repository root holds both packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._harness import Contender, by_size, compare, parser


def _peak_rss_gb():
    # ru_maxrss is in kB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _memory_read_gbs(n_bytes=512 * 2**20, repeats=3):
    """One-pass read bandwidth of this box (one core), GB/s."""
    a = np.ones(n_bytes // 8)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - start)
    return a.nbytes / best / 1e9


def _lazy_problem(n, d, rows_per_block, seed):
    """X (n x d) and y = X coef + noise, generated per block from ``seed``."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    # Columns on scales 1 .. 1e3: an ill-conditioned X (cond ~ 1e3).
    scales = np.logspace(0, 3, d)
    # Uniform entries: cheaper to generate than normal ones, and generation,
    # not the fit, bounds the throughput on lazily generated data.
    X = (rng.random((n, d), chunks=(rows_per_block, d)) - 0.5) * scales
    coef = np.random.default_rng(seed).standard_normal(d) / scales
    y = X @ coef + 0.1 * rng.standard_normal(n, chunks=rows_per_block) + 3.0
    return X, y, coef


def out_of_core_fit(client, n, d, rows_per_block, seed):
    import dask
    import dask.array as da
    from distributed import wait

    from sklearn_lowrank import SketchedLeastSquares, _dask

    X, y, coef = _lazy_problem(n, d, rows_per_block, seed)
    gb = X.nbytes / 1e9
    print(
        f"\n== (a) SketchedLeastSquares on a lazily generated dask array: "
        f"{n:.3g} x {d} float64 = {gb:.1f} GB, {X.numblocks[0]} blocks of "
        f"{rows_per_block} rows ({rows_per_block * d * 8 / 2**20:.0f} MB)"
    )
    bandwidth = _memory_read_gbs()
    start = time.perf_counter()
    dask.compute(X.sum(axis=0), y.sum())
    generate = time.perf_counter() - start

    def counted_fit(X, y):
        """Fit, with its time and its number of passes over the blocks."""
        passes = []
        original = _dask._sum_over_blocks

        def counting(dask_module, tasks):
            passes.append(len(tasks))
            return original(dask_module, tasks)

        _dask._sum_over_blocks = counting
        try:
            start = time.perf_counter()
            est = SketchedLeastSquares(random_state=seed).fit(X, y)
            seconds = time.perf_counter() - start
        finally:
            _dask._sum_over_blocks = original
        return est, seconds, len(passes)

    est, seconds, n_passes = counted_fit(X, y)

    # Verification pass: normal residual X_c^T r = X^T r - x_mean sum(r) of
    # the returned solution (r sums to ~0 with an intercept).
    r = y - X @ est.coef_ - est.intercept_
    Xtr, r_sum, x_sum, r_norm = dask.compute(
        X.T @ r, r.sum(), X.sum(axis=0), da.linalg.norm(r)
    )
    g = Xtr - x_sum / n * r_sum
    x_norm = 1.0 / np.linalg.norm(est.preconditioner_[:, 0])
    normal_residual = np.linalg.norm(g) / (x_norm * r_norm)
    coef_error = np.abs(est.coef_ - coef).max() / np.abs(coef).max()

    worker_peaks = client.run(_peak_rss_gb)
    print(
        f"memory bandwidth (one-pass read, 1 core): {bandwidth:.2f} GB/s\n"
        f"generate-and-sum pass (2 workers): {generate:.1f} s = "
        f"{gb / generate:.2f} GB/s\n"
        f"fit: {seconds:.1f} s, {n_passes} passes over X "
        f"(1 sketch + {est.n_iter_} CG + {n_passes - 1 - est.n_iter_} residual "
        f"checks) = {n_passes * gb / seconds:.2f} GB/s "
        f"({n_passes * gb / seconds / bandwidth:.2f} x the memory read, "
        f"{n_passes * gb / seconds / (gb / generate):.2f} x generate-and-sum)\n"
        f"normal-equation residual {normal_residual:.1e}, "
        f"max |coef - true| / max |true| {coef_error:.1e} (noise 0.1)\n"
        f"peak RSS: this process {_peak_rss_gb():.2f} GB; workers "
        + ", ".join(f"{v:.2f} GB" for v in worker_peaks.values())
    )
    assert max(worker_peaks.values()) < 3 and _peak_rss_gb() < 3

    if X.nbytes <= 0.5e9:
        # Small enough to gather: the peers replace the persisted refit.
        in_memory_peers(client, X, y, seed)
        return
    if X.nbytes > 2.6e9:
        return
    # The same fit on blocks held in the workers' memory (no generation):
    # what the fused passes cost when memory, not generation, is the limit.
    X, y = client.persist([X, y])
    wait([X, y])
    held, seconds, n_passes = counted_fit(X, y)
    same = np.abs(held.coef_ - est.coef_).max() / np.abs(est.coef_).max()
    worker_peaks = client.run(_peak_rss_gb)
    print(
        f"fit on the blocks persisted in the workers: {seconds:.1f} s, "
        f"{n_passes} passes = {n_passes * gb / seconds:.2f} GB/s "
        f"({n_passes * gb / seconds / bandwidth:.2f} x the one-core memory "
        f"read); relative difference to the lazy fit {same:.1e}; peak RSS of "
        f"the workers " + ", ".join(f"{v:.2f} GB" for v in worker_peaks.values())
    )


def in_memory_peers(client, X, y, seed):
    """(b) The same problem in memory: ours (dask and in memory) vs the peers."""
    import dask
    from scipy.sparse.linalg import lsqr
    from sklearn.linear_model import LinearRegression

    from sklearn_lowrank import SketchedLeastSquares

    X_mem, y_mem = dask.compute(X, y)
    dX, dy = client.persist([X, y])
    n = X_mem.shape[0]
    Xc = X_mem - X_mem.mean(axis=0)
    norm_x = np.linalg.norm(Xc, 2)
    ones = np.ones((n, 1))

    def normal_residual(fit):
        coef, intercept = fit
        r = y_mem - X_mem @ coef - intercept
        return np.linalg.norm(Xc.T @ r) / (norm_x * np.linalg.norm(r))

    def ours(XX, yy):
        est = SketchedLeastSquares(random_state=seed).fit(XX, yy)
        return est.coef_, est.intercept_

    def with_ones_column(solve):
        full = solve(np.hstack([X_mem, ones]), y_mem)
        return full[:-1], full[-1]

    def linear_regression():
        est = LinearRegression().fit(X_mem, y_mem)
        return est.coef_, est.intercept_

    compare(
        f"(b) {X_mem.shape[0]} x {X_mem.shape[1]} in memory vs on dask blocks",
        [
            Contender(
                "SketchedLeastSquares (dask blocks)",
                lambda: ours(dX, dy),
                normal_residual,
                repeat=2,
            ),
            Contender(
                "SketchedLeastSquares (in memory)",
                lambda: ours(X_mem, y_mem),
                normal_residual,
                repeat=2,
            ),
            Contender("LinearRegression", linear_regression, normal_residual, repeat=2),
            Contender(
                "numpy.linalg.lstsq",
                lambda: with_ones_column(
                    lambda A, b: np.linalg.lstsq(A, b, rcond=None)[0]
                ),
                normal_residual,
                repeat=2,
            ),
            Contender(
                "scipy lsqr (no precond., iter_lim=1000)",
                lambda: with_ones_column(
                    lambda A, b: lsqr(A, b, atol=1e-10, btol=1e-10, iter_lim=1000)[0]
                ),
                normal_residual,
                repeat=2,
            ),
        ],
        error_name="normal res.",
    )


def distributed_search(seed, n_trials, grid, cv):
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV

    from sklearn_lowrank.datasets import make_ar_classification
    from sklearn_lowrank.riemann import AugmentedCovarianceClassifier

    X, y, _ = make_ar_classification(
        n_trials, n_channels=8, n_times=500, random_state=seed
    )
    times, scores = {}, {}
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    for backend in ("loky", "dask"):
        search = GridSearchCV(AugmentedCovarianceClassifier(), grid, cv=cv, n_jobs=2)
        start = time.perf_counter()
        with parallel_config(backend=backend):
            search.fit(X, y)
        times[backend] = time.perf_counter() - start
        scores[backend] = search.cv_results_["mean_test_score"]
    same = np.allclose(scores["dask"], scores["loky"], rtol=1e-12)
    print(
        f"\n== (c) GridSearchCV(AugmentedCovarianceClassifier), {n_candidates} "
        f"candidates x {cv} folds, {X.shape}\nloky {times['loky']:.1f} s, "
        f"dask {times['dask']:.1f} s, "
        f"dask / loky = {times['dask'] / times['loky']:.2f}; "
        f"identical scores: {same}"
    )


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=float, default=None, help="rows of X (a)")
    p.add_argument("--block-rows", type=int, default=None)
    args = p.parse_args()
    n = int(args.rows or by_size(args, smoke=2e4, default=2.5e6, full=2e7))
    d = by_size(args, smoke=20, default=100, full=100)
    block_rows = args.block_rows or by_size(
        args, smoke=10_000, default=125_000, full=125_000
    )
    search = by_size(
        args,
        smoke=(40, {"order": [1, 2]}, 2),
        default=(200, {"order": [1, 2, 3, 4], "lag": [1, 2, 3]}, 5),
        full=(200, {"order": [1, 2, 3, 4], "lag": [1, 2, 3]}, 5),
    )
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            memory_limit="3GB",
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out_of_core_fit(client, n, d, block_rows, args.seed)
        distributed_search(args.seed, *search)


if __name__ == "__main__":
    main()
