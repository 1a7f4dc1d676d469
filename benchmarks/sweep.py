"""Size sweeps for the docs' benchmarks page: every family, ours and its peers.

For each estimator family this runs the comparison of its
``bench_<family>.py`` (the same contenders and error measures, imported
from the script) at three growing sizes, one process, and appends every row
to ``docs/benchmarks/results.csv`` with the family and the size.  The docs
draw time against size and error against time from that file
(``plot_sweep.py``) and print the table of the largest size; the docs build
itself runs no benchmark.

    flock /tmp/bench.lock python benchmarks/sweep.py              # all, ~10 min
    flock /tmp/bench.lock python benchmarks/sweep.py --family boolean
    python benchmarks/sweep.py --smoke --out /tmp/sweep.csv       # tiny, checks it runs

Re-run it after a change that moves a family's numbers, and commit the CSV.
"""

import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import _harness
from _harness import compare, csv_context, parser
from sklearn.exceptions import ConvergenceWarning

# Some scripts import the harness as ``benchmarks._harness``: make that the
# same module object, so the rows they compare reach the CSV.
sys.modules.setdefault("benchmarks._harness", _harness)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "benchmarks" / "results.csv"


def sweep_sensing(sizes, seed):
    import bench_sensing

    for n in sizes:
        yield n, lambda n=n: bench_sensing.case(n, 3, 1, seed, with_cvxpy=n <= 30)


def sweep_completion(sizes, seed):
    import bench_completion

    bench_completion.warm_up()
    for n in sizes:
        yield (
            n,
            lambda n=n: bench_completion.dense_table(
                n, 10, 0.15, seed, iterative_imputer=False
            ),
        )


def sweep_least_squares(sizes, seed):
    import bench_least_squares

    from sklearn_lowrank.datasets import make_leverage_regression

    for n in sizes:

        def run(n=n):
            A, b, _ = make_leverage_regression(
                n, 100, condition_number=1e8, n_heavy_rows=10, random_state=seed
            )
            bench_least_squares.run_problem(
                f"dense {n}x100, cond=1e8, 10 heavy rows", A, b, lsqr_iter=300
            )

        yield n, run


def sweep_kernel_ridge(sizes, seed, m=200):
    import bench_kernel_ridge

    for n in sizes:
        # NystromKRR and Nystroem + Ridge at the same budget m (names carry
        # m, fixed here, so each is one line across sizes), and exact
        # KernelRidge while its n x n kernel fits the script's memory cap.
        yield n, lambda n=n: bench_kernel_ridge.exact_reference(n, [m], seed)


def sweep_ebmf(sizes, seed):
    import bench_ebmf

    from sklearn_lowrank.datasets import make_sparse_factors

    for n in sizes:

        def run(n=n):
            X, signal, Z, _, _ = make_sparse_factors(
                n, n // 2, 5, density=0.3, noise=1.0, random_state=seed
            )
            compare(
                f"sparse factors, {n} x {n // 2}, rank 5, density 0.3, noise sd 1",
                bench_ebmf.contenders(X, signal, Z, 5, seed, k_max=8),
                error_name="RMSE",
            )

        yield n, run


def sweep_boolean(sizes, seed):
    import bench_boolean

    from sklearn_lowrank.datasets import make_boolean_tiles

    for n in sizes:

        def run(n=n):
            X, U, V = make_boolean_tiles(
                n,
                3 * n // 4,
                5,
                row_fraction=0.1,
                col_fraction=0.1,
                noise=0.05,
                random_state=seed,
            )
            bench_boolean.run_case(
                f"{n} x {3 * n // 4}, 5 tiles, 5% noise",
                X,
                5,
                truth=(U, V),
                slow_peers=False,
            )

        yield n, run


def sweep_riemann(sizes, seed, order=3, lag=3):
    import bench_riemann

    from sklearn_lowrank.datasets import make_ar_classification

    for n in sizes:

        def run(n=n):
            X, y, _ = make_ar_classification(
                n, 8, 500, difference="dynamics", random_state=seed
            )
            n_train = int(0.7 * n)
            bench_riemann.compare_on(
                f"generated, dynamics-only difference: {n} trials x 8 ch x 500 "
                f"samples, order={order} lag={lag}",
                X[:n_train],
                y[:n_train],
                X[n_train:],
                y[n_train:],
                repeats=0,
                cv=5,
                order=order,
                lag=lag,
            )

        yield n, run


FAMILIES = {
    # family: (sweep, default sizes, smoke sizes, what "size" is)
    "sensing": (sweep_sensing, [20, 30, 50], [10, 12], "n (n x n matrix)"),
    "completion": (sweep_completion, [400, 700, 1000], [60, 80], "n (n x n matrix)"),
    "least_squares": (
        sweep_least_squares,
        [50_000, 100_000, 200_000],
        [2_000, 4_000],
        "n (rows, d = 100)",
    ),
    "kernel_ridge": (
        sweep_kernel_ridge,
        [2_500, 5_000, 10_000, 20_000],
        [500, 1_000],
        "n (training points)",
    ),
    "ebmf": (sweep_ebmf, [400, 800, 1600], [60, 80], "n (n x n/2 matrix)"),
    "boolean": (sweep_boolean, [200, 400, 800], [40, 60], "n (n x 3n/4 matrix)"),
    "riemann": (sweep_riemann, [100, 200, 400], [40, 60], "trials (8 ch x 500)"),
}


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--family", choices=sorted(FAMILIES), action="append")
    p.add_argument("--out", type=Path, default=None, help=f"default {DEFAULT_OUT}")
    args = p.parse_args(argv)
    out = args.out or DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    families = args.family or list(FAMILIES)
    # A fresh file for a full sweep; --family replaces that family's rows.
    if out.exists():
        keep = [
            line
            for line in out.read_text().splitlines(keepends=True)[1:]
            if args.family and line.split(",", 1)[0] not in families
        ]
        header = out.read_text().splitlines(keepends=True)[:1]
        out.write_text("".join(header + keep) if keep else "")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    failed = []
    for family in families:
        sweep, sizes, smoke_sizes, _ = FAMILIES[family]
        sizes = smoke_sizes if args.smoke else sizes
        start = time.perf_counter()
        try:
            for size, run in sweep(sizes, args.seed):
                with csv_context(str(out), family=family, size=size):
                    run()
        except Exception:
            traceback.print_exc()
            failed.append(family)
        print(f"[{family}: {time.perf_counter() - start:.0f} s]", flush=True)
    # What produced the file, shown on the benchmarks page.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    (out.parent / "run.txt").write_text(
        f"command:  python benchmarks/sweep.py {' '.join(argv or sys.argv[1:])}\n"
        f"finished: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
        f"machine:  {os.cpu_count()} cores, load average {load} (1, 5, 15 min)\n"
    )
    print(f"rows appended to {out}")
    from plot_sweep import write_tables

    for target in write_tables(out):
        print(f"table: {target}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
