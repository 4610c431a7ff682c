"""The unit of work the store's callers hold.

:meth:`crmbridge.store.repository.Store.session` opens one; the store's functions take it
and run their statements in it; the caller decides when its transaction commits (or
rolls back). Code outside ``crmbridge.store`` names the type from here, so it never
imports the database library itself.
"""

from __future__ import annotations

from sqlmodel import Session

__all__ = ["Session"]
