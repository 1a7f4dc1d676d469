"""The package's BLAS-thread policy (sklearn_lowrank._threads)."""

import inspect
import os

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_lowrank import _threads
from sklearn_lowrank._threads import (
    blas_thread_budget,
    blas_workers,
    bounded_blas_threads,
    bounded_fit,
)


def _blas_threads():
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_user_limit_is_the_ceiling():
    with threadpool_limits(limits=1, user_api="blas"):
        assert blas_thread_budget() == 1
        with bounded_blas_threads() as budget:
            assert budget == 1
            assert _blas_threads() == 1


@pytest.mark.parametrize("ceiling", [1, 2, 3, 4, 7, 8, 16])
def test_budget_is_the_largest_split_that_fits_the_ceiling(ceiling, monkeypatch):
    # Workers x threads never exceed the ceiling (no oversubscription), one
    # more thread per worker would (no idle cores), and a worker always has
    # at least one thread even when there are more workers than the ceiling.
    monkeypatch.setattr(_threads, "_current_blas_threads", lambda: ceiling)
    for n_workers in range(1, 2 * ceiling + 2):
        budget = blas_thread_budget(n_workers)
        if n_workers <= ceiling:
            assert budget * n_workers <= ceiling, (ceiling, n_workers, budget)
            assert (budget + 1) * n_workers > ceiling, (ceiling, n_workers, budget)
        else:
            assert budget == 1, (ceiling, n_workers, budget)


def test_budget_reads_the_limit_in_force():
    # Not a cached or cpu_count figure: the budget follows threadpoolctl.
    with threadpool_limits(limits=1, user_api="blas"):
        assert blas_thread_budget() == 1
    before = _blas_threads()
    assert blas_thread_budget() == before


def test_limit_is_restored_after_the_block():
    before = _blas_threads()
    with bounded_blas_threads(n_workers=max(2, before)):
        assert _blas_threads() == 1
    assert _blas_threads() == before


class _ThreadedToy(RegressorMixin, BaseEstimator):
    """Parallelises itself over threads the way package estimators must."""

    def __init__(self, n_jobs=2):
        self.n_jobs = n_jobs

    @bounded_fit
    def fit(self, X, y):
        with bounded_blas_threads(n_workers=self.n_jobs) as per_worker:
            seen = Parallel(n_jobs=self.n_jobs, backend="threading")(
                delayed(_blas_threads)() for _ in range(4)
            )
        self.per_worker_ = per_worker
        self.seen_ = seen
        self.coef_ = np.zeros(X.shape[1])
        return self


def test_package_parallelism_does_not_oversubscribe():
    cores = os.cpu_count()
    with threadpool_limits(limits=cores, user_api="blas"):
        toy = _ThreadedToy(n_jobs=2).fit(np.ones((3, 2)), np.ones(3))
    assert toy.per_worker_ * 2 <= max(cores, 2)
    assert all(t == toy.per_worker_ for t in toy.seen_)


@pytest.mark.parametrize("ceiling", [1, 2])
def test_blas_workers_stay_within_the_ceiling(ceiling):
    # Workers x BLAS threads never exceed the ceiling, results come back in
    # order, and the limit is restored afterwards.
    with threadpool_limits(limits=ceiling, user_api="blas"):
        before = _blas_threads()
        with blas_workers() as workers:
            seen = workers.map(lambda i: (i, _blas_threads()), range(5))
        assert _blas_threads() == before
    assert workers.n_workers == min(ceiling, before)
    assert [i for i, _ in seen] == list(range(5))
    assert all(t * workers.n_workers <= max(before, 1) for _, t in seen)


@pytest.mark.parametrize("ceiling", [1, 2])
def test_blas_workers_submit_gives_futures_within_the_ceiling(ceiling):
    # A task submitted after waiting on an earlier one (the dependent step
    # of a fit) runs under the same limit; an exception reaches result().
    def fail():
        raise ValueError("boom")

    with threadpool_limits(limits=ceiling, user_api="blas"):
        before = _blas_threads()
        with blas_workers() as workers:
            first = workers.submit(lambda x: (x, _blas_threads()), 3)
            broken = workers.submit(fail)
            value, threads = first.result()
            second = workers.submit(lambda: value + 1).result()
        assert _blas_threads() == before
    assert (value, second) == (3, 4)
    assert threads * workers.n_workers <= max(before, 1)
    with pytest.raises(ValueError, match="boom"):
        broken.result()


