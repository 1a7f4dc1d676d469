"""AltMinCompleter vs fancyimpute, scikit-learn imputers and cmfrec.

Tables (sizes: ``--smoke`` / default / ``--full``):

1. Dense input with NaN, rank 10 (3 for ``--smoke``), 10% observed (30% for
   ``--smoke``): ours (exact, CG and sketch solvers) against fancyimpute's
   SoftImpute and IterativeSVD and scikit-learn's KNNImputer and
   IterativeImputer, all on the same array.  Error: relative Frobenius error
   on the unobserved entries.
2. Ratings-shaped sparse input (:func:`~sklearn_lowrank.datasets.make_ratings_matrix`:
   Zipf-like column popularity, log-normal row activity, exactly low rank):
   ours against cmfrec's explicit-feedback ALS (``CMF(method="als")``, the
   sparse-input peer) when installed; the dense peers would need the whole
   float64 array first (noted in the title).  Error: relative error on
   held-out entries drawn like the observed ones.  ``--full`` runs the
   Netflix shape, 480,189 x 17,770 with 10**8 entries, at rank 10 and rank
   50 (``--ranks``), and prints the time of every sweep, the number of
   sweeps and the peak resident memory of the process (input included).
3. Time per sweep against |Omega| (default and ``--full`` only): doubling
   the number of observed entries should roughly double the time per sweep.

fancyimpute 0.7.0 is unmaintained: its package ``__init__`` imports cvxpy and
knnimpute (stubbed here when absent: neither SoftImpute nor IterativeSVD uses
them) and it calls ``check_array(force_all_finite=...)``, removed in
scikit-learn 1.8 (shimmed here, inside the benchmark only).

Timing runs: ``flock /tmp/bench.lock python benchmarks/bench_completion.py --full``.
"""

import importlib
import resource
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Contender, compare, measure, parser, print_table
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.utils import check_array

from sklearn_lowrank import AltMinCompleter
from sklearn_lowrank._threads import blas_workers
from sklearn_lowrank.completion._solvers import solve_rows
from sklearn_lowrank.datasets import (
    make_completion_problem,
    make_factored_completion_problem,
    make_ratings_matrix,
)


