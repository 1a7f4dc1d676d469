"""``python -m sklearn_lowrank``: fit every estimator on generated data.

Prints, per estimator, the figure measured, the target it is compared with,
whether it passed and how long it took, then where the docs and examples are.
"""

import argparse
import sys

from sklearn_lowrank import __version__


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_lowrank",
        description=(
            "Fit every sklearn_lowrank estimator on one generated problem with "
            "known truth and print, per estimator, the figure measured, the "
            "target it is compared with, PASS/FAIL and the fit time (after an "
            "untimed warm-up fit). Takes a few seconds."
        ),
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the generated problems and of the estimators (default 0)",
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    from sklearn_lowrank._demo import format_footer, format_table, run_demos

    print(f"sklearn_lowrank {__version__}: one problem per estimator\n")
    rows = run_demos(random_state=args.random_state)
    if not rows:
        print("No estimators are implemented yet.")
        return 0
    print(format_table(rows))
    print()
    print(format_footer(rows))
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
