"""Test-session set-up shared by every test module."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport() -> Iterator[None]:
    # CPython 3.11 before 3.11.8 can fail with "AST constructor recursion depth mismatch" when a
    # garbage collection runs finalizers while pytest parses source for a failure report; a
    # collection first leaves nothing for that one to do.
    gc.collect()
    yield
