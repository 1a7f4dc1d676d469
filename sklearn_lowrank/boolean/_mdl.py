"""Description length (in bits) of binary data under a Boolean factorization.

The two-part code of MDL4BMF (Miettinen & Vreeken, ACM TKDD 2014): the
model (the tiles V) and the data given the model (each row's tile set and
the cells where the Boolean product is wrong).  The data part is a code fixed
by the fit (Bernoulli rates estimated on the training rows), so rows that
the fit never saw can be encoded with it: that is what makes the length a
held-out criterion for the number of tiles.

* Model: the number of tiles k (Rissanen's universal code for integers),
  then for each tile its number of columns (uniform over 0..m) and which
  ones (``log2 C(m, |v_k|)``), plus ``log2(n + 1)`` bits per count the
  data code is built from (one per tile, two for the error rates).
* Rows: tile k is used by a row with probability ``p_k`` (the training
  share, Krichevsky-Trofimov smoothed).
* Cells, typed as in MDL4BMF's typed XOR: a cell that no tile of its row
  covers holds a 1 (an *uncovered one*) with probability ``q_under``; a
  covered cell holds a 0 (an *overcovered zero*) with probability
  ``q_over``; both rates estimated on the training rows.
"""

import numpy as np
from scipy.special import gammaln

from sklearn_lowrank.boolean._polish import _BLOCK_CELLS, _count_ones, _unique_rows

# log2 of Rissanen's normalizing constant c0 = 2.865064 of the universal
# code for positive integers.
_LOG2_C0 = np.log2(2.865064)
_LOG_STAR_MAX_TERMS = 8


def _universal_integer_bits(k):
    """Rissanen's universal code length ``log2*(k) + log2 c0`` for k >= 1."""
    bits = _LOG2_C0
    x = float(k)
    # Iterated log2 falls below 1 within 5 steps for any float64 (1e308 ->
    # 1023 -> 10 -> 3.3 -> 1.7 -> 0.8), so the cap is never the limit.
    for _ in range(_LOG_STAR_MAX_TERMS):
        if x <= 1.0:
            break
        x = np.log2(x)
        bits += x
    return bits


def _log2_binomial(n, k):
    return (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)) / np.log(2)


def _covered_cells(U, V):
    """Number of cells that the Boolean product ``U o V`` covers.

    Row i covers the columns whose tiles meet its tile set.  Rows with the
    same tile set and columns with the same set of tiles (signature) cover
    alike, so only distinct sets meet distinct signatures: a table of at
    most ``min(n, 2^k) x min(m, 2^k)``, in row blocks; X is not needed.
    """
    U = np.asarray(U) > 0
    V = np.asarray(V) > 0
    if not U.any() or not V.any():
        return 0
    first, row_index, _ = _unique_rows(U)
    row_sets = U[first]
    first, _, columns = _unique_rows(V.T)
    signatures = V.T[first]
    row_sets = row_sets.astype(np.float32)
    signatures = np.ascontiguousarray(signatures.T, dtype=np.float32)
    covered = np.empty(row_sets.shape[0], dtype=np.int64)
    block = max(1, _BLOCK_CELLS // signatures.shape[1])
    for start in range(0, row_sets.shape[0], block):
        meets = (row_sets[start : start + block] @ signatures) > 0
        covered[start : start + block] = meets.astype(np.int64) @ columns
    return int(covered[row_index].sum())


def _code_counts(X, U, V, n_wrong):
    """The counts the code is built from (or charged on): rows, tile use,
    cells, covered cells, ones, covered ones.

    ``n_wrong`` (the wrong cells of ``U o V``) = uncovered ones + covered
    zeros, which gives the covered ones without another pass over X.
    """
    covered = _covered_cells(U, V)
    ones = _count_ones(X)
    n, m = X.shape
    return dict(
        n_rows=n,
        tile_use=(np.asarray(U) > 0).sum(axis=0).astype(np.float64),
        cells=n * m,
        covered=covered,
        ones=ones,
        covered_ones=(ones + covered - n_wrong) // 2,
    )


def _fit_code(counts):
    """Bernoulli rates of the data code from the training counts (KT)."""
    n = counts["n_rows"]
    uncovered = counts["cells"] - counts["covered"]
    under = counts["ones"] - counts["covered_ones"]
    over = counts["covered"] - counts["covered_ones"]
    return dict(
        tile_frequencies=(counts["tile_use"] + 0.5) / (n + 1.0),
        q_under=(under + 0.5) / (uncovered + 1.0),
        q_over=(over + 0.5) / (counts["covered"] + 1.0),
    )


def _model_bits(V, n_fit):
    """Bits of the model: k, the tiles, and the counts of the data code."""
    k, m = V.shape
    sizes = np.asarray(V, dtype=bool).sum(axis=1)
    bits = _universal_integer_bits(k)
    bits += k * np.log2(m + 1.0) + float(np.sum(_log2_binomial(m, sizes)))
    # The data code's counts: tile use (one per tile, at most n_fit) and the
    # two error counts (at most n_fit * m each).
    bits += k * np.log2(n_fit + 1.0) + 2.0 * np.log2(n_fit * m + 1.0)
    return bits


def _data_bits(counts, code):
    """Bits of the rows' tile sets and cells under the fitted code."""
    p = code["tile_frequencies"]
    use = counts["tile_use"]
    n = counts["n_rows"]
    bits = float(np.sum(-use * np.log2(p) - (n - use) * np.log2(1.0 - p)))
    uncovered = counts["cells"] - counts["covered"]
    under = counts["ones"] - counts["covered_ones"]
    over = counts["covered"] - counts["covered_ones"]
    q_u, q_o = code["q_under"], code["q_over"]
    bits -= under * np.log2(q_u) + (uncovered - under) * np.log2(1.0 - q_u)
    bits -= over * np.log2(q_o) + (counts["covered"] - over) * np.log2(1.0 - q_o)
    return bits
