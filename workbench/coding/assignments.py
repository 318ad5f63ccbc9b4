"""Assignments: who double-codes which transcript, submission, reopening and unblinding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import AccessDenied, Actor, allowed, may_code_as, released_filter, require, require_released
from ..audit import record
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import Assignment, Transcript, User, utcnow


def transcript_by_title(session: Session, title: str) -> Transcript:
    transcript = session.scalar(select(Transcript).where(Transcript.title == title))
    if transcript is None:
        raise NotFound(f"no transcript titled {title!r}")
    return transcript


def coding_user(session: Session, name: str) -> User:
    """The account `name`, which must be one that codes (a coder or a lead)."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    if not may_code_as(user):
        raise ValidationError(f"{name} is a {user.role}; only coders and leads code")
    return user


def assign(study: Study, actor: Actor, titles: list[str], coders: list[str]) -> int:
    """Assign every named coder to every named transcript. Returns new assignments."""
    require(actor, "assign")
    if not titles or not coders:
        raise ValidationError("choose at least one transcript and one coder")
    added = 0
    with study.transaction() as session:
        users = [coding_user(session, name) for name in coders]
        for title in titles:
            transcript = transcript_by_title(session, title)
            for user in users:
                if session.get(Assignment, (transcript.id, user.id)) is None:
                    session.add(Assignment(transcript_id=transcript.id, coder_id=user.id,
                                           assigned_by=actor.name))
                    record(session, actor.signature, "assignment.add", transcript=title, coder=user.name)
                    added += 1
    return added


def _assignment(session: Session, title: str, coder: str) -> Assignment | None:
    transcript = transcript_by_title(session, title)
    return session.get(Assignment, (transcript.id, coding_user(session, coder).id))


def unassign(study: Study, actor: Actor, title: str, coder: str) -> None:
    require(actor, "assign")
    with study.transaction() as session:
        assignment = _assignment(session, title, coder)
        if assignment is None:
            raise NotFound(f"{coder} is not assigned to {title!r}")
        session.delete(assignment)
        record(session, actor.signature, "assignment.remove", transcript=title, coder=coder)


def open_assignment(session: Session, actor: Actor, transcript: Transcript, coder_id: int) -> Assignment:
    """The assignment under which `coder_id` may change codings on `transcript` now, or an error."""
    require_released(actor, transcript)
    assignment = session.get(Assignment, (transcript.id, coder_id))
    if assignment is None:
        raise AccessDenied(f"{transcript.title!r} is not assigned to this coder")
    if assignment.status == "submitted":
        raise AccessDenied(f"{transcript.title!r} was submitted: codings are frozen until a lead reopens it")
    return assignment


def submit(study: Study, actor: Actor, title: str, coder: str | None = None) -> None:
    """Mark a coder's work on a transcript as submitted (a lead may submit for a coder)."""
    with study.transaction() as session:
        transcript = transcript_by_title(session, title)
        user = coding_user(session, coder) if coder else session.get(User, actor.user_id)
        if user is None:
            raise ValidationError("say whose work to submit (--coder)")
        if user.id != actor.user_id:
            require(actor, "act_for_other_coders", doing="submit another coder's work")
        assignment = open_assignment(session, actor, transcript, user.id)
        assignment.status, assignment.submitted_at = "submitted", utcnow()
        record(session, actor.signature, "assignment.submit", transcript=title, coder=user.name)


def reopen(study: Study, actor: Actor, title: str, coder: str) -> None:
    require(actor, "assign")
    with study.transaction() as session:
        assignment = _assignment(session, title, coder)
        if assignment is None or assignment.status != "submitted":
            raise ValidationError(f"{coder} has not submitted {title!r}")
        assignment.status, assignment.submitted_at = "assigned", None
        record(session, actor.signature, "assignment.reopen", transcript=title, coder=coder)


def unblind(study: Study, actor: Actor, title: str, force: bool = False) -> None:
    """Let coders see each other's codings on a transcript. Normally after every assigned coder
    submitted; `force` overrides (recorded in the audit)."""
    require(actor, "unblind")
    with study.transaction() as session:
        transcript = transcript_by_title(session, title)
        if transcript.unblinded_at is not None:
            raise ValidationError(f"{title!r} is already unblinded")
        waiting = [a.coder.name for a in session.scalars(
            select(Assignment).where(Assignment.transcript_id == transcript.id)) if a.status != "submitted"]
        if waiting and not force:
            raise ValidationError(f"waiting for {' and '.join(sorted(waiting))} to submit {title!r}; "
                                  "unblind anyway to override (the audit records it)")
        transcript.unblinded_at, transcript.unblinded_by = utcnow(), actor.name
        record(session, actor.signature, "transcript.unblind", transcript=title, forced=bool(waiting))


@dataclass
class AssignmentRow:
    transcript: str
    coder: str
    status: str
    assigned_at: datetime
    submitted_at: datetime | None
    unblinded: bool


def list_assignments(study: Study, actor: Actor) -> list[AssignmentRow]:
    """Leads see every assignment; a coder sees their own; a viewer none."""
    with study.session() as session:
        query = select(Assignment).join(Transcript).order_by(Transcript.title, Assignment.coder_id)
        if not allowed(actor, "read_all_assignments"):
            query = query.where(Assignment.coder_id == (actor.user_id or -1), released_filter(actor))
        return [AssignmentRow(a.transcript.title, a.coder.name, a.status, a.assigned_at, a.submitted_at,
                              a.transcript.unblinded_at is not None)
                for a in session.scalars(query)]
