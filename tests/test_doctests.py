"""The runnable examples in every docstring of theory/ (STYLE: the docstring carries the math and one example)."""

import doctest
import importlib
import pkgutil

import pytest

import theory

MODULES = [f"theory.{m.name}" for m in pkgutil.iter_modules(theory.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
