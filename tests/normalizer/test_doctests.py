"""The examples in the normalizer's docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = ("addresses", "categories", "geo", "hours", "identifiers", "listing", "names",
           "phones", "prices", "products", "services", "text", "web")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"normalizer.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
