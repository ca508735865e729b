"""Automatic signing's fixtures: here a digitized document runs its tasks too."""

from __future__ import annotations

import pytest

from tests.conftest import MakeAwaiting


@pytest.fixture()
def digitized(digitized_with_tasks: MakeAwaiting) -> MakeAwaiting:
    """A digitized document that runs its tasks too (see the signing conftest)."""
    return digitized_with_tasks
