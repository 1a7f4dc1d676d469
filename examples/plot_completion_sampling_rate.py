"""
Matrix completion error against the sampling rate
=================================================

:class:`~sklearn_lowrank.AltMinCompleter` on two matrices, observing a
growing fraction of their entries:

- left: an exactly rank-5, 400 x 300 incoherent matrix.  Below a few times
  the information limit (``rank * (n_rows + n_cols - rank)`` degrees of
  freedom, dashed line) completion fails and the estimator warns; above it
  the error drops to the solver tolerance: exact recovery.
- right: a realistic, only approximately low-rank matrix, the grayscale
  "china" photograph shipped with scikit-learn (427 x 640), completed at
  rank 20 with a small ridge, against filling each column with its mean.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer

from sklearn_lowrank import AltMinCompleter
from sklearn_lowrank.datasets import make_completion_problem, make_observation_mask

# Below twice the information limit the fit warns (and fails): expected here.
warnings.simplefilter("ignore", ConvergenceWarning)
warnings.simplefilter("ignore", UserWarning)


def unobserved_error(filled, truth, mask):
    return np.linalg.norm((filled - truth)[~mask]) / np.linalg.norm(truth[~mask])


# Exactly low-rank matrix --------------------------------------------------
n_rows, n_cols, rank = 400, 300, 5
dof = rank * (n_rows + n_cols - rank)
fractions = np.array([0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3])
synthetic = []
for fraction in fractions:
    X, M, mask = make_completion_problem(
        n_rows, n_cols, rank, observed_fraction=fraction, random_state=0
    )
    est = AltMinCompleter(n_components=rank, max_iter=200, random_state=0)
    synthetic.append(unobserved_error(est.fit_transform(X), M, mask))

# A photograph: approximately low rank ------------------------------------
image = load_sample_image("china.jpg").mean(axis=2) / 255.0
image_fractions = np.array([0.05, 0.1, 0.2, 0.3, 0.5])
altmin_err, mean_err = [], []
for fraction in image_fractions:
    mask = make_observation_mask(image.shape, fraction, random_state=0)
    X = np.where(mask, image, np.nan)
    est = AltMinCompleter(n_components=20, alpha=0.05, center=True, random_state=0)
    altmin_err.append(unobserved_error(est.fit_transform(X), image, mask))
    mean_err.append(unobserved_error(SimpleImputer().fit_transform(X), image, mask))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.semilogy(fractions * n_rows * n_cols / dof, synthetic, "o-")
ax1.axvline(1.0, color="gray", linestyle="--", label="information limit")
ax1.axvline(2.0, color="gray", linestyle=":", label="below: fit warns")
ax1.axhline(1.0, color="red", linewidth=0.8, label="error of filling zeros")
ax1.set_xlabel("observed entries / degrees of freedom")
ax1.set_ylabel("relative error on unobserved entries")
ax1.set_title(f"exact rank {rank}, {n_rows} x {n_cols}")
ax1.legend()
ax2.plot(image_fractions, altmin_err, "o-", label="AltMinCompleter, rank 20")
ax2.plot(image_fractions, mean_err, "s--", label="column means")
ax2.set_xlabel("observed fraction")
ax2.set_ylabel("relative error on unobserved pixels")
ax2.set_title("grayscale photograph, 427 x 640")
ax2.legend()
fig.tight_layout()

print(
    "exact rank 5:",
    ", ".join(f"{f:.2f}: {e:.1e}" for f, e in zip(fractions, synthetic)),
)
print(
    "photograph:  ",
    ", ".join(
        f"{f:.2f}: {a:.3f} (means {m:.3f})"
        for f, a, m in zip(image_fractions, altmin_err, mean_err)
    ),
)
plt.show()
