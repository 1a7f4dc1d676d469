"""Write ``docs/api.rst`` from the ``__all__`` of every public module.

Run by ``conf.py`` at the start of every build, so the API page lists exactly
the public names and cannot go stale; ``tests/test_docs.py`` checks the page
against the ``__all__`` lists.  A public module is any module or package of
``sklearn_lowrank`` whose dotted path has no component starting with ``_``;
every one must define ``__all__``.  Each object is documented once, under the
first public module (shortest path first) that exports it, so the estimators
appear as ``sklearn_lowrank.X`` and the geometry as
``sklearn_lowrank.riemann.x``.
"""

import importlib
import inspect
import pkgutil
from pathlib import Path

PACKAGE = "sklearn_lowrank"

# Section titles by module; a module missing here gets its own path as title.
TITLES = {
    PACKAGE: "Estimators",
    f"{PACKAGE}.datasets": "Data generators and loaders",
    f"{PACKAGE}.discovery": "Utilities",
}

INTRO = """\
API reference
=============

This page is generated from the ``__all__`` list of every public module
(``docs/apigen.py``), so every public name appears here exactly once, under
the shortest import path that exports it.

"""


def public_modules(package=PACKAGE):
    """Public module names, shortest path first."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names, key=lambda name: (name.count("."), name))


def documented_objects(package=PACKAGE):
    """``{module: [name, ...]}``: each public class or function, once."""
    seen = set()
    sections = {}
    for module_name in public_modules(package):
        module = importlib.import_module(module_name)
        if not hasattr(module, "__all__"):
            raise RuntimeError(f"public module {module_name} has no __all__")
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue  # __version__ and other data
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            sections.setdefault(module_name, []).append(name)
    order = list(TITLES)
    order.remove(f"{PACKAGE}.discovery")  # utilities last

    def rank(module_name):
        if module_name == f"{PACKAGE}.discovery":
            return (2, 0, module_name)
        if module_name in order:
            return (0, order.index(module_name), module_name)
        return (1, 0, module_name)

    return {m: sections[m] for m in sorted(sections, key=rank)}


def render(package=PACKAGE):
    """The text of ``api.rst``."""
    out = [INTRO]
    for module_name, names in documented_objects(package).items():
        title = TITLES.get(module_name, f"``{module_name}``")
        out.append(f"{title}\n{'-' * len(title)}\n\n")
        out.append(f".. currentmodule:: {module_name}\n\n")
        out.append(".. autosummary::\n   :toctree: generated/\n\n")
        classes = [n for n in names if inspect.isclass(_get(module_name, n))]
        functions = [n for n in names if n not in classes]
        for name in classes + sorted(functions):
            out.append(f"   {name}\n")
        out.append("\n")
    return "".join(out).rstrip() + "\n"


def _get(module_name, name):
    return getattr(importlib.import_module(module_name), name)


def write(path=None):
    """Write the page if its text changed (keeps Sphinx's cache valid), and
    delete autosummary stubs of names that left the API (autosummary never
    does; an orphaned stub is a build warning and a stale page)."""
    text = render()
    path = Path(path) if path else Path(__file__).with_name("api.rst")
    current = {
        f"{module}.{name}.rst"
        for module, names in documented_objects().items()
        for name in names
    }
    for stub in (path.parent / "generated").glob("*.rst"):
        if stub.name not in current:
            stub.unlink()
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
