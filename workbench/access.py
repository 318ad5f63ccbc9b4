"""Who is acting, and what they may see. Blindness is enforced here, in the data layer.

Every function that reads or writes codings takes an `Actor`. Rules:
- a lead sees every coding and may do everything;
- a coder sees only their own codings on a transcript until a lead unblinds it, and codes
  only transcripts assigned to them;
- a viewer (report writer) sees no coder's codings, only the consensus coding a lead built by
  reconciling (stored as the coder "consensus"; it exists only on unblinded transcripts).
A transcript reaches coders and viewers only once a lead has released it after the
anonymisation check (`require_released`, `released_filter`).
The CLI acts as `LEAD_CLI` unless `--as USER` is given: whoever can open the database file can
read all of it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound, WorkbenchError
from .store.models import CONSENSUS_ROLE, Transcript, User


class AccessDenied(WorkbenchError):
    """The acting user's role or the study's state does not allow this."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    user_id: int | None = None

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"

    def require_lead(self, what: str) -> None:
        if not self.is_lead:
            raise AccessDenied(f"only a lead can {what} (you are {self.name}, {self.role})")


LEAD_CLI = Actor("cli", "lead")


def actor_for(session: Session, name: str) -> Actor:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return Actor(user.name, user.role, user.id)


def visible_coder_filter(actor: Actor):
    """A SQL condition on Coding (joined with Transcript) selecting what `actor` may read."""
    from sqlalchemy import false, or_, true

    from .store.models import Coding

    if actor.is_lead:
        return true()
    if actor.role == "coder" and actor.user_id is not None:
        return or_(Coding.coder_id == actor.user_id, Transcript.unblinded_at.is_not(None))
    if actor.role == "viewer":
        consensus = select(User.id).where(User.role == CONSENSUS_ROLE).scalar_subquery()
        return (Coding.coder_id == consensus) & Transcript.unblinded_at.is_not(None)
    return false()


def require_released(actor: Actor, transcript: Transcript) -> None:
    """Coders and viewers may not read or code a transcript before a lead released it."""
    if not actor.is_lead and transcript.reviewed_at is None:
        raise AccessDenied(f"{transcript.title!r} is not released yet: a lead is checking its anonymisation")


def released_filter(actor: Actor):
    """A SQL condition on Transcript selecting what `actor` may read."""
    from sqlalchemy import true

    return true() if actor.is_lead else Transcript.reviewed_at.is_not(None)
