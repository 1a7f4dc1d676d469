"""SketchedLeastSquares against the solvers a user would otherwise pick.

Two tables per problem, all contenders on the same arrays in one run:

1. *Exact* least squares, error = relative normal-equation residual
   ``||A^T (b - A x)|| / (||A||_2 ||b - A x||)`` (LAPACK-level accuracy is
   ~1e-15; the target is <= 1e-10): ours in precondition mode,
   ``LinearRegression``, ``numpy.linalg.lstsq`` and unpreconditioned
   ``scipy.sparse.linalg.lsqr``.
2. *Sketch-and-solve* at ``m = 4 d``, error = excess residual
   ``||A x - b||^2 / OPT^2 - 1`` (Gaussian theory: ``d / (m - d - 1)``),
   against ``LinearRegression`` (excess 0).

Problems: dense Gaussian with heavy-leverage rows and cond(A) = 1e8
(``make_leverage_regression``) and a sparse one (``make_sparse_regression``).
All fits are without intercept, so that every contender solves the same
problem.

A third report checks ``coef_error_bound_`` of sketch-and-solve: over
several seeds, the fraction of fits where every ``|coef_j - coef*_j|`` is
within the bound (proven confidence ``1 - delta`` for the Gaussian sketch,
measured for the others) and the median of ``max_j |error_j| / bound_j``.

``--smoke``: every contender on 4000 x 20 problems, seconds.  Default:
2e5 x 100 and 1e5 x 300 dense, 2e5 x 200 sparse, a few minutes, peak
under 2 GB.  ``--full``: n = 2e6, d = 100, n = 1e6, d = 500 and sparse
n = 1e6 (peak about 11.5 GB: check ``free -g`` first; A alone is 1.6 GB
and 4 GB, and the LAPACK-based peers copy it).
"""

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr, svds
from sklearn.linear_model import LinearRegression

# Run as a script from anywhere: the repository root holds both packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._harness import Contender, by_size, compare, parse_args
from sklearn_lowrank import SketchedLeastSquares
from sklearn_lowrank.datasets import (
    make_leverage_regression,
    make_sparse_regression,
)


def _spectral_norm(A):
    if sp.issparse(A):
        return svds(A, k=1, return_singular_vectors=False, random_state=0)[0]
    # ||A||_2 = sqrt(||A^T A||_2); the Gram matrix is d x d.
    return np.sqrt(np.linalg.norm(A.T @ A, 2))


def run_problem(title, A, b, *, skip_lapack=False, lsqr_iter=1000, repeat=1):
    d = A.shape[1]
    norm_a = _spectral_norm(A)

    def normal_residual(coef):
        r = b - A @ coef
        return np.linalg.norm(A.T @ r) / (norm_a * np.linalg.norm(r))

    exact = [
        Contender(
            "SketchedLeastSquares(precondition)",
            lambda: (
                SketchedLeastSquares(fit_intercept=False, random_state=0)
                .fit(A, b)
                .coef_
            ),
            normal_residual,
            repeat=repeat,
        )
    ]

    def linear_regression(error):
        return Contender(
            "LinearRegression",
            lambda: LinearRegression(fit_intercept=False).fit(A, b).coef_,
            error,
            repeat=repeat,
        )

    if not skip_lapack:
        exact.append(linear_regression(normal_residual))
        if not sp.issparse(A):
            exact.append(
                Contender(
                    "numpy.linalg.lstsq",
                    lambda: np.linalg.lstsq(A, b, rcond=None)[0],
                    normal_residual,
                    repeat=repeat,
                )
            )
    exact.append(
        Contender(
            f"scipy lsqr (no precond., iter_lim={lsqr_iter})",
            lambda: lsqr(A, b, atol=1e-10, btol=1e-10, iter_lim=lsqr_iter)[0],
            normal_residual,
            repeat=repeat,
        )
    )
    rows = compare(f"{title}: exact least squares", exact, error_name="normal res.")

    # Reference optimum for the excess residual: ours, verified above.
    coef_star = SketchedLeastSquares(fit_intercept=False, random_state=1).fit(A, b)
    opt2 = np.linalg.norm(b - A @ coef_star.coef_) ** 2

    def excess(coef):
        return np.linalg.norm(b - A @ coef) ** 2 / opt2 - 1

    m = 4 * d
    sas = []
    sketches = ["srtt", "countsketch", "sparse_sign", "gaussian"]
    if sp.issparse(A):
        sketches = ["sparse_sign", "countsketch", "srtt"]
    for sketch in sketches:
        sas.append(
            Contender(
                f"sketch_and_solve {sketch} m=4d",
                lambda sketch=sketch: (
                    SketchedLeastSquares(
                        mode="sketch_and_solve",
                        sketch=sketch,
                        sketch_size=m,
                        fit_intercept=False,
                        random_state=0,
                    )
                    .fit(A, b)
                    .coef_
                ),
                excess,
                repeat=repeat,
            )
        )
    if not skip_lapack:
        sas.append(linear_regression(excess))
    print(f"(Gaussian theory for the excess at m=4d: {d / (m - d - 1):.3f})")
    rows += compare(f"{title}: sketch-and-solve", sas, error_name="excess res.")
    return rows


