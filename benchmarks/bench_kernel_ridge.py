"""NystromKRR vs exact KernelRidge and Nystroem + Ridge (one run, same data).

Three cases:

1. *Exact reference* (friedman1, smooth, uniform density): test RMSE and time
   of NystromKRR (INK-ESTIMATE and uniform landmarks) and sklearn's
   ``Nystroem`` + ``Ridge`` at the same budget m, for several m, next to
   exact ``KernelRidge`` (n <= 2e4).
2. *Coherent data* (1% of the points in two small distant clusters, from
   ``make_clustered_regression``): RMSE on the rare clusters and overall, at
   the same m; the evidence asked for before accepting non-uniform landmarks.
3. *Scale*: NystromKRR with row-block streaming of K_nm (memory O(n d + m^2))
   at large n; ``Nystroem`` + ``Ridge`` needs the dense n x m feature matrix
   (8 n m bytes, plus Ridge's copies) and is only run where that fits.

FALKON (FalkonML/falkon) is not on PyPI (git install, torch + KeOps), so it is
not a contender here.  Errors are test RMSE against the noise-free function
(lower is better).

    python benchmarks/bench_kernel_ridge.py            # minutes
    python benchmarks/bench_kernel_ridge.py --full     # n up to 1e6, m = 2000
"""

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import make_friedman1
from sklearn.kernel_approximation import Nystroem
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Contender, compare, parser

from sklearn_lowrank import NystromKRR
from sklearn_lowrank.datasets import make_clustered_regression

# Memory a contender may use on the shared machine (bytes): ~3 GB a process.
MEMORY_CAP = 3 * 2**30


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


def _contenders(
    X, y, X_test, f_test, m, alpha, gamma, seed, *, exact=False, uniform=True
):
    def ours(sampling):
        def run():
            model = NystromKRR(
                m, alpha=alpha, gamma=gamma, sampling=sampling, random_state=seed
            )
            return model.fit(X, y).predict(X_test)

        return run

    def nystroem_ridge():
        pipe = make_pipeline(
            Nystroem(kernel="rbf", gamma=gamma, n_components=m, random_state=seed),
            Ridge(alpha=alpha, fit_intercept=False),
        )
        return pipe.fit(X, y).predict(X_test)

    def kernel_ridge():
        model = KernelRidge(alpha=alpha, kernel="rbf", gamma=gamma)
        return model.fit(X, y).predict(X_test)

    def error(pred):
        return _rmse(pred, f_test)

    rows = [Contender(f"NystromKRR ink m={m}", ours("ink_estimate"), error)]
    if uniform:
        rows.append(Contender(f"NystromKRR uniform m={m}", ours("uniform"), error))
    feature_bytes = 8 * X.shape[0] * m * 3  # features + Ridge's copies
    if feature_bytes < MEMORY_CAP:
        rows.append(Contender(f"Nystroem+Ridge m={m}", nystroem_ridge, error))
    if exact and 8 * X.shape[0] ** 2 * 2 < MEMORY_CAP:
        rows.append(Contender("KernelRidge (exact)", kernel_ridge, error))
    rows.append(
        Contender("FALKON", lambda: None, error, requires="falkon", track_memory=False)
    )
    return rows


def exact_reference(n_train, budgets, seed):
    X, y, X_test, f_test = _friedman(n_train, 2000, seed)
    for i, m in enumerate(budgets):
        compare(
            f"friedman1 n={n_train}, d=5, rbf gamma=1, alpha=1e-2: m={m}",
            _contenders(X, y, X_test, f_test, m, 1e-2, 1.0, seed, exact=i == 0),
            error_name="test RMSE",
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


def equal_rmse(n_train, m, seed):
    """Coherent data at larger n: how many uniform landmarks match INK's RMSE?"""
    X, y, f, cluster = make_clustered_regression(
        n_train + 5000, 3, n_rare_clusters=2, rare_fraction=0.01, random_state=seed
    )
    tr, te = slice(0, n_train), slice(n_train, None)

    def error(pred):
        return _rmse(pred, f[te])

    def ours():
        model = NystromKRR(m, alpha=1e-2, gamma=0.5, random_state=seed)
        return model.fit(X[tr], y[tr]).predict(X[te])

    def peer(k):
        def run():
            pipe = make_pipeline(
                Nystroem(gamma=0.5, n_components=k, random_state=seed),
                Ridge(alpha=1e-2, fit_intercept=False),
            )
            return pipe.fit(X[tr], y[tr]).predict(X[te])

        return run

    compare(
        f"coherent data n={n_train}: INK m={m} vs Nystroem+Ridge at m, 2m, 4m",
        [Contender(f"NystromKRR ink m={m}", ours, error)]
        + [
            Contender(f"Nystroem+Ridge m={k}", peer(k), error)
            for k in (m, 2 * m, 4 * m)
        ],
        error_name="test RMSE",
    )


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
    args = p.parse_args()
    seeds = range(args.seed, args.seed + 5)
    if args.full:
        cases = {
            "exact": lambda: exact_reference(20000, [250, 500, 1000, 2000], args.seed),
            "coherent": lambda: coherent(20000, [100, 200, 400], seeds),
            "equal": lambda: equal_rmse(200_000, 200, args.seed),
            "scale": lambda: scale([(200_000, 1000), (1_000_000, 2000)], args.seed),
        }
    else:
        cases = {
            "exact": lambda: exact_reference(5000, [100, 200, 400], args.seed),
            "coherent": lambda: coherent(5000, [50, 100, 200], seeds),
            "equal": lambda: equal_rmse(50_000, 200, args.seed),
            "scale": lambda: scale([(100_000, 500)], args.seed),
        }
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        for name, run in cases.items():
            if args.case in ("all", name):
                run()


if __name__ == "__main__":
    main()
