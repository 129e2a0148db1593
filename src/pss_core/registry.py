"""Kept so that ``pss_core.registry`` imports keep working; the registrar lives in
:mod:`pss_core.contract`, which plugins import."""

from pss_core.contract.registry import Registry

__all__ = ["Registry"]
