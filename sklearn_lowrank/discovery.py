"""Discovery of the package's public estimators (the one registry).

Mirrors :func:`sklearn.utils.discovery.all_estimators`: walking the package
means that adding an estimator class to any public module puts it under the
common checks and the shared tests without editing a list by hand.
"""

import inspect
import pkgutil
from importlib import import_module

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]


def all_estimators():
    """Return the public estimator classes of sklearn_lowrank.

    Returns
    -------
    estimators : list of (name, class) tuples
        Sorted by name. A class is public when its name does not start with
        an underscore and it is reachable from a public module (one whose
        path has no part starting with an underscore), as in scikit-learn.
    """
    import sklearn_lowrank

    found = {}
    for info in pkgutil.walk_packages(
        sklearn_lowrank.__path__, prefix="sklearn_lowrank."
    ):
        parts = info.name.split(".")
        if any(p.startswith("_") or p == "tests" for p in parts[1:]):
            continue
        module = import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and not name.startswith("_")
                and cls.__module__.startswith("sklearn_lowrank")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    return sorted(found.items())
