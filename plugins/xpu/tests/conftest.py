"""Fixtures of ember-xpu's tests; helpers such as ``requires_xpu`` live in
``xpu_support`` beside this file."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def xpu():
    """The xpu backend (tests using it are marked ``requires_xpu``)."""
    from ember.device import get_backend
    return get_backend("xpu")
