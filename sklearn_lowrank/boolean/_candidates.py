"""The fit of :class:`~sklearn_lowrank.boolean.BooleanMF`: every starting
point (NMF, Asso, random) through Elbmf and the Boolean polish, run
concurrently, and the candidate with the fewest wrong cells kept."""

import numpy as np
import scipy.sparse as sp

from sklearn_lowrank._messages import verbose_print
from sklearn_lowrank._threads import blas_workers
from sklearn_lowrank.boolean._asso import (
    _ASSO_MAX_CELLS,
    _asso_candidates,
    _asso_generators,
    _asso_greedy,
    _column_confidence,
)
from sklearn_lowrank.boolean._elbmf import _elbmf_palm, _nmf_start, _round_binary
from sklearn_lowrank.boolean._polish import (
    _EXACT_MAX_TILES,
    _boolean_errors,
    _boolean_polish,
)


def _fit_candidates(
    X,
    k,
    *,
    init,
    asso_taus,
    n_random_starts,
    elbmf_params,
    polish,
    max_polish_iter,
    random_state,
    verbose=0,
    estimator=None,
):
    """Fit binary tiles to X from every starting point ``init`` asks for.

    Parameters
    ----------
    X : ndarray or CSR matrix of float32 of shape (n, m)
        Binary data (CSR without explicit zeros, sorted indices).
    k : int
        Number of tiles.
    init : {"auto", "random", "nmf", "asso"}
        Which starting points to run ("auto": NMF, Asso and the random ones).
    asso_taus : ndarray of float
        Asso's association thresholds, one greedy cover each.
    n_random_starts : int
        Number of uniform(0, 1) starts (used by "auto" and "random").
    elbmf_params : dict
        ``l1_reg, l2_reg, reg_growth, max_iter, tol, beta`` of
        :func:`~sklearn_lowrank.boolean._elbmf._elbmf_palm`.
    polish : bool
        Finish each candidate with the Boolean polish.
    max_polish_iter : int
        Maximum number of alternating polishing passes.
    random_state : RandomState
        Source of the NMF and random-start seeds.
    verbose : int, default=0
    estimator : estimator instance or str or None
        Named in the verbose lines.

    Returns
    -------
    best : dict
        ``name`` (the starting point that won), ``V`` (k x m binary tiles),
        ``losses`` (Elbmf's relaxed loss per iteration), ``curve`` (wrong
        cells per polishing half-pass) and ``converged`` (False if any Elbmf
        run of any candidate reached ``max_iter``).
    """
    n, m = X.shape
    XT = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
    finish = dict(
        polish=polish,
        max_polish_iter=max_polish_iter,
        verbose=verbose,
        estimator=estimator,
    )
    run_elbmf = dict(elbmf_params=elbmf_params, **finish)
    # One seed per random candidate, drawn up front, so that each
    # candidate is the same whichever init runs it ("auto" tries the
    # union of the others, with the same n_init, and can only do better).
    seeds = random_state.randint(np.iinfo(np.int32).max, size=1 + n_random_starts)

    def nmf_candidate():
        # Thresholded NMF factors: tiles that a real-valued fit finds
        # even when they overlap heavily.
        W, H = _nmf_start(X, k, seeds[0])
        start = (np.minimum(W, 1.0), np.minimum(H.T, 1.0))
        return _elbmf_candidate(X, XT, *start, **run_elbmf)

    def random_candidate(seed):
        # The paper's uniform(0, 1) factors, one per restart.
        seed_rng = np.random.RandomState(seed)
        start = (seed_rng.uniform(size=(n, k)), seed_rng.uniform(size=(m, k)))
        return _elbmf_candidate(X, XT, *start, **run_elbmf)

    # The candidates are independent and each has its own seed, so they
    # run concurrently (each on one BLAS thread, within the ceiling) and
    # the result does not depend on the order they finish in.  Asso is
    # the longest chain (association table -> one cover per threshold ->
    # the best cover polished, and also through Elbmf and the polish), so
    # its steps are tasks of their own, queued as soon as what they need
    # is there: the workers share them with the NMF and random starts
    # instead of one worker doing all of Asso, last and alone.  The
    # random starts (the longest Elbmf runs) are queued before the
    # covers, so that they do not start last.
    use_asso = init in ("auto", "asso")
    with blas_workers() as workers:
        if use_asso:
            conf = workers.submit(_asso_confidence, X, XT, verbose, estimator)
        nmf = []
        if init in ("auto", "nmf"):
            nmf = [("nmf", workers.submit(nmf_candidate))]
        restarts = []
        if init in ("auto", "random"):
            restarts = [
                ("random", workers.submit(random_candidate, s)) for s in seeds[1:]
            ]
        asso = []
        if use_asso:
            conf = conf.result()
            covers = [
                workers.submit(_asso_cover, X, conf, k, tau, verbose, estimator)
                for tau in asso_taus
            ]
            covers = [cover.result() for cover in covers]
            del conf
            # The cover with the fewest wrong cells (the first on ties).
            _, U, V = min(covers, key=lambda cover: cover[0])
            # The longer of the two finishing runs first, so that it
            # starts first.
            elbmf = workers.submit(_elbmf_candidate, X, XT, U, V.T, **run_elbmf)
            polished = workers.submit(_finish_candidate, X, XT, U, V, **finish)
            asso = [("asso", polished), ("asso", elbmf)]
        families = {}
        # Families in a fixed order: ties go to the earlier one.
        for name, future in nmf + asso + restarts:
            families.setdefault(name, []).append(future.result())

    best = None
    converged = True
    for name, family in families.items():
        converged &= all(c["converged"] for c in family)
        cand = min(family, key=lambda c: c["n_wrong"])
        if verbose:
            verbose_print(
                estimator, f"best {name} start: {cand['n_wrong']} wrong cells"
            )
        if best is None or cand["n_wrong"] < best["n_wrong"]:
            best = dict(cand, name=name)
    best["converged"] = converged
    return best


