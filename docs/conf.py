"""Sphinx configuration for sklearn_lowrank.

Build: ``python -m sphinx -W -b html docs docs/_build/html``.  The gallery
runs every example; ``SKLEARN_LOWRANK_QUICK_EXAMPLES=1`` (set by
``tests/test_docs.py``) lets the examples that read it run at reduced size.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Build from a checkout without installing the package.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))
# benchmarks/plot_sweep.py draws the benchmarks page from committed CSVs.
sys.path.insert(0, str(ROOT / "benchmarks"))

import apigen  # noqa: E402

import sklearn_lowrank  # noqa: E402

# The API page lists the __all__ of every public module; regenerate it.
apigen.write()

project = "sklearn_lowrank"
copyright = "sklearn_lowrank developers"
version = release = sklearn_lowrank.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "apigen.py"]
root_doc = "index"

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Types in "Parameters"/"Attributes" become cross-references; words that are
# prose ("of shape", "default") or names that are not documented objects
# (fitted attributes referred to by name, e.g. "same as order_") are left as
# plain text instead of broken links.
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "BaseEstimator": "sklearn.base.BaseEstimator",
    "RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
    "ndarray": "numpy.ndarray",
    "dask array": "dask.array.Array",
    "DataFrame": "pandas.DataFrame",
    "Series": "pandas.Series",
    "callable": "collections.abc.Callable",
    # numpydoc's defaults point these at intersphinx labels (":ref:" / ":term:"),
    # which are broken links (and -W errors) when intersphinx is off.
    "bool": "bool",
    "array_like": "numpy.typing.ArrayLike",
    "array-like": "numpy.typing.ArrayLike",
}
numpydoc_xref_ignore = "all"
numpydoc_validation_checks = set()

# Links into other projects' docs need their inventories from the network:
# on for a hosted build (SKLEARN_LOWRANK_DOCS_INTERSPHINX=1), off by default
# so an offline build (CI, the test suite) has nothing to fail on.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "pandas": ("https://pandas.pydata.org/docs/", None),
    "dask": ("https://docs.dask.org/en/stable/", None),
}
intersphinx_timeout = 5
if os.environ.get("SKLEARN_LOWRANK_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

# -- sphinx-gallery ----------------------------------------------------------
# The gallery's outputs live in the source tree (docs/auto_examples) and are
# reused while an example's file is unchanged.  The test suite's quick build
# re-runs every example (an unchanged example can still break when the
# package changes), and a full build never reuses a quick build's figures.
_QUICK = os.environ.get("SKLEARN_LOWRANK_QUICK_EXAMPLES") == "1"
_QUICK_MARKER = DOCS / "auto_examples" / ".quick-run"
_RERUN_EXAMPLES = _QUICK or _QUICK_MARKER.exists()
if _QUICK:
    _QUICK_MARKER.parent.mkdir(exist_ok=True)
    _QUICK_MARKER.touch()
else:
    _QUICK_MARKER.unlink(missing_ok=True)
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Run every example (the default pattern runs only plot_*.py).
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"(__init__|conftest)\.py$",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_lowrank",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_lowrank": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    "run_stale_examples": _RERUN_EXAMPLES,
}

# -- matplotlib plot directive (benchmark figures from committed CSVs) ---------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.autolayout": True}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_lowrank {release}"
html_short_title = "sklearn_lowrank"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    # The site title sits at the start of the header; the section links go
    # right after it (not centred over it) and collapse into "More" early, so
    # they never overlap the title on narrow screens.
    "logo": {"text": "sklearn_lowrank"},
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "navbar_start": ["navbar-logo"],
    "navbar_center": ["navbar-nav"],
    "navbar_end": ["theme-switcher"],
    "navbar_persistent": ["search-button"],
    "secondary_sidebar_items": ["page-toc"],
    "show_prev_next": False,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": [], "quickstart": [], "benchmarks": []}


# -- docstring fixes applied before numpydoc parses them ----------------------
import re  # noqa: E402

# "ndarray of shape (n_features_in_,)": numpydoc keeps the parenthesised part
# of a type verbatim, where reST reads ``n_features_in_`` as a link to a
# target "n_features_in" that does not exist.  Shapes name fitted attributes
# on purpose, so render them as literals instead of asking every docstring to
# quote them.
_TYPE_LINE = re.compile(r"^(\s*\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*\s+:\s+)(.*)$")
_BARE_ATTRIBUTE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![\w`])")
# Inherited scikit-learn docstrings refer to labels and glossary terms of
# scikit-learn's own docs (":ref:`coefficient of determination <r2_score>`");
# without intersphinx those are broken links, so keep their text only.
_FOREIGN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _fix_docstring(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if intersphinx_mapping == {} and not module.startswith("sklearn_lowrank"):
        lines[:] = [_FOREIGN_ROLE.sub(r"\1", line) for line in lines]
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match:
            head, spec = match.groups()
            lines[i] = head + _BARE_ATTRIBUTE.sub(r"``\1``", spec)


def setup(app):
    # Run before numpydoc (priority 500) so it parses the fixed text.
    app.connect("autodoc-process-docstring", _fix_docstring, priority=100)
