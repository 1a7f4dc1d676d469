"""The BooleanMF estimator (Elbmf with Asso and NMF starts, Boolean polish)."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from sklearn_lowrank import _dask
from sklearn_lowrank._messages import warn, warn_not_converged
from sklearn_lowrank._threads import bounded_fit
from sklearn_lowrank._validation import check_binary, check_rank
from sklearn_lowrank.boolean._asso import _ASSO_TAUS
from sklearn_lowrank.boolean._candidates import _fit_candidates
from sklearn_lowrank.boolean._mdl import (
    _code_counts,
    _data_bits,
    _fit_code,
    _model_bits,
)
from sklearn_lowrank.boolean._polish import (
    _EXACT_MAX_TILES,
    _boolean_rows_pass,
    _count_ones,
)

__all__ = ["BooleanMF"]


class BooleanMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Boolean matrix factorization by elastic-binary proximal gradient (Elbmf).

    Factorizes a binary matrix X (n_samples x n_features) as the Boolean
    product of binary factors, ``X ~ U o V`` with ``(U o V)_ij = OR_k
    (U_ik AND V_kj)``: every component is a *tile*, a set of rows
    (``U[:, k]``) times a set of columns (``V[k]``), and a cell is 1 if any
    tile covers it.  The fit is Elbmf (Dalleiger & Vreeken, 2022): a
    relaxation to non-negative factors with the elastic-binary regularizer,
    alternating proximal gradient steps (PALM, or iPALM with ``beta > 0``)
    whose regularization strength grows by ``reg_growth`` every iteration,
    and rounding.  Because the relaxation adds overlapping tiles instead of
    OR-ing them, the estimator also starts from thresholded NMF factors and
    from Asso's greedy Boolean cover (``init="auto"``), can restart from
    random factors (``n_init``) and polishes each candidate by exact Boolean
    row and column solves (bit flips above 10 tiles); the candidate with the
    fewest wrong cells wins.

    Parameters
    ----------
    n_components : int, default=10
        Number of tiles k; at most ``min(n_samples, n_features)``.
    binarize : float or None, default=None
        Threshold for real-valued input: entries strictly greater become 1,
        the others 0 (as in :class:`~sklearn.naive_bayes.BernoulliNB`).  With
        None, X must hold only 0 and 1 and any other value raises an error.
        Negative entries of X are rejected in either case, so a negative
        threshold makes every entry 1: dense X becomes the all-ones matrix
        (with a warning), and sparse X raises an error, since its implicit
        zeros would become ones too and the result has no sparse form.
    init : {"auto", "random", "nmf", "asso"}, default="auto"
        Starting points. ``"random"``: Elbmf from the paper's uniform(0, 1)
        factors, one per restart.  ``"nmf"``: Elbmf from NMF factors
        rescaled so that each component's row and column parts have the
        same maximum.  ``"asso"``: the greedy tiles of Asso (Miettinen et
        al. 2008) for each threshold in ``asso_tau``, polished, and Elbmf
        from the best of them.  ``"auto"``: the NMF and Asso starts, plus
        ``n_init`` random ones; the candidate with the fewest wrong cells
        after polishing is kept, so it is never worse than any single one
        with the same ``n_init`` and ``random_state``.  Asso keeps two dense
        float32 tables, the association rows (n_candidates x n_features)
        and the gains (n_samples x n_candidates); n_candidates is capped so
        that they hold at most 25 million cells (~100 MB), taking the
        candidates from the most frequent columns when there are more
        columns than that allows (e.g. 227 of 10 000 for a 100 000 x 10 000
        input).
    asso_tau : float or array-like of float, default=(0.3, 0.5, 0.7, 0.9)
        Asso's association thresholds in (0, 1]: a candidate tile is the set
        of columns that appear in at least a share ``tau`` of the rows
        holding a given column.  Each value gives one greedy cover.
    n_init : int or "auto", default="auto"
        Number of Elbmf runs from random starting points (restarts); used by
        ``init="random"`` and ``init="auto"``.  ``"auto"`` (as in
        :class:`~sklearn.cluster.KMeans`) means 1 for ``init="random"`` and
        0 for ``init="auto"``: a random start is the slowest candidate and
        rarely beats the NMF and Asso starts (comparison in the user
        guide).  Set ``n_init=1`` or more to add random restarts to
        ``"auto"``.
    l1_reg : float, default=0.01
        ``kappa``, the l1 weight of the elastic-binary regularizer.
    l2_reg : float, default=0.02
        Initial ``lambda``, the l2 weight of the regularizer; it grows as
        ``l2_reg * reg_growth**t`` at iteration t.
    reg_growth : float, default=1.02
        Growth rate of the l2 weight (>= 1).  The number of iterations until
        the factors are essentially binary is about ``log(1/l2_reg) /
        log(reg_growth)``; larger rates are faster and cruder.
    beta : float, default=0.0
        Inertia of the iPALM steps in [0, 1); 0 gives plain PALM.
    max_iter : int, default=1000
        Maximum number of Elbmf (proximal gradient) iterations per run.
    tol : float, default=1e-4
        Elbmf stops when ``||X - UV||_F^2`` changes by less than ``tol *
        ||X||_F^2`` between iterations (relative, unlike the reference's
        absolute tolerance).  The polish that follows makes a loose
        tolerance enough (see the user guide).
    polish : bool, default=True
        Finish every candidate by alternating Boolean passes over U and V
        while the number of wrong cells falls: each row of U (column of V)
        becomes the best of all ``2^k`` tile sets given the other factor
        for ``n_components <= 10``, else takes single bit flips that
        strictly lower its error.  Without it the output is the paper's
        rounded Elbmf factors (or Asso's greedy cover).
    max_polish_iter : int, default=50
        Maximum number of alternating polishing passes.
    random_state : int, RandomState instance or None, default=None
        Seed of the random starting points and of NMF.
    verbose : int, default=0
        Print progress (1: per candidate; 2: per iteration).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Binary tiles V (float64 holding only 0.0 and 1.0).
    reconstruction_err_ : int
        Number of wrong cells of ``inverse_transform(transform(X))`` on the
        training data.
    relative_reconstruction_err_ : float
        ``reconstruction_err_`` divided by the number of ones in X (the
        usual relative Boolean loss ``|X xor U o V| / |X|``).
    n_iter_ : int
        Number of Elbmf iterations of the selected candidate (0 if it is
        Asso's greedy cover, polished without Elbmf).
    loss_curve_ : ndarray of shape (n_iter_,)
        ``||X - UV||_F^2`` (relaxed, ordinary product) after each Elbmf
        iteration of the selected candidate.
    polish_curve_ : ndarray
        Wrong cells after rounding and after each polishing half-pass of the
        selected candidate (non-increasing).
    best_init_ : str
        Which starting point gave the selected factors: ``"nmf"``,
        ``"asso"`` or ``"random"``.
    description_length_ : float
        Bits of the training data under the model's two-part code (MDL4BMF,
        Miettinen & Vreeken 2014): ``model_length_`` plus the rows' tile
        sets and the wrong cells; ``score(X_train) = -description_length_ /
        X_train.size``.
    model_length_ : float
        Bits of the model: the number of tiles, each tile's column set, and
        the counts the data code is built from.
    tile_frequencies_ : ndarray of shape (n_components,)
        Share of the training rows using each tile (Krichevsky-Trofimov
        smoothed): the code of a row's tile set in :meth:`score`.
    error_rates_ : ndarray of shape (2,)
        Training rates of uncovered ones (``X = 1`` where no tile of the row
        covers the cell) and of overcovered zeros (``X = 0`` where one
        does), smoothed: the code of the cells in :meth:`score`.
    n_samples_fit_ : int
        Number of training rows (the model length is charged to scored data
        in proportion to its rows).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit. Defined only when X has feature
        names that are all strings.

    See Also
    --------
    sklearn.decomposition.NMF : Real-valued non-negative factorization.
    sklearn.naive_bayes.BernoulliNB : Uses the same ``binarize`` convention.

    Notes
    -----
    Proven in the paper: the PALM/iPALM iterates of the regularized
    relaxation converge (Kurdyka-Lojasiewicz setting) for a fixed
    regularization strength.  Empirical: the growing strength drives the
    factors to {0, 1}.  The polishing never increases the Boolean loss and
    ends at a local optimum: for ``n_components <= 10`` no single row of U
    or column of V can be changed (to any tile set) to lower it, above
    that no single bit flip can.  Neither guarantees the global optimum,
    which is NP-hard to find.

    ``transform`` solves for binary rows with V fixed: exactly over all
    ``2^k`` tile sets when ``n_components <= 10``, else by exact bit flips
    started from the rule "use tile k if the row holds at least half of
    it".  A row that holds no tile's majority and uses no tile stays empty
    (no single tile would lower its error).  ``fit_transform`` returns the
    same thing for the training rows.

    References
    ----------
    .. [1] S. Dalleiger and J. Vreeken, "Efficiently Factorizing Boolean
       Matrices using Proximal Gradient Descent", Advances in Neural
       Information Processing Systems 35 (NeurIPS 2022).
    .. [2] P. Miettinen, T. Mielikainen, A. Gionis, G. Das and H. Mannila,
       "The Discrete Basis Problem", IEEE Transactions on Knowledge and Data
       Engineering 20(10), 2008 (Asso).
    .. [3] T. Pock and S. Sabach, "Inertial Proximal Alternating Linearized
       Minimization (iPALM) for Nonconvex and Nonsmooth Problems", SIAM J.
       Imaging Sciences 9(4), 2016.

    Examples
    --------
    >>> from sklearn_lowrank import BooleanMF
    >>> from sklearn_lowrank.datasets import make_boolean_tiles
    >>> X, U, V = make_boolean_tiles(100, 80, 3, random_state=0)
    >>> bmf = BooleanMF(n_components=3, random_state=0).fit(X)
    >>> bmf.reconstruction_err_
    0
    >>> bmf.transform(X).shape
    (100, 3)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "binarize": [None, Interval(Real, None, None, closed="neither")],
        "init": [StrOptions({"auto", "random", "nmf", "asso"})],
        "asso_tau": [Interval(Real, 0, 1, closed="right"), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "l1_reg": [Interval(Real, 0, None, closed="left")],
        "l2_reg": [Interval(Real, 0, None, closed="neither")],
        "reg_growth": [Interval(Real, 1, None, closed="left")],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "polish": ["boolean"],
        "max_polish_iter": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=10,
        *,
        binarize=None,
        init="auto",
        asso_tau=_ASSO_TAUS,
        n_init="auto",
        l1_reg=0.01,
        l2_reg=0.02,
        reg_growth=1.02,
        beta=0.0,
        max_iter=1000,
        tol=1e-4,
        polish=True,
        max_polish_iter=50,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.binarize = binarize
        self.init = init
        self.asso_tau = asso_tau
        self.n_init = n_init
        self.l1_reg = l1_reg
        self.l2_reg = l2_reg
        self.reg_growth = reg_growth
        self.beta = beta
        self.max_iter = max_iter
        self.tol = tol
        self.polish = polish
        self.max_polish_iter = max_polish_iter
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None):
        """Fit the binary factors to X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self.fit_transform(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @bounded_fit
    def fit_transform(self, X, y=None):
        """Fit the binary factors to X and return its binary row factors.

        The same as ``fit(X).transform(X)``, without solving the rows twice:
        ``fit`` solves them anyway to report ``reconstruction_err_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        U : ndarray of shape (n_samples, n_components)
            Binary (float64 0.0 / 1.0) memberships of each row in each tile.
        """
        X = self._check_X(X, reset=True)
        k = check_rank(self.n_components, X.shape, estimator=self)
        rng = check_random_state(self.random_state)
        best = _fit_candidates(
            X,
            k,
            init=self.init,
            asso_taus=self._asso_taus(),
            n_random_starts=self._n_random_starts(),
            elbmf_params=dict(
                l1_reg=self.l1_reg,
                l2_reg=self.l2_reg,
                reg_growth=self.reg_growth,
                max_iter=self.max_iter,
                tol=self.tol,
                beta=self.beta,
            ),
            polish=self.polish,
            max_polish_iter=self.max_polish_iter,
            random_state=rng,
            verbose=self.verbose,
            estimator=self,
        )
        if not best["converged"]:
            # The factors are near-binary once the l2 weight reaches about 1,
            # after log(1 / l2_reg) / log(reg_growth) iterations.
            settle = np.log(1.0 / self.l2_reg) / np.log(
                max(self.reg_growth, 1.0 + 1e-12)
            )
            warn_not_converged(
                self,
                n_iter=self.max_iter,
                what="Elbmf iterations of a candidate",
                advice=(
                    "increase max_iter (the regularization makes the factors "
                    f"binary after about {max(settle, 0.0):.0f} iterations "
                    "with these l2_reg and reg_growth) or raise reg_growth; "
                    "the Boolean polish already ran on the rounded factors"
                ),
            )
        self.components_ = np.ascontiguousarray(best["V"], dtype=np.float64)
        self.best_init_ = best["name"]
        self.n_iter_ = len(best["losses"])
        self.loss_curve_ = np.asarray(best["losses"], dtype=np.float64)
        self.polish_curve_ = np.asarray(best["curve"], dtype=np.int64)
        # Report the error of what transform gives, so the attribute is
        # reproducible from the public API.
        U, self.reconstruction_err_ = self._solve_rows(X)
        self.relative_reconstruction_err_ = self.reconstruction_err_ / max(
            _count_ones(X), 1
        )
        # The description-length code of ``score``, fixed on the training rows.
        counts = _code_counts(X, U, self.components_, self.reconstruction_err_)
        code = _fit_code(counts)
        self.n_samples_fit_ = X.shape[0]
        self.tile_frequencies_ = code["tile_frequencies"]
        self.error_rates_ = np.array([code["q_under"], code["q_over"]])
        self.model_length_ = _model_bits(self.components_, X.shape[0])
        self.description_length_ = self.model_length_ + _data_bits(counts, code)
        return U

    @_dask.rowwise_transform(lambda est: len(est.components_))  # rows solved alone
    def transform(self, X):
        """Binary row factors U of X, with the tiles V fixed.

        For ``n_components <= 10`` each row is the best of all ``2^k``
        tile sets; otherwise it starts from "use tile k if the row holds at
        least half of it" and takes exact single bit flips while they lower
        the number of wrong cells of that row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).

        Returns
        -------
        U : ndarray of shape (n_samples, n_components)
            Binary (float64 0.0 / 1.0) memberships of each row in each tile.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        U, _ = self._solve_rows(X)
        return U

    def inverse_transform(self, X):
        """Boolean product ``U o V`` (not the real product ``U V``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Binary row factors U; any non-zero entry counts as 1.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``(U @ V > 0)`` as float64 0.0 / 1.0.
        """
        check_is_fitted(self)
        U = np.asarray(X, dtype=np.float64)
        if U.ndim != 2 or U.shape[1] != self.components_.shape[0]:
            raise ValueError(
                f"{type(self).__name__}.inverse_transform expects an array of "
                f"shape (n_samples, {self.components_.shape[0]}), got "
                f"{U.shape}."
            )
        return ((U != 0).astype(np.float64) @ self.components_ > 0).astype(np.float64)

    def score(self, X, y=None):
        """Minus the description length of X in bits per cell (MDL).

        The length of the two-part code of MDL4BMF (Miettinen & Vreeken
        2014) under this model: the tiles (``model_length_``), charged in
        proportion to the number of rows, ``n_samples / n_samples_fit_``;
        each row's tile set (from :meth:`transform`), coded with the tile
        frequencies of the training rows; and the cells the Boolean product
        gets wrong, coded with the training error rates (an uncovered one,
        an overcovered zero).  Shorter is better, so the score is minus the
        length, divided by ``n_samples * n_features``.  A tile that fits
        noise of the training rows costs bits in the model and does not
        shorten held-out rows, so :class:`~sklearn.model_selection.GridSearchCV`
        with this score chooses the number of tiles.  On the training data
        it is ``-description_length_ / X.size``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data (or real data with ``binarize``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Minus the bits per cell; higher is better.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        U, n_wrong = self._solve_rows(X)
        code = dict(
            tile_frequencies=self.tile_frequencies_,
            q_under=self.error_rates_[0],
            q_over=self.error_rates_[1],
        )
        n, m = X.shape
        bits = self.model_length_ * n / self.n_samples_fit_
        bits += _data_bits(_code_counts(X, U, self.components_, n_wrong), code)
        return -bits / max(n * m, 1)

    def _check_X(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
        )
        check_non_negative(X, f"{type(self).__name__} (input X)")
        if self.binarize is not None and self.binarize < 0:
            # X >= 0, so every entry, the implicit zeros of sparse X
            # included, exceeds the threshold: the data is all ones.
            if sp.issparse(X):
                raise ValueError(
                    f"{type(self).__name__}: binarize={self.binarize!r} < 0 "
                    "turns every entry of X into 1, the implicit zeros of a "
                    "sparse matrix included; the all-ones matrix has no sparse "
                    "form. Use binarize >= 0 (entries > binarize become 1), or "
                    "pass a dense X if the all-ones matrix is really meant."
                )
            warn(
                f"{type(self).__name__}: binarize={self.binarize!r} < 0 turns "
                "every entry of the non-negative X into 1; use binarize >= 0 "
                "to keep the zeros.",
                UserWarning,
            )
        X = check_binary(X, estimator=self, binarize=self.binarize)
        # Every solver works in float32 (X holds 0/1 exactly, and products
        # with X, BLAS or sparse, are memory-bound): convert once, here.
        if sp.issparse(X):
            X = X.astype(np.float32)
            X.eliminate_zeros()
            X.sort_indices()
        else:
            X = np.ascontiguousarray(X, dtype=np.float32)
        return X

    def _asso_taus(self):
        taus = np.atleast_1d(np.asarray(self.asso_tau, dtype=np.float64))
        if taus.ndim != 1 or taus.size == 0 or not np.all((taus > 0) & (taus <= 1)):
            raise ValueError(
                f"{type(self).__name__}: asso_tau must be a float or a "
                f"non-empty list of floats in (0, 1], got {self.asso_tau!r}."
            )
        return taus

    def _n_random_starts(self):
        """``n_init`` resolved: "auto" is 1 for init="random", else 0."""
        if self.n_init == "auto":
            return 1 if self.init == "random" else 0
        return self.n_init

    def _solve_rows(self, X):
        """Binary rows for X with the tiles fixed, and their wrong cells:
        the exact optimum per row for up to ``_EXACT_MAX_TILES`` tiles, else
        bit flips from the majority rule."""
        exact = self.components_.shape[0] <= _EXACT_MAX_TILES
        return _boolean_rows_pass(X, None, self.components_, exact=exact)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        return tags
