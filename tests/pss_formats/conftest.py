"""Fixtures for the format tests: the test kit's score board (:mod:`pss_testing.board`) with the
built-in plugins only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from pss_core.plugins import Pss
from pss_testing.board import Board, new_board


@pytest.fixture
def board(dbsession: Session, pss: Pss) -> Board:
    return new_board(dbsession, pss)


@pytest.fixture
def make_board(dbsession: Session, pss: Pss) -> Callable[[], Board]:
    """Boards for property tests, which make one per example inside a savepoint."""
    return lambda: new_board(dbsession, pss)
