"""The tournament lifecycle: draft → active → finalized (and back), each status change with the
work it causes — refunds for a cancel, frozen results for a finalize, revoked results for a
reopen — run by the worker while the tournament is locked against every other change."""

from pss_core.lifecycle.service import (
    ALLOWED,
    InvalidStatusChange,
    StatusChange,
    change_status,
    desk_refunds,
    frozen_standings,
    job_view,
    snapshots,
)

__all__ = [
    "ALLOWED",
    "InvalidStatusChange",
    "StatusChange",
    "change_status",
    "desk_refunds",
    "frozen_standings",
    "job_view",
    "snapshots",
]