def test_probe_is_called_inside_the_bounded_region(monkeypatch):
    seen = []
    monkeypatch.setattr(
        _threads, "_fit_probe", lambda b: seen.append((b, _blas_threads()))
    )
    with threadpool_limits(limits=1, user_api="blas"):
        _ThreadedToy(n_jobs=1).fit(np.ones((3, 2)), np.ones(3))
    assert seen[0] == (1, 1)


def test_one_blas_thread_inside_a_dask_worker():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
    ) as client:
        budget = client.submit(blas_thread_budget, pure=False).result()
    assert budget == 1
    assert blas_thread_budget() >= 1


def test_concurrent_regions_do_not_leak_a_limit():
    # Interleaved regions in two threads (as in a threaded dask worker):
    # when both are done, the limit in force before them is back.
    import threading

    before = _blas_threads()
    seen_by_b = []
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def region_a():
        with bounded_blas_threads(n_workers=64):
            a_in.set()
            b_in.wait()
        a_out.set()

    def region_b():
        a_in.wait()
        with bounded_blas_threads(n_workers=64):
            b_in.set()
            a_out.wait()
            seen_by_b.append(_blas_threads())  # A has left, B is still inside

    threads = [threading.Thread(target=region_a), threading.Thread(target=region_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen_by_b == [1]
    assert _blas_threads() == before


def test_max_threads_caps_the_budget_and_never_raises_it():
    with threadpool_limits(limits=1, user_api="blas"):
        with bounded_blas_threads(max_threads=4) as budget:
            assert budget == 1 and _blas_threads() == 1
    with bounded_blas_threads(max_threads=1) as budget:
        assert budget == 1 and _blas_threads() == 1


_TOY_ESTIMATOR_SOURCE = """
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context

from sklearn_lowrank._messages import warn_not_converged
from sklearn_lowrank._threads import bounded_fit


class WarningToy(RegressorMixin, BaseEstimator):
    _parameter_constraints: dict = {}

    def __init__(self, max_iter=1):
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit(self, X, y):
        self.n_iter_ = _solver(self)
        self.coef_ = np.zeros(np.shape(X)[1])
        return self


def _solver(estimator):
    warn_not_converged(estimator, n_iter=estimator.max_iter, what="sweeps")
    return estimator.max_iter
"""


def _toy_estimator_in_the_package():
    # An estimator as the package writes them (solver warns under both fit
    # decorators), compiled as if it were a module of sklearn_lowrank, so
    # its frames count as the package's own.
    import sklearn_lowrank

    filename = os.path.join(os.path.dirname(sklearn_lowrank.__file__), "_toy.py")
    namespace = {"__name__": "sklearn_lowrank._toy"}
    exec(compile(_TOY_ESTIMATOR_SOURCE, filename, "exec"), namespace)
    return namespace["WarningToy"]


def test_fit_time_warnings_point_at_the_users_call():
    # Under @_fit_context and @bounded_fit (whose wrapper lives in
    # _threads.py) the warning must name the user's line, not ours.
    toy = _toy_estimator_in_the_package()()
    with pytest.warns(ConvergenceWarning) as record:
        line = inspect.currentframe().f_lineno + 1
        toy.fit(np.ones((3, 2)), np.ones(3))  # the user's line
    (warning,) = record
    assert (warning.filename, warning.lineno) == (__file__, line)
    assert str(warning.message).startswith("WarningToy did not converge")
    assert "1 sweeps" in str(warning.message)


def test_helpers_warn_only_through_messages():
    # The shared helpers never call warnings.warn themselves (a fixed
    # stacklevel is wrong under decorators); they go through _messages.warn.
    from sklearn_lowrank import _validation

    for module in (_threads, _validation):
        source = inspect.getsource(module)
        assert "warnings.warn(" not in source, module.__name__
