"""A study at a glance: counts for `workbench status`."""

from __future__ import annotations

from sqlalchemy import func, select

from .access import CODER, Actor, allowed, is_account, released_filter, with_role
from .store import Study
from .store.db import current_revision
from .store.models import Code, Coding, Participant, Segment, Transcript, Turn, User


def study_status(study: Study, actor: Actor) -> dict:
    """Counts of everything in the study. `coders` counts accounts with the coder role;
    `codings` maps every coder (and any other user who has codings) to their number — as far
    as `actor` may see: a coder sees only their own counts."""
    with study.session() as session:
        def count(model) -> int:
            return session.scalar(select(func.count()).select_from(model))

        per_user = dict(session.execute(
            select(User.name, func.count(Coding.id)).join(Coding, Coding.coder_id == User.id, isouter=True)
            .group_by(User.name, User.role).having(with_role(CODER) | (func.count(Coding.id) > 0))
            .order_by(User.name)
        ).all())
        if not allowed(actor, "read_all_codings"):
            per_user = {name: n for name, n in per_user.items() if name == actor.name}
        return {
            "database": study.url,
            "schema_revision": current_revision(study.engine),
            "transcripts": session.scalar(select(func.count()).select_from(Transcript).where(released_filter(actor))),
            "turns": count(Turn),
            "segments": count(Segment),
            "participants": count(Participant),
            "codes": count(Code) if allowed(actor, "read_others_proposals") else session.scalar(  # blind
                select(func.count()).select_from(Code).where(
                    Code.proposed_by_id.is_(None) | (Code.proposed_by_id == (actor.user_id or -1)))),
            "users": session.scalar(select(func.count()).select_from(User).where(is_account())),
            "coders": session.scalar(select(func.count()).select_from(User).where(with_role(CODER))),
            "codings": {name: int(n) for name, n in per_user.items()},
        }