def load_fancyimpute():
    """Import fancyimpute's SoftImpute and IterativeSVD on modern scikit-learn."""
    for name in ("cvxpy", "knnimpute"):
        try:
            importlib.import_module(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.knn_impute_few_observed = stub.knn_impute_with_argpartition = None
            sys.modules[name] = stub
    try:
        import fancyimpute.iterative_svd
        import fancyimpute.soft_impute
        import fancyimpute.solver
    except ImportError:
        return None

    def check_array_shim(*args, force_all_finite=None, **kwargs):
        if force_all_finite is not None:
            kwargs["ensure_all_finite"] = force_all_finite
        return check_array(*args, **kwargs)

    for module in (
        fancyimpute.solver,
        fancyimpute.soft_impute,
        fancyimpute.iterative_svd,
    ):
        module.check_array = check_array_shim
    return fancyimpute


def unobserved_error(M, mask):
    def error(X_filled):
        return np.linalg.norm((X_filled - M)[~mask]) / np.linalg.norm(M[~mask])

    return error


def held_out_error(X_test):
    """Relative error at the held-out entries; ``predict(rows, cols)``."""
    coo = X_test.tocoo()
    rows, cols = coo.row, coo.col
    truth = coo.data.astype(np.float64)

    def error(predict):
        return np.linalg.norm(predict(rows, cols) - truth) / np.linalg.norm(truth)

    return error


def quiet(func):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return func()

    return run


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def warm_up():
    """One tiny fit first, so that no contender pays the one-off start-up
    (threadpoolctl's library scan, lazy imports) inside its timing."""
    X, _, _ = make_completion_problem(30, 20, 2, observed_fraction=0.5)
    quiet(lambda: AltMinCompleter(2, max_iter=2).fit(X))()


def dense_table(n, rank, fraction, seed, iterative_imputer=True):
    X, M, mask = make_completion_problem(
        n, n, rank, observed_fraction=fraction, random_state=seed
    )
    error = unobserved_error(M, mask)
    fancy = load_fancyimpute()
    contenders = [
        Contender(
            f"AltMinCompleter({rank}) exact",
            quiet(lambda: AltMinCompleter(rank, random_state=seed).fit_transform(X)),
            error,
        ),
        Contender(
            f"AltMinCompleter({rank}) cg, 3 steps",
            quiet(
                lambda: AltMinCompleter(
                    rank, solver="cg", random_state=seed
                ).fit_transform(X)
            ),
            error,
        ),
        Contender(
            f"AltMinCompleter({rank}) sketch",
            quiet(
                lambda: AltMinCompleter(
                    rank, solver="sketch", random_state=seed
                ).fit_transform(X)
            ),
            error,
        ),
    ]
    if fancy is not None:
        contenders += [
            Contender(
                f"fancyimpute SoftImpute(max_rank={rank})",
                lambda: fancy.SoftImpute(max_rank=rank, verbose=False).fit_transform(X),
                error,
                track_memory=False,
            ),
            Contender(
                f"fancyimpute IterativeSVD(rank={rank})",
                lambda: fancy.IterativeSVD(rank=rank, verbose=False).fit_transform(X),
                error,
                track_memory=False,
            ),
        ]
    else:
        contenders.append(Contender("fancyimpute", None, error, requires="fancyimpute"))
    contenders.append(
        Contender("sklearn KNNImputer", lambda: KNNImputer().fit_transform(X), error)
    )
    if iterative_imputer:
        contenders.append(
            Contender(
                "sklearn IterativeImputer(n_nearest_features=50, max_iter=5)",
                quiet(
                    lambda: IterativeImputer(
                        n_nearest_features=50, max_iter=5, random_state=seed
                    ).fit_transform(X)
                ),
                error,
                track_memory=False,
            )
        )
    compare(
        f"dense {n} x {n}, rank {rank}, {fraction:.0%} observed "
        f"(|Omega| = {int(mask.sum()):,})",
        contenders,
        error_name="rel. err (unobserved)",
    )


def _cmfrec_contender(X, rank, seed, error, n_iter):
    """cmfrec's explicit ALS (exact Cholesky solves), no biases, tiny ridge."""

    def run():
        import cmfrec

        coo = X.tocoo()
        model = cmfrec.CMF(
            k=rank,
            method="als",
            lambda_=1e-9,
            user_bias=False,
            item_bias=False,
            center=False,
            niter=n_iter,
            use_cg=False,
            nthreads=2,
            random_state=seed,
            verbose=False,
        )
        model.fit(coo)
        return lambda rows, cols: model.predict(rows, cols)

    return Contender(
        f"cmfrec CMF(k={rank}, als, niter={n_iter})",
        run,
        error,
        requires="cmfrec",
        track_memory=False,
    )


def ratings_table(n_rows, n_cols, rank, n_observed, seed, *, peers=True, verbose=0):
    """Ratings-shaped sparse case: ours (and cmfrec), held-out error."""
    start = time.perf_counter()
    X, X_test, _, _ = make_ratings_matrix(
        n_rows, n_cols, rank, n_observed=n_observed, random_state=seed
    )
    input_gb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**30
    print(
        f"\n[data] {n_rows:,} x {n_cols:,}, {X.nnz:,} observed ({input_gb:.2f} GiB "
        f"as CSR), {X_test.nnz:,} held out; generated in "
        f"{time.perf_counter() - start:.0f} s; peak RSS so far {peak_rss_gb():.2f} GiB"
    )
    error = held_out_error(X_test)
    fitted = {}

    def ours():
        est = AltMinCompleter(rank, random_state=seed, verbose=verbose)
        start = time.perf_counter()
        est.fit(X)
        fitted["seconds"] = time.perf_counter() - start
        fitted["est"] = est
        return est.predict_entries

    contenders = [Contender(f"AltMinCompleter({rank}) exact", quiet(ours), error)]
    if peers:
        # As many ALS sweeps as ours needed (cmfrec has no stopping rule).
        contenders.append(_cmfrec_contender(X, rank, seed, error, n_iter=15))
    title = (
        f"ratings-shaped sparse {n_rows:,} x {n_cols:,}, rank {rank}, "
        f"|Omega| = {X.nnz:,} (a dense peer would need a "
        f"{n_rows * n_cols * 8 / 2**30:.0f} GiB float64 array first)"
    )
    # Our fit runs first: the process's peak RSS after it is ours + input.
    rows = [measure(contenders[0])]
    est = fitted.get("est")
    if est is not None:
        print(
            f"[AltMinCompleter] {est.n_iter_} sweeps, "
            f"{fitted['seconds'] / est.n_iter_:.1f} s per sweep (fit time / "
            f"sweeps, spectral start included), fit {fitted['seconds']:.1f} s, "
            f"held-out error {error(est.predict_entries):.3g}, peak RSS of the "
            f"process {peak_rss_gb():.2f} GiB (input included)"
        )
    rows += [measure(c) for c in contenders[1:]]
    for row in rows:
        if "seconds" in row and "seconds" in rows[0]:
            row["time_ratio"] = row["seconds"] / rows[0]["seconds"]
            row["error_ratio"] = row["error"] / max(rows[0]["error"], 1e-300)
    print_table(title, rows, "rel. err (held out)")
    return rows


def sweep_scaling(n, rank, observed_counts, seed, repeats=3):
    """Time of one sweep (both half-steps) against |Omega|, best of repeats.

    Times the blocked solver directly on a fixed orthonormal basis, so the
    initialization and the convergence test are left out.
    """
    print(f"\n== time per sweep vs |Omega| ({n} x {n}, rank {rank}, best of {repeats})")
    print(f"{'|Omega|':>10}  {'solver':>6}  {'s/sweep':>8}  {'ratio to previous':>17}")
    rng = np.random.RandomState(seed)
    U_hat = np.linalg.qr(rng.standard_normal((n, rank)))[0]
    V_hat = np.linalg.qr(rng.standard_normal((n, rank)))[0]
    previous = {}
    for n_observed in observed_counts:
        X, _, _ = make_factored_completion_problem(
            n, n, rank, n_observed=n_observed, random_state=seed
        )
        X_t = X.T.tocsr()
        for method in ("exact", "cg", "sketch"):
            best = np.inf
            for _ in range(repeats):
                with blas_workers() as workers:
                    start = time.perf_counter()
                    for mat, basis in ((X_t, U_hat), (X, V_hat)):
                        solve_rows(
                            mat,
                            basis,
                            ridge=0.0,
                            workers=workers,
                            method=method,
                            random_state=rng,
                        )
                    best = min(best, time.perf_counter() - start)
            ratio = best / previous[method] if method in previous else np.nan
            previous[method] = best
            print(f"{X.nnz:>10,}  {method:>6}  {best:>8.3f}  {ratio:>17.2f}")


def main():
    p = parser(__doc__.splitlines()[0])
    if "--smoke" not in p._option_string_actions:
        p.add_argument(
            "--smoke",
            action="store_true",
            help="every contender on tiny sizes (under a minute)",
        )
    p.add_argument(
        "--only",
        choices=["dense", "ratings", "scaling"],
        help="run one of the three tables",
    )
    p.add_argument(
        "--ranks",
        type=int,
        nargs="+",
        default=[10, 50],
        help="ranks of the Netflix-shaped case (--full)",
    )
    p.add_argument(
        "--skip-iterative-imputer",
        action="store_true",
        help="leave out IterativeImputer (minutes at 1000 x 1000)",
    )
    args = p.parse_args()
    warm_up()
    run = {args.only} if args.only else {"dense", "ratings", "scaling"}
    seed = args.seed
    if args.smoke:
        if "dense" in run:
            dense_table(60, 3, 0.3, seed)
        if "ratings" in run:
            ratings_table(3000, 400, 5, 90_000, seed)
        return
    if "dense" in run:
        dense_table(
            2000 if args.full else 1000,
            10,
            0.10,
            seed,
            iterative_imputer=not args.skip_iterative_imputer,
        )
    if "ratings" in run:
        if args.full:
            for rank in args.ranks:
                ratings_table(480_189, 17_770, rank, 101_000_000, seed, verbose=1)
        else:
            ratings_table(48_019, 17_770, 10, 10_000_000, seed, verbose=1)
    if "scaling" in run:
        counts = [250_000, 500_000, 1_000_000] + ([2_000_000] if args.full else [])
        sweep_scaling(5000, 10, counts, seed)


if __name__ == "__main__":
    main()
