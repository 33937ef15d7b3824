"""Fixtures of the deploy tests (helpers in deploy_support.py)."""
from __future__ import annotations

import pytest

from deploy_support import bare_node


@pytest.fixture
def node(tmp_path):
    h = bare_node(tmp_path / "ledger")
    yield h
    h.stop()
