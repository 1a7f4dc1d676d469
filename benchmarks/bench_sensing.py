"""MatrixSensingRegressor vs nuclear-norm minimization, and our solvers side by side.

Problem: Gaussian matrix sensing of an n x n rank-r matrix (Frobenius norm 1)
from m = 6 n r measurements, fitted with k = 2r (over-parameterized), once
well conditioned and once with condition number 100.  Every contender is
asked for a relative Frobenius error of 1e-6; the table reports the time it
took and the error it reached (a contender that stops short shows it in the
error column).

Contenders:

- ours: ``solver="scaled_gd"`` (default), ``"gd_one_step"``, ``"gd"``;
- nuclear-norm minimization with cvxpy (``min ||M||_* s.t. A(M) = y``,
  Clarabel interior point), if cvxpy is installed (``pip install cvxpy``),
  only up to n = 50 by default (its canonicalization of the dense m x n^2
  constraint takes minutes and GBs beyond that);
- the same convex problem by accelerated proximal gradient with singular
  value thresholding and continuation on the regularization (the solver a
  user writes without cvxpy; Toh & Yun 2010 style), written here.

    python benchmarks/bench_sensing.py --smoke   # n = 10, r = 2 (< 1 min)
    python benchmarks/bench_sensing.py           # n = 50, r = 3
    python benchmarks/bench_sensing.py --full    # also n = 100, r = 5
"""

import time
import warnings

import numpy as np
from _harness import Contender, by_size, compare, parser
from sklearn.exceptions import ConvergenceWarning

from sklearn_lowrank import MatrixSensingRegressor
from sklearn_lowrank._metrics import relative_error
from sklearn_lowrank.datasets import make_matrix_sensing

TARGET = 1e-6


def ours(X, y, n, k, solver, **params):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = MatrixSensingRegressor(
                shape=(n, n), rank=k, solver=solver, random_state=0, **params
            )
            return est.fit(X, y).matrix_

    return run


def svt_apg(X, y, n, max_iter=3000, tol=1e-8):
    """Nuclear-norm regularized least squares by FISTA with continuation."""

    def run():
        m = X.shape[0]
        # Lipschitz constant of the smooth part: ||X||_2^2 / m (power method).
        v = np.random.RandomState(0).standard_normal(n * n)
        for _ in range(30):
            v = X.T @ (X @ v)
            lip = np.linalg.norm(v)
            v /= lip
        lip /= m
        grad0 = (X.T @ y / m).reshape(n, n)
        lam = 0.5 * np.linalg.norm(grad0, 2)
        lam_min = 1e-10 * lam
        M = np.zeros((n, n))
        Z, t = M, 1.0
        y_norm = np.linalg.norm(y)
        for _ in range(max_iter):
            grad = (X.T @ (X @ Z.ravel() - y) / m).reshape(n, n)
            U, s, Vt = np.linalg.svd(Z - grad / lip, full_matrices=False)
            s = np.maximum(s - lam / lip, 0.0)
            M_new = (U * s) @ Vt
            t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
            Z = M_new + (t - 1) / t_new * (M_new - M)
            M, t = M_new, t_new
            lam = max(0.9 * lam, lam_min)
            if np.linalg.norm(X @ M.ravel() - y) <= tol * y_norm:
                break
        return M

    return run


def cvxpy_nuclear(X, y, n):
    def run():
        import cvxpy as cp

        Mv = cp.Variable((n, n))
        problem = cp.Problem(
            cp.Minimize(cp.normNuc(Mv)), [X @ cp.vec(Mv, order="C") == y]
        )
        problem.solve(solver=cp.CLARABEL)
        return Mv.value

    return run


def case(n, r, condition_number, seed, with_cvxpy):
    k = 2 * r
    m = 6 * n * r
    X, y, M = make_matrix_sensing(
        m, (n, n), r, condition_number=condition_number, random_state=seed
    )
    err = lambda M_hat: relative_error(M_hat, M)  # noqa: E731
    contenders = [
        Contender(
            "ours scaled_gd (default)",
            ours(X, y, n, k, "scaled_gd", tol=1e-8, max_iter=3000),
            err,
            track_memory=False,
        ),
        Contender(
            "ours gd_one_step",
            ours(X, y, n, k, "gd_one_step", tol=1e-8, max_iter=3000),
            err,
            track_memory=False,
        ),
        Contender(
            "ours gd (alpha=0.5)",
            ours(X, y, n, k, "gd", init_scale=0.5, tol=1e-8, max_iter=3000),
            err,
            track_memory=False,
        ),
        Contender("nuclear norm, APG + SVT", svt_apg(X, y, n), err, track_memory=False),
    ]
    if with_cvxpy:
        contenders.append(
            Contender(
                "nuclear norm, cvxpy (Clarabel)",
                cvxpy_nuclear(X, y, n),
                err,
                requires="cvxpy",
                track_memory=False,
            )
        )
    start = time.perf_counter()
    rows = compare(
        f"sensing n={n}, r={r}, k={k}, m={m}, condition number {condition_number}",
        contenders,
        error_name="rel. error",
    )
    print(f"(case total {time.perf_counter() - start:.1f} s)")
    return rows


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--cvxpy-max-n",
        type=int,
        default=50,
        help="largest n for which cvxpy runs (default 50)",
    )
    args = p.parse_args()
    sizes = by_size(args, smoke=[(10, 2)], default=[(50, 3)], full=[(50, 3), (100, 5)])
    for n, r in sizes:
        for kappa in (1, 100):
            rows = case(n, r, kappa, args.seed, with_cvxpy=n <= args.cvxpy_max_n)
            ours_rows = [row for row in rows[:3] if "seconds" in row]
            fastest = min(
                (row for row in ours_rows if row["error"] <= TARGET),
                key=lambda row: row["seconds"],
                default=None,
            )
            name = fastest["name"] if fastest else "none"
            print(f"fastest of ours to {TARGET:g}: {name}")


if __name__ == "__main__":
    main()
