"""Shared harness for the benchmark scripts.

Each ``bench_<module>.py`` builds one dataset, lists the contenders (ours
first, then the peers a user would otherwise pick) as :class:`Contender`
objects, and calls :func:`compare`.  Every contender runs in this process on
the same arrays; a peer whose package is missing is skipped with a note, not
an error.  The table gives time and error, and their ratios to ours
(``time / ours`` above 1 means the peer is slower; ``err / ours`` above 1
means the peer is less accurate).
"""

import argparse
import contextlib
import gc
import importlib
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Contender:
    """One estimator to run.

    Parameters
    ----------
    name : str
        Row label.
    run : callable
        ``run() -> result``; does the fit (and predict/transform) being timed.
    error : callable
        ``error(result) -> float``; lower is better.
    requires : str or None
        Importable module the contender needs; skipped when absent.
    track_memory : bool
        Trace Python-side allocations (numpy arrays included) to report the
        peak; tracing slows pure-Python code, so turn it off for peers whose
        time would be distorted.
    repeat : int
        Run this many times and report the fastest (as ``timeit`` does), so
        that one-off costs of a fresh process (first allocations, caches,
        clock ramp-up) do not decide a speed ratio; memory is traced on the
        first run only.  Give every contender of a comparison the same value.
    """

    name: str
    run: Callable
    error: Callable
    requires: str | None = None
    track_memory: bool = True
    repeat: int = 1


def available(module):
    """True if ``module`` can be imported."""
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


def measure(contender):
    """Run one contender; return a result row (dict)."""
    if contender.requires and not available(contender.requires):
        return dict(
            name=contender.name, note=f"skipped: {contender.requires} not installed"
        )
    times, peak = [], None
    for attempt in range(max(1, contender.repeat)):
        gc.collect()
        trace = contender.track_memory and attempt == 0
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        try:
            result = contender.run()
        except MemoryError:
            return dict(name=contender.name, note="failed: MemoryError")
        except Exception as exc:
            return dict(
                name=contender.name,
                note=f"failed: {type(exc).__name__}: {exc}"[:120],
            )
        finally:
            times.append(time.perf_counter() - start)
            if trace:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    note = ""
    if len(times) > 1:
        note = "best of " + " / ".join(f"{t:.2f}" for t in times) + " s"
    return dict(
        name=contender.name,
        seconds=min(times),
        error=float(contender.error(result)),
        peak_mb=None if peak is None else peak / 2**20,
        note=note,
    )


def compare(title, contenders, *, error_name="error"):
    """Run all contenders and print the table; the first one is ours.

    Returns
    -------
    rows : list of dict
        One row per contender with ``seconds``, ``error``, ``peak_mb`` and
        the ratios ``time_ratio`` / ``error_ratio`` to the first contender.
    """
    rows = [measure(c) for c in contenders]
    ours = rows[0]
    for row in rows:
        if "seconds" in row and "seconds" in ours:
            row["time_ratio"] = row["seconds"] / ours["seconds"]
            row["error_ratio"] = (
                (row["error"] / ours["error"]) if ours["error"] > 0 else np.inf
            )
    print_table(title, rows, error_name)
    if _CSV_PATH is not None:
        _append_csv(title, rows, error_name)
    return rows


def print_table(title, rows, error_name="error"):
    """Print benchmark rows as a fixed-width table."""
    header = (
        "method",
        "time [s]",
        error_name,
        "peak MB",
        "time / ours",
        "err / ours",
        "note",
    )
    lines = []
    for r in rows:
        if "seconds" not in r:
            lines.append((r["name"], "-", "-", "-", "-", "-", r["note"]))
            continue
        lines.append(
            (
                r["name"],
                f"{r['seconds']:.3g}",
                f"{r['error']:.3g}",
                "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}",
                f"{r.get('time_ratio', np.nan):.2f}",
                f"{r.get('error_ratio', np.nan):.2f}",
                r["note"],
            )
        )
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(f"\n== {title}")
    print(fmt.format(*header))
    print(fmt.format(*("-" * w for w in widths)))
    for line in lines:
        print(fmt.format(*line))


class _CsvAction(argparse.Action):
    """``--csv PATH``: every table printed by :func:`compare` is also appended
    to ``PATH`` (one line per contender), for plots and the docs."""

    def __call__(self, parser, namespace, values, option_string=None):
        global _CSV_PATH
        _CSV_PATH = values
        setattr(namespace, self.dest, values)


_CSV_PATH = None
# Extra columns (e.g. family and size of a sweep), set by csv_context.
_CSV_EXTRA = {}
_CSV_FIELDS = (
    "family",
    "size",
    "title",
    "name",
    "seconds",
    "error_name",
    "error",
    "peak_mb",
    "time_ratio",
    "error_ratio",
    "note",
)


@contextlib.contextmanager
def csv_context(path=None, **fields):
    """Within the block, :func:`compare` appends its rows to ``path`` (if
    given) with the extra columns ``fields`` (``family``, ``size``)."""
    global _CSV_PATH, _CSV_EXTRA
    saved = _CSV_PATH, _CSV_EXTRA
    _CSV_PATH = path if path is not None else _CSV_PATH
    _CSV_EXTRA = dict(fields)
    try:
        yield
    finally:
        _CSV_PATH, _CSV_EXTRA = saved


def _append_csv(title, rows, error_name):
    import csv
    import os

    new_file = not os.path.exists(_CSV_PATH) or os.path.getsize(_CSV_PATH) == 0
    with open(_CSV_PATH, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=_CSV_FIELDS, extrasaction="ignore")
        if new_file:
            writer.writeheader()
        for row in rows:
            writer.writerow(dict(row, title=title, error_name=error_name, **_CSV_EXTRA))


def parser(description):
    """Argument parser with the options every benchmark shares.

    ``--smoke`` (every contender at tiny sizes, under a minute; the test
    suite runs it), the default, and ``--full`` (the sizes the issues name)
    are exclusive; pick sizes with :func:`by_size`.  Scripts add their own
    options to the returned parser, or call :func:`parse_args` when they
    have none.
    """
    p = argparse.ArgumentParser(description=description)
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--smoke",
        action="store_true",
        help="every contender at tiny sizes, under a minute (run by the tests)",
    )
    size.add_argument(
        "--full",
        action="store_true",
        help="run the sizes named in the issue (slow, memory hungry)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the data")
    p.add_argument(
        "--csv",
        metavar="PATH",
        action=_CsvAction,
        default=None,
        help="also append every table row to this CSV file",
    )
    return p


def parse_args(description, argv=None):
    """Parse the shared options only (``--smoke``, ``--full``, ``--seed``,
    ``--csv``); ``argv`` defaults to the command line."""
    return parser(description).parse_args(argv)


def by_size(args, *, smoke, default, full):
    """The value for this run's size: ``smoke``, ``default`` or ``full``."""
    if getattr(args, "smoke", False):
        return smoke
    if getattr(args, "full", False):
        return full
    return default
