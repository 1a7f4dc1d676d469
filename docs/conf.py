"""Sphinx configuration for sklearn_lowrank."""

import importlib.util
import sys
from pathlib import Path

# Build from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sklearn_lowrank

project = "sklearn_lowrank"
version = release = sklearn_lowrank.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples"]
have_pydata_theme = importlib.util.find_spec("pydata_sphinx_theme") is not None
html_theme = "pydata_sphinx_theme" if have_pydata_theme else "alabaster"