def _finish_candidate(
    X,
    XT,
    U,
    V,
    losses=(),
    converged=True,
    *,
    polish,
    max_polish_iter,
    verbose,
    estimator,
):
    """Polish binary factors (if ``polish``) and score them: alternating
    exact solves of the rows of U and the columns of V for up to
    ``_EXACT_MAX_TILES`` tiles, else bit flips."""
    if polish:
        U, V, n_wrong, curve = _boolean_polish(
            X,
            XT,
            U,
            V,
            max_passes=max_polish_iter,
            exact=U.shape[1] <= _EXACT_MAX_TILES,
            verbose=verbose,
            estimator=estimator,
        )
    else:
        n_wrong = _boolean_errors(X, U, V)
        curve = [n_wrong]
    if verbose:
        verbose_print(
            estimator,
            f"candidate: {n_wrong} wrong cells, {len(losses)} Elbmf iterations",
        )
    return dict(
        U=U,
        V=V,
        n_wrong=n_wrong,
        losses=list(losses),
        curve=curve,
        converged=converged,
    )


def _elbmf_candidate(X, XT, U0, Vt0, *, elbmf_params, **finish):
    """Elbmf from (U0, Vt0), rounded, then polished."""
    U, Vt, losses, converged = _elbmf_palm(
        X,
        XT,
        U0,
        Vt0,
        **elbmf_params,
        verbose=finish["verbose"],
        estimator=finish["estimator"],
    )
    U, V = _round_binary(U), _round_binary(Vt.T)
    return _finish_candidate(X, XT, U, V, losses, converged, **finish)


def _asso_confidence(X, XT, verbose, estimator):
    """Asso's association table of the candidate generator columns."""
    generators = _asso_generators(X, _ASSO_MAX_CELLS)
    if verbose and generators.size < X.shape[1]:
        verbose_print(
            estimator,
            f"Asso: candidates from the {generators.size} most frequent columns",
        )
    return _column_confidence(X, XT, generators)


def _asso_cover(X, conf, k, tau, verbose, estimator):
    """Asso's greedy cover at one threshold, with its wrong cells."""
    U, V = _asso_greedy(X, _asso_candidates(conf, tau), k)
    n_wrong = _boolean_errors(X, U, V)
    if verbose:
        verbose_print(estimator, f"Asso tau={tau:g}: {n_wrong} wrong cells")
    return n_wrong, U, V