def error_bound_report(title, A, b, *, n_seeds, delta=0.05):
    """Coverage of ``coef_error_bound_`` over seeds, per sketch, at m = 4 d."""
    d = A.shape[1]
    # LAPACK's answer as the reference: its forward error (~eps cond^2 OPT)
    # is orders of magnitude below the sketch's (~cond OPT / sqrt(m)).
    coef_star = np.linalg.lstsq(A, b, rcond=None)[0]
    sketches = ["gaussian", "srtt", "countsketch", "sparse_sign"]
    if sp.issparse(A):
        sketches.remove("srtt")
    print(f"\n== {title}: coef_error_bound_ at m=4d, delta={delta}, {n_seeds} seeds")
    print("sketch        covered  median max|err|/bound  proven")
    for sketch in sketches:
        covered, ratios = 0, []
        for seed in range(n_seeds):
            est = SketchedLeastSquares(
                mode="sketch_and_solve",
                sketch=sketch,
                sketch_size=4 * d,
                delta=delta,
                fit_intercept=False,
                random_state=seed,
            ).fit(A, b)
            ratio = np.max(np.abs(est.coef_ - coef_star) / est.coef_error_bound_)
            covered += ratio <= 1
            ratios.append(ratio)
        print(
            f"{sketch:<13} {covered:>3}/{n_seeds:<4} {np.median(ratios):>10.3f}"
            f"             {'yes' if sketch == 'gaussian' else 'no (measured)'}"
        )


def main():
    args = parse_args(__doc__.splitlines()[0])
    # The sizes in --full: 1e6 x 500 is a 4 GB A; with the LAPACK
    # peers' copies the process peaks at ~11.5 GB RSS.
    dense_sizes = by_size(
        args,
        smoke=[(4_000, 20, False)],
        default=[(200_000, 100, False), (100_000, 300, False)],
        full=[(2_000_000, 100, False), (1_000_000, 500, False)],
    )
    sparse_size = by_size(
        args,
        smoke=(4_000, 20, 0.1),
        default=(200_000, 200, 0.02),
        full=(1_000_000, 200, 0.02),
    )
    n_seeds = by_size(args, smoke=10, default=20, full=10)
    # Best of a few runs at small sizes, where one-off start-up costs (first
    # BLAS calls, thread pools) would otherwise decide the ratios.
    repeat = by_size(args, smoke=3, default=2, full=1)
    for i, (n, d, skip_lapack) in enumerate(dense_sizes):
        A, b, _ = make_leverage_regression(
            n, d, condition_number=1e8, n_heavy_rows=10, random_state=args.seed
        )
        note = " (LAPACK peers skipped: they copy A)" if skip_lapack else ""
        run_problem(
            f"dense {n}x{d}, cond=1e8, 10 heavy rows{note}",
            A,
            b,
            skip_lapack=skip_lapack,
            lsqr_iter=200 if args.full else 300,
            repeat=repeat,
        )
        if i == 0:
            error_bound_report(f"dense {n}x{d}", A, b, n_seeds=n_seeds)
        del A, b
    n, d, density = sparse_size
    A, b, _ = make_sparse_regression(
        n, d, density=density, condition_number=1e4, random_state=args.seed
    )
    run_problem(f"sparse {n}x{d}, density={density}, cond~1e4", A, b, repeat=repeat)


if __name__ == "__main__":
    main()
