"""Boolean matrix factorization by proximal gradient descent (Elbmf).

Implements

    Sebastian Dalleiger and Jilles Vreeken, "Efficiently Factorizing Boolean
    Matrices using Proximal Gradient Descent", NeurIPS 2022 ("Elbmf").

A binary matrix X (n x m) is approximated by the Boolean product of binary
factors, ``X ~ U o V`` with ``(U o V)_ij = OR_k (U_ik AND V_kj)``.  Elbmf
relaxes U and V to non-negative reals, fits ``||X - UV||_F^2`` plus the
*elastic-binary* regularizer

    R(x) = sum min(kappa |x| + lam/2 x^2, kappa |x - 1| + lam/2 (x - 1)^2),

whose proximal operator has a closed form, by alternating (inertial)
proximal gradient steps with Lipschitz step sizes (PALM / iPALM), lets the
quadratic strength ``lam`` grow geometrically so that the factors are driven
to {0, 1}, and rounds at the end.

The relaxation uses the ordinary product, in which two overlapping tiles add
up to 2 instead of 1; with heavy overlap it settles on wrong tiles.  Beyond
the paper, :class:`BooleanMF` therefore also starts from thresholded NMF
factors and from the greedy cover of Asso (P. Miettinen et al., "The
Discrete Basis Problem", IEEE TKDE 2008), can restart, and finishes every
candidate with a Boolean polishing pass that alternates between the two
factors while the number of wrong cells falls: for up to 10 tiles every
row of U (column of V) is solved exactly over all 2^k tile sets given the
other factor, above that it takes greedy bit flips that strictly lower the
error.  The candidate with the fewest wrong cells is kept.

Sparse input stays sparse: the proximal gradient needs only ``X V^T`` and
``X^T U`` (sparse x dense) and k x k Gram matrices; the Boolean polishing
works on blocks of rows (or columns) restricted to the columns (rows) that
some tile covers, so no n x m dense temporary is formed.
"""

from sklearn_lowrank.boolean._bmf import BooleanMF

__all__ = ["BooleanMF"]
