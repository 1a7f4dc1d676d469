"""Figures and tables of the size sweeps (``sweep.py``) for the docs.

``plot_family(family)`` draws, for each comparison of the family (one error
measure each), time against size and error against time, one line per
contender; ``write_tables()`` writes the rows of the largest size of each
family to ``docs/benchmarks/<family>_table.csv`` for the benchmarks page.
The docs call both on the committed ``docs/benchmarks/results.csv``; no
benchmark runs during a docs build.

    python benchmarks/plot_sweep.py            # rewrite the tables
"""

import csv
import math
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks" / "results.csv"


def read_rows(path=RESULTS):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["size"] = int(row["size"])
        for key in ("seconds", "error", "time_ratio", "error_ratio"):
            row[key] = float(row[key]) if row.get(key) else math.nan
    return rows


def _groups(rows, family):
    """``{error_name: {contender: [rows by size]}}`` for one family."""
    groups = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["family"] == family and not math.isnan(row["seconds"]):
            groups[row["error_name"]][row["name"]].append(row)
    for by_name in groups.values():
        for runs in by_name.values():
            runs.sort(key=lambda r: r["size"])
    return groups


def plot_family(family, path=RESULTS, size_label=None):
    """One row of two panels per comparison: time vs size, error vs time."""
    import matplotlib.pyplot as plt

    groups = _groups(read_rows(path), family)
    fig, axes = plt.subplots(
        len(groups), 2, figsize=(11, 3.8 * len(groups)), squeeze=False
    )
    for (error_name, by_name), (ax_time, ax_err) in zip(groups.items(), axes):
        for i, (name, runs) in enumerate(by_name.items()):
            style = dict(
                color=f"C{i % 10}",
                marker="o" if i == 0 else "s^vD<>ph*"[i % 9],
                lw=2.5 if i == 0 else 1.2,
                label=name,
            )
            sizes = [r["size"] for r in runs]
            seconds = [r["seconds"] for r in runs]
            errors = [r["error"] for r in runs]
            ax_time.plot(sizes, seconds, **style)
            ax_err.plot(seconds, errors, **style)
            # The largest size is the last point of each line.
            ax_err.plot(
                seconds[-1:],
                errors[-1:],
                marker="o",
                ms=10,
                mfc="none",
                color=style["color"],
            )
        ax_time.set(
            xscale="log", yscale="log", ylabel="time [s]", xlabel=size_label or "size"
        )
        ax_time.set_title(f"time vs size ({error_name})", fontsize=10)
        # A log axis cannot show an error of exactly 0 (e.g. perfect accuracy).
        positive = all(r["error"] > 0 for runs in by_name.values() for r in runs)
        ax_err.set(
            xscale="log",
            yscale="log" if positive else "linear",
            xlabel="time [s]",
            ylabel=error_name,
        )
        ax_err.set_title("error vs time (circled: largest size)", fontsize=10)
        ax_err.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _rst(text):
    """Text for a reST table cell: no markup (``|X|``, ``m_``, ``*``)."""
    return re.sub(r"([\\`*_|])", r"\\\1", str(text))


def _fmt(value, digits=3):
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def write_tables(path=RESULTS, out_dir=None):
    """Largest size of every family as ``<family>_table.csv`` next to ``path``."""
    rows = read_rows(path)
    out_dir = Path(out_dir or Path(path).parent)
    written = []
    for family in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == family]
        largest = max(r["size"] for r in mine)
        table = [
            (
                _rst(r["name"]),
                _rst(r["title"]),
                _fmt(r["seconds"]),
                _rst(f"{_fmt(r['error'])} ({r['error_name']})"),
                _fmt(r["time_ratio"], 2),
                _fmt(r["error_ratio"], 2),
                _rst(r["note"]),
            )
            for r in mine
            if r["size"] == largest
        ]
        target = out_dir / f"{family}_table.csv"
        with open(target, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(
                (
                    "method",
                    "comparison",
                    "time [s]",
                    "error",
                    "time / ours",
                    "err / ours",
                    "note",
                )
            )
            writer.writerows(table)
        written.append(target)
    return written


if __name__ == "__main__":
    for target in write_tables():
        print(target)
