"""The audit trail: who changed what, when. Entries name objects (titles, code paths,
counts), never transcript text."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .access import require
from .store.models import AuditEntry


def record(session: Session, actor: str | None, action: str, **detail) -> None:
    session.add(AuditEntry(actor=actor, action=action, detail=detail))


def entries(session: Session, limit: int = 200) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))


def audit_rows(study, actor, limit: int = 200) -> list[dict]:
    """The newest audit entries as plain dicts (leads only)."""
    require(actor, "read_audit")
    with study.session() as session:
        return [dict(at=e.at, actor=e.actor, action=e.action, detail=e.detail)
                for e in entries(session, limit)]
