"""Kept so that ``pss_core.plays`` imports keep working; the values live in
:mod:`pss_core.contract`, which plugins import."""

from pss_core.contract.plays import (
    GameResult,
    GameStart,
    QueueChange,
    QueueJoin,
    TicketSale,
    TokenScope,
)

__all__ = ["GameResult", "GameStart", "QueueChange", "QueueJoin", "TicketSale", "TokenScope"]
