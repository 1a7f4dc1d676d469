"""How the package talks to its user: warnings and verbose lines.

One mechanism for each:

* :func:`warn` issues a warning attributed to the *user's* line of code,
  whatever the depth of decorators (``_fit_context``, ``bounded_fit``) and
  private solvers between that line and the warning.  Python 3.12's
  ``skip_file_prefixes`` does this; we support 3.10, so the stack level is
  counted here instead.
* :func:`warn_not_converged` is the one wording of a ``ConvergenceWarning``:
  it names the estimator, what stopped, and what the user should change.
* :func:`verbose_print` gives every verbose line the same ``[ClassName]``
  prefix.
"""

import os
import sys
import warnings

from sklearn.exceptions import ConvergenceWarning

__all__ = ["estimator_name", "verbose_print", "warn", "warn_not_converged"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _internal_dirs():
    # sklearn's own wrappers (``_fit_context``, ``_SetOutputMixin``) sit
    # between the user and us too; the warning should skip them as well.
    dirs = [_PACKAGE_DIR]
    # joblib too: Pipeline calls its steps through joblib.Memory.
    for name in ("sklearn", "joblib"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            dirs.append(os.path.dirname(os.path.abspath(module.__file__)) + os.sep)
    return tuple(dirs)


def _user_stacklevel():
    """Stack level of the first frame outside this package and sklearn."""
    internal = _internal_dirs()
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(internal):
            return level
        frame = frame.f_back
        level += 1
    return 1


def estimator_name(estimator):
    """The name used in messages: a class name, or the string given."""
    return estimator if isinstance(estimator, str) else type(estimator).__name__


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the user's call, not to our internals."""
    # ``_user_stacklevel`` counts from its caller (this function) = level 1;
    # warnings.warn counts from here too, so the level carries over.
    warnings.warn(message, category, stacklevel=_user_stacklevel())


def warn_not_converged(estimator, *, n_iter, what="iterations", advice=None):
    """Issue the package's one ConvergenceWarning wording.

    Parameters
    ----------
    estimator : estimator instance or str
        Named at the start of the message.
    n_iter : int
        Number of iterations (sweeps, passes) done.
    what : str, default="iterations"
        What ``n_iter`` counts, e.g. ``"sweeps"`` or ``"CG passes"``.
    advice : str or None
        What to change.  Default: raise ``max_iter`` or ``tol``.  Give a
        specific cause when the estimator can tell (e.g. an over-estimated
        rank), since raising ``max_iter`` then does not help.
    """
    if advice is None:
        advice = "increase max_iter or tol"
    warn(
        f"{estimator_name(estimator)} did not converge: stopped after {n_iter} "
        f"{what} (max_iter reached). To fix: {advice}.",
        ConvergenceWarning,
    )


def verbose_print(estimator, message):
    """Print one verbose line with the ``[ClassName]`` prefix."""
    print(f"[{estimator_name(estimator)}] {message}", flush=True)
