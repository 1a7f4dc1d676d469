"""Every public estimator documents itself the numpydoc way."""

import inspect

import pytest

from sklearn_lowrank.discovery import all_estimators

numpydoc = pytest.importorskip("numpydoc.docscrape")


@pytest.mark.parametrize("name, cls", all_estimators())
def test_estimator_docstring_is_complete(name, cls):
    doc = numpydoc.ClassDoc(cls)
    for section in ("Parameters", "Attributes", "References", "Examples"):
        assert doc[section], f"{name} docstring lacks a {section} section"
    documented = {p.name.split(":")[0].strip() for p in doc["Parameters"]}
    documented = {n for entry in documented for n in entry.replace(" ", "").split(",")}
    params = [p for p in inspect.signature(cls).parameters if p != "self"]
    missing = sorted(set(params) - documented)
    assert not missing, f"{name} leaves parameters undocumented: {missing}"
    attributes = {a.name.split(":")[0].strip() for a in doc["Attributes"]}
    assert "n_features_in_" in attributes, f"{name} must document n_features_in_"
