"""The package's one policy for BLAS threads.

Every estimator's ``fit`` (and any method that does heavy linear algebra) runs
inside :func:`bounded_blas_threads`. The policy is deliberately small:

1. **The user sets the ceiling** with threadpoolctl, the standard tool::

       from threadpoolctl import threadpool_limits
       with threadpool_limits(limits=1, user_api="blas"):
           est.fit(X)

   The package never *raises* the number of BLAS threads above what is in
   force when ``fit`` is called, so this bound holds for every estimator.
2. **Where the package parallelises itself** (``n_jobs`` workers that run in
   threads of one process), each worker gets ``max(1, ceiling // n_workers)``
   BLAS threads, so workers x BLAS threads never exceed the ceiling.
3. **Inside a dask worker** the ceiling is one thread: dask already runs one
   task per core, and BLAS threads on top would oversubscribe.  (joblib's loky
   workers need nothing from us: loky already caps their inner threads at
   ``cpu_count // n_jobs``.)

Tests check that the bound is in force *during* the solver through
:data:`_fit_probe`, a hook that is called inside the limited region.
"""

import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import wraps

from threadpoolctl import ThreadpoolController

__all__ = [
    "blas_workers",
    "blas_thread_budget",
    "bounded_blas_threads",
    "bounded_fit",
]

_CONTROLLER = None

# Test hook: when set to a callable, it is called with the thread budget from
# inside every bounded region (i.e. while the estimator's solver runs).
_fit_probe = None


def _controller():
    # Building a ThreadpoolController inspects every loaded shared library;
    # do it once.  Its per-library ``num_threads`` is read live, so a limit
    # set later by the user is still seen.
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _current_blas_threads():
    blas = _controller().select(user_api="blas")
    counts = [lib.num_threads for lib in blas.lib_controllers]
    return max(counts) if counts else (os.cpu_count() or 1)


def _in_dask_worker():
    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def blas_thread_budget(n_workers=1):
    """Number of BLAS threads each of ``n_workers`` concurrent workers may use.

    Parameters
    ----------
    n_workers : int, default=1
        Number of workers that the caller is about to run concurrently in
        this process.

    Returns
    -------
    n_threads : int
        ``max(1, ceiling // n_workers)`` where the ceiling is the number of
        BLAS threads currently in force (1 inside a dask worker).
    """
    ceiling = 1 if _in_dask_worker() else _current_blas_threads()
    return max(1, ceiling // max(1, int(n_workers)))


def _blas_libraries():
    return _controller().select(user_api="blas").lib_controllers


def _set_blas_threads(per_library):
    for lib, n_threads in per_library.items():
        lib.set_num_threads(n_threads)


# OpenBLAS' thread count is process-wide, and bounded regions can run in
# several threads at once (dask's threaded workers, joblib's threading
# backend).  A plain save/restore per region would then leak: A saves N and
# sets 1, B saves 1, A restores N while B still runs, B "restores" 1 for good.
# So regions are counted per thread under a lock: a region never raises the
# limit while another thread is inside one, and the last region out restores
# what was in force before the first one came in.
_lock = threading.Lock()
_depth = {}  # thread id -> number of open regions in that thread
_before_first = None  # {library: n_threads} before the first open region


@contextmanager
def bounded_blas_threads(n_workers=1, max_threads=None):
    """Run a block with BLAS threads bounded by the package policy.

    Parameters
    ----------
    n_workers : int, default=1
        Workers the block runs concurrently (``n_jobs`` of a thread pool).
    max_threads : int or None, default=None
        A further cap chosen by the caller.  Solvers whose dense work is on
        thin matrices or tiny systems (level-1/2 BLAS, k x k solves, L-BFGS on
        a few dozen parameters) pass ``max_threads=1``: extra BLAS threads buy
        nothing there and their wake-up/spin latency dominates (see the user
        guide, "BLAS threads").  Like every bound here it only lowers the
        ceiling, never raises it.

    Yields
    ------
    n_threads : int
        The per-worker BLAS thread budget in force inside the block.
    """
    global _before_first
    me = threading.get_ident()
    with _lock:
        libraries = _blas_libraries()
        previous = {lib: lib.num_threads for lib in libraries}
        if not _depth:
            _before_first = previous
        _depth[me] = _depth.get(me, 0) + 1
        budget = blas_thread_budget(n_workers)
        if max_threads is not None:
            budget = max(1, min(budget, int(max_threads)))
        _set_blas_threads({lib: budget for lib in libraries})
    try:
        if _fit_probe is not None:
            _fit_probe(budget)
        yield budget
    finally:
        with _lock:
            _depth[me] -= 1
            if not _depth[me]:
                del _depth[me]
            if not _depth:
                _set_blas_threads(_before_first)
                _before_first = None
            elif set(_depth) == {me}:
                # Only this thread's outer region remains: give it back its
                # own limit.
                _set_blas_threads(previous)


class _SerialWorkers:
    n_workers = 1

    @staticmethod
    def map(func, *iterables):
        return list(map(func, *iterables))

    @staticmethod
    def submit(func, *args, **kwargs):
        # Run now, in submission order; the future carries the result or
        # the exception, as the threaded one would.
        future = Future()
        try:
            future.set_result(func(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class _ThreadWorkers:
    def __init__(self, executor, n_workers):
        self._executor = executor
        self.n_workers = n_workers

    def map(self, func, *iterables):
        return list(self._executor.map(func, *iterables))

    def submit(self, func, *args, **kwargs):
        return self._executor.submit(func, *args, **kwargs)


@contextmanager
def blas_workers():
    """Threads for the package's own parallel work, one BLAS thread each.

    Two kinds of work use it.  Memory-bound passes over a tall matrix made
    of many small matrix-vector products: OpenBLAS threads each small
    product over its columns with a synchronisation per call, while
    splitting the *rows* between plain threads (numpy releases the GIL
    inside BLAS and ufuncs) keeps every core streaming instead of
    synchronising on every small product.  And independent
    candidate fits (restarts) that are each too small to use several BLAS
    threads well.  Rule 2 of the policy applies: one worker per BLAS thread
    of the ceiling, each worker single-threaded in BLAS, so a ceiling of one
    thread (or a dask worker) runs everything serially.

    Yields
    ------
    workers : object
        ``workers.n_workers``; ``workers.map(func, *iterables)``, which
        returns the list of results in order, computed concurrently; and
        ``workers.submit(func, *args)``, which returns a
        :class:`concurrent.futures.Future` (tasks start in submission order;
        with one worker the task runs at once), for work whose later steps
        depend on earlier results.
    """
    n_workers = blas_thread_budget()
    if n_workers <= 1:
        yield _SerialWorkers()
        return
    with (
        bounded_blas_threads(n_workers=n_workers),
        ThreadPoolExecutor(n_workers, thread_name_prefix="sklearn_lowrank") as executor,
    ):
        yield _ThreadWorkers(executor, n_workers)


def bounded_fit(method):
    """Decorate a fitting method so that it runs under :func:`bounded_blas_threads`.

    Place it *below* ``@_fit_context`` so parameter validation happens first.
    """

    @wraps(method)
    def wrapper(*args, **kwargs):
        with bounded_blas_threads():
            return method(*args, **kwargs)

    return wrapper
