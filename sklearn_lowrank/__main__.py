"""``python -m sklearn_lowrank``: fit every estimator on generated data.

Prints, per estimator, what it recovered or scored and how long it took.
"""

import sys

from sklearn_lowrank import __version__
from sklearn_lowrank._demo import format_table, run_demos


def main():
    print(f"sklearn_lowrank {__version__}: one problem per estimator\n")
    rows = run_demos(random_state=0)
    if not rows:
        print("No estimators are implemented yet.")
        return 0
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
