"""AltMinCompleter vs fancyimpute and scikit-learn imputers.

Three tables:

1. Dense input with NaN (default 1000 x 1000, ``--full`` 2000 x 2000), rank
   10, 10% observed: ours (exact and CG solvers) against fancyimpute's
   SoftImpute and IterativeSVD and scikit-learn's KNNImputer and
   IterativeImputer, all on the same array.  Error: relative Frobenius error
   on the unobserved entries.
2. Sparse input with millions of observed entries (default 20,000 x 20,000
   with 2e6 samples, ``--full`` 50,000 x 50,000 with 5e6): ours only; the
   dense peers would need the n x n float64 array first (noted in the table).
   Error from the factors, never forming the matrix.
3. Time per sweep against |Omega| (5000 x 5000, rank 10): doubling the
   number of observed entries should roughly double the time per sweep.

fancyimpute 0.7.0 is unmaintained: its package ``__init__`` imports cvxpy and
knnimpute (stubbed here when absent: neither SoftImpute nor IterativeSVD uses
them) and it calls ``check_array(force_all_finite=...)``, removed in
scikit-learn 1.8 (shimmed here, inside the benchmark only).
"""

import importlib
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Contender, compare, parser
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.utils import check_array

from sklearn_lowrank import AltMinCompleter
from sklearn_lowrank.datasets import (
    make_completion_problem,
    make_factored_completion_problem,
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


def factor_error(left, right):
    """||U V^T - L R^T||_F / ||L R^T||_F from k x k Gram matrices."""

    def error(est):
        U, V = est.row_factors_, est.components_.T
        truth = np.sum((left.T @ left) * (right.T @ right))
        fit = np.sum((U.T @ U) * (V.T @ V))
        cross = np.sum((U.T @ left) * (V.T @ right))
        return np.sqrt(max(truth + fit - 2 * cross, 0.0) / truth)

    return error


def quiet(func):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return func()

    return run


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
            "AltMinCompleter (exact)",
            quiet(lambda: AltMinCompleter(rank, random_state=seed).fit_transform(X)),
            error,
        ),
        Contender(
            "AltMinCompleter (cg, 3 steps)",
            quiet(
                lambda: AltMinCompleter(
                    rank, solver="cg", random_state=seed
                ).fit_transform(X)
            ),
            error,
        ),
        Contender(
            "AltMinCompleter (sketch)",
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


def sparse_table(n, rank, n_observed, seed):
    X, left, right = make_factored_completion_problem(
        n, n, rank, n_observed=n_observed, random_state=seed
    )
    contenders = [
        Contender(
            f"AltMinCompleter (exact), sparse, |Omega|={X.nnz:,}",
            quiet(lambda: AltMinCompleter(rank, random_state=seed).fit(X)),
            factor_error(left, right),
        ),
        Contender(
            "AltMinCompleter (cg, 3 steps)",
            quiet(lambda: AltMinCompleter(rank, solver="cg", random_state=seed).fit(X)),
            factor_error(left, right),
        ),
    ]
    rows = compare(
        f"sparse {n:,} x {n:,}, rank {rank} (dense peers would need a "
        f"{n * n * 8 / 2**30:.1f} GiB float64 array before starting)",
        contenders,
        error_name="rel. err (full matrix)",
    )
    return rows


def sweep_scaling(n, rank, observed_counts, seed, repeats=5):
    """Time of one sweep (both half-steps) against |Omega|, best of repeats.

    Times the solver functions directly on a fixed orthonormal basis, so the
    initialization and the convergence test are left out, and takes the best
    of ``repeats`` runs, the least disturbed by other processes.
    """
    from sklearn_lowrank.completion import _one_blas_thread, _solve_cg, _solve_exact

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
        solvers = {
            "exact": lambda obs, basis: _solve_exact(obs, basis, 0.0),
            "cg": lambda obs, basis: _solve_cg(
                obs, basis, 0.0, np.zeros((obs.shape[0], rank)), 3
            ),
        }
        for name, solve in solvers.items():
            best = np.inf
            for _ in range(repeats):
                with _one_blas_thread():
                    start = time.perf_counter()
                    solve(X_t, U_hat)
                    solve(X, V_hat)
                    best = min(best, time.perf_counter() - start)
            ratio = best / previous[name] if name in previous else np.nan
            previous[name] = best
            print(f"{X.nnz:>10,}  {name:>6}  {best:>8.3f}  {ratio:>17.2f}")


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--only",
        choices=["dense", "sparse", "scaling"],
        help="run one of the three tables",
    )
    p.add_argument(
        "--skip-iterative-imputer",
        action="store_true",
        help="leave out IterativeImputer (over 10 minutes at 1000 x 1000)",
    )
    args = p.parse_args()
    warm_up()
    run = {args.only} if args.only else {"dense", "sparse", "scaling"}
    full = args.full
    if "dense" in run:
        dense_table(
            2000 if full else 1000,
            10,
            0.10,
            args.seed,
            iterative_imputer=not args.skip_iterative_imputer,
        )
    if "sparse" in run:
        n, n_observed = (50_000, 5_000_000) if full else (20_000, 2_000_000)
        sparse_table(n, 10, n_observed, args.seed)
    if "scaling" in run:
        counts = [250_000, 500_000, 1_000_000] + ([2_000_000] if full else [])
        sweep_scaling(5000, 10, counts, args.seed)


if __name__ == "__main__":
    main()
