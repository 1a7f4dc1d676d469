"""Sphinx configuration for sklearn_lowrank."""

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
html_theme = (
    "pydata_sphinx_theme"
    if __import__("importlib").util.find_spec("pydata_sphinx_theme")
    else "alabaster"
)
