"""The documentation: API page vs ``__all__``, the quickstart runs, the HTML
repr links to the API page, and the whole site builds with zero warnings."""

import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_lowrank

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))
import apigen  # noqa: E402

# Examples that draw nothing on purpose (they print their results).
EXAMPLES_WITHOUT_FIGURE = {"plot_dask_scale_out"}


def _public_objects():
    """``{id(obj): (module, name)}`` over the ``__all__`` of every public
    module, found independently of docs/apigen.py."""
    found = {}
    modules = ["sklearn_lowrank"] + [
        info.name
        for info in pkgutil.walk_packages(sklearn_lowrank.__path__, "sklearn_lowrank.")
        if not any(p.startswith("_") for p in info.name.split("."))
    ]
    for module_name in modules:
        module = importlib.import_module(module_name)
        assert hasattr(module, "__all__"), f"{module_name} has no __all__"
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                found.setdefault(id(obj), (module_name, name))
    return found


def _api_page_entries(text):
    """``[(currentmodule, name)]`` of every autosummary entry of api.rst."""
    entries, module = [], None
    in_autosummary = False
    for line in text.splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif line.startswith(".. autosummary::"):
            in_autosummary = True
        elif (
            in_autosummary
            and line.startswith("   ")
            and not line.strip(" ").startswith(":")
        ):
            entries.append((module, line.strip()))
        elif line and not line.startswith(" "):
            in_autosummary = False
    return entries


def test_api_page_lists_every_public_name_once():
    expected = _public_objects()
    # Sanity: the modules the issue names are among them.
    modules = {module for module, _ in expected.values()}
    assert {"sklearn_lowrank", "sklearn_lowrank.datasets"} <= modules
    entries = _api_page_entries(apigen.render())
    documented = {}
    for module, name in entries:
        obj = getattr(importlib.import_module(module), name)
        assert id(obj) not in documented, f"{module}.{name} documented twice"
        documented[id(obj)] = f"{module}.{name}"
    missing = [".".join(expected[k]) for k in expected.keys() - documented.keys()]
    extra = [documented[k] for k in documented.keys() - expected.keys()]
    assert not missing, f"public names missing from the API page: {missing}"
    assert not extra, f"API page entries not in any __all__: {extra}"
    # Every estimator is documented at the top level, where the HTML repr's
    # "?" link points.
    for name in sklearn_lowrank.__all__:
        obj = getattr(sklearn_lowrank, name)
        if inspect.isclass(obj):
            assert ("sklearn_lowrank", name) in entries


def _quickstart_blocks():
    text = (DOCS / "quickstart.rst").read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:(?: {3}.*)?\n)+)", text)
    return ["\n".join(line[3:] for line in b.splitlines()) for b in blocks]


def test_quickstart_runs(tmp_path, monkeypatch):
    pytest.importorskip("moabb")
    monkeypatch.setenv("MNE_DATA", str(tmp_path))
    monkeypatch.setenv("MOABB_RESULTS", str(tmp_path))
    blocks = _quickstart_blocks()
    assert len(blocks) == 4  # first fit, Pipeline, GridSearchCV, MOABB
    namespace = {}
    for block in blocks:
        exec(compile(block, str(DOCS / "quickstart.rst"), "exec"), namespace)
    # What the page says the blocks show.
    assert namespace["error"] < 1e-4  # exact completion of the unseen entries
    assert namespace["search"].best_score_ > 0.9
    assert len(namespace["results"]) == 1


def test_repr_html_links_to_api_page(monkeypatch, tmp_path):
    from sklearn.pipeline import make_pipeline

    estimators = [
        getattr(sklearn_lowrank, name)
        for name in sklearn_lowrank.__all__
        if inspect.isclass(getattr(sklearn_lowrank, name))
    ]
    assert len(estimators) >= 9
    base = "https://docs.example.org/sklearn_lowrank/"
    monkeypatch.setenv("SKLEARN_LOWRANK_DOCS_URL", base)
    for cls in estimators:
        url = f"{base}generated/sklearn_lowrank.{cls.__name__}.html"
        assert cls()._get_doc_link() == url
        assert f'href="{url}"' in make_pipeline(cls())._repr_html_()
    # Without a hosted URL: the built docs of this checkout if present ...
    monkeypatch.delenv("SKLEARN_LOWRANK_DOCS_URL")
    monkeypatch.setattr(sklearn_lowrank, "_BUILT_DOCS", tmp_path)
    (tmp_path / "generated").mkdir()
    page = tmp_path / "generated" / "sklearn_lowrank.NystromKRR.html"
    page.write_text("")
    assert sklearn_lowrank.NystromKRR()._get_doc_link() == page.as_uri()
    # ... and no link rather than a broken one.
    assert sklearn_lowrank.CEBMF()._get_doc_link() == ""


def _docs_deps_missing():
    for module in ("sphinx", "sphinx_gallery", "numpydoc", "pydata_sphinx_theme"):
        if importlib.util.find_spec(module) is None:
            return module
    return None


@pytest.mark.skipif(
    _docs_deps_missing() is not None,
    reason=f"docs dependency {_docs_deps_missing()} not installed (test extra)",
)
def test_docs_build_without_warnings(tmp_path):
    """``sphinx -W`` over the whole site, gallery included (examples at
    reduced size), then the pages a user would look for exist."""
    out = tmp_path / "html"
    env = dict(os.environ, SKLEARN_LOWRANK_QUICK_EXAMPLES="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.pop("SKLEARN_LOWRANK_DOCS_INTERSPHINX", None)  # offline build
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr

    for page in ("index", "quickstart", "user_guide", "benchmarks", "api"):
        assert (out / f"{page}.html").is_file(), page
    # Every public name has its page (the repr's "?" link target included).
    for module, name in _api_page_entries(apigen.render()):
        assert (out / "generated" / f"{module}.{name}.html").is_file(), name
    # Every example rendered, with its figure.
    examples = sorted((ROOT / "examples").glob("*.py"))
    assert examples
    for example in examples:
        html = (out / "auto_examples" / f"{example.stem}.html").read_text()
        if example.stem not in EXAMPLES_WITHOUT_FIGURE:
            assert f"sphx_glr_{example.stem}_001.png" in html, example.stem
    # One figure per family on the benchmarks page.
    html = (out / "benchmarks.html").read_text()
    n_figures = len(re.findall(r'<img [^>]*src="[^"]*benchmarks-\d+\.png"', html))
    assert n_figures == html.count("<h2>"), (n_figures, html.count("<h2>"))
