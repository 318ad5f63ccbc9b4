"""The access policy: who may see and do what, in which state of the study. Enforced here, in
the data layer; pages, the CLI and the tests all ask this module and never compare roles.

- `POLICY` maps named actions (`edit_codebook`, `unblind`, `see_page:agreement`, ...) to the
  roles allowed them; `allowed(actor, action, target)` answers and `require(...)` refuses with a
  one-line message. A transcript as `target` adds the study's state: coders and viewers reach a
  transcript only once a lead has released it after the anonymisation check.
- Blindness is a reading rule, not an action: `visible_coder_filter` is the one SQL condition on
  codings (a lead reads all; a coder their own until a lead unblinds the transcript; a viewer only
  the consensus a lead built by reconciling, which exists only on unblinded transcripts).
- Listings follow the same rules: `readable_transcripts`, `selectable_coders`, `visible_code`.
Every domain function takes the acting `Actor` explicitly. The CLI acts as `LEAD_CLI` unless
`--as USER` is given (whoever can open the database file can read all of it anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from .errors import NotFound, WorkbenchError
from .store.models import CONSENSUS_NAME, CONSENSUS_ROLE, ROLES, Coding, Transcript, User

if TYPE_CHECKING:
    from .store import Study

LEAD, CODER, VIEWER = ROLES
EVERYONE = frozenset(ROLES)
CODERS = frozenset((LEAD, CODER))  # roles that code (a lead may code too)
LEADS = frozenset((LEAD,))


class AccessDenied(WorkbenchError):
    """The acting user's role or the study's state does not allow this."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    user_id: int | None = None
    via: str = ""  # "command line" when the CLI acts as a user (`--as`, no password asked)

    @property
    def signature(self) -> str:
        """Who the audit trail says did it: the account, and how when not signed in."""
        return f"{self.name} (via the {self.via})" if self.via else self.name


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    does: str  # completes "only a lead can ..." in a refusal


# The pages in the order the sidebar shows them: url path -> title. Who sees each is in POLICY.
PAGES = {
    "overview": "Overview",
    "code": "Code",
    "suggestions": "Suggestions",
    "codebook": "Codebook",
    "search": "Search",
    "retrieve": "Coded passages",
    "analysis": "Analysis",
    "memos": "Memos",
    "export": "Export",
    "transcripts": "Transcripts",
    "anonymisation": "Anonymisation",
    "assignments": "Assignments",
    "agreement": "Agreement",
    "reconcile": "Reconcile",
    "matched": "Matched transcripts",
    "accounts": "Accounts",
    "audit": "Audit trail",
}
PAGE_ROLES = {
    "overview": EVERYONE, "code": CODERS, "suggestions": CODERS, "codebook": EVERYONE,
    "search": EVERYONE, "retrieve": EVERYONE, "analysis": CODERS, "memos": EVERYONE, "export": EVERYONE,
    "transcripts": LEADS, "anonymisation": LEADS, "assignments": LEADS, "agreement": LEADS | {VIEWER},
    "reconcile": LEADS, "matched": EVERYONE, "accounts": LEADS, "audit": LEADS,
}
HOME_PAGE = {CODER: "code"}  # the page a role lands on; others land on the overview

POLICY: dict[str, Rule] = {
    # reading
    "read_study": Rule(EVERYONE, "read the study"),
    "read_transcript": Rule(EVERYONE, "read transcripts"),
    "read_codings": Rule(EVERYONE, "read codings"),  # which ones: visible_coder_filter
    "read_all_codings": Rule(LEADS, "read every coder's codings"),
    "read_all_assignments": Rule(LEADS, "see every coder's assignments"),
    "read_unreleased": Rule(LEADS, "read transcripts before they are released"),
    "read_source_files": Rule(LEADS, "see transcripts' original file names"),
    "read_all_memos": Rule(LEADS, "read every memo"),
    "read_others_proposals": Rule(LEADS, "see codes other coders proposed"),
    "read_audit": Rule(LEADS, "read the audit trail"),
    "search": Rule(EVERYONE, "search the study"),
    "analyse": Rule(CODERS, "analyse codings"),
    "export": Rule(EVERYONE, "export quotes"),
    # coding
    "code_transcript": Rule(CODERS, "code"),
    "act_for_other_coders": Rule(LEADS, "act for another coder"),
    "propose_code": Rule(CODERS, "propose codes"),
    "write_memo": Rule(CODERS, "write memos"),
    "edit_any_memo": Rule(LEADS, "change another author's memo"),
    "suggest": Rule(CODERS, "ask for suggestions"),
    "seed_with_consensus": Rule(LEADS, "seed suggestions with the consensus"),
    # running the study
    "manage_transcripts": Rule(LEADS, "import, correct or delete transcripts"),
    "manage_participants": Rule(LEADS, "change the participant key"),
    "review_anonymisation": Rule(LEADS, "run and review the anonymisation check"),
    "release": Rule(LEADS, "release transcripts"),
    "edit_codebook": Rule(LEADS, "change the codebook"),
    "assign": Rule(LEADS, "assign, reopen or unassign transcripts"),
    "unblind": Rule(LEADS, "unblind a transcript"),
    "compute_agreement": Rule(LEADS, "compare coders"),
    "read_agreement_summary": Rule(LEADS | {VIEWER}, "read the agreement summary"),
    "reconcile": Rule(LEADS, "reconcile codings"),
    "write_summaries": Rule(LEADS, "write Framework summaries"),
    "exchange_projects": Rule(LEADS, "import or export whole projects"),
    "manage_accounts": Rule(LEADS, "manage accounts"),
    "backup": Rule(LEADS, "back up or restore the whole study"),
    **{f"see_page:{page}": Rule(roles, f"use the {PAGES[page]} page") for page, roles in PAGE_ROLES.items()},
}

LEAD_CLI = Actor("cli", LEAD)


def _rule(action: str) -> Rule:
    try:
        return POLICY[action]
    except KeyError:
        raise KeyError(f"no action {action!r} in the access policy") from None


def allowed(actor: Actor | None, action: str, target: object = None) -> bool:
    """May `actor` do `action` (on `target`, e.g. a transcript, whose state also counts)?"""
    return actor is not None and refusal(actor, action, target) is None


def refusal(actor: Actor, action: str, target: object = None, doing: str | None = None) -> str | None:
    """Why `actor` may not do `action`, in one line; None when they may. `doing` names the
    particular thing asked for, where the action's own description would be vaguer."""
    rule = _rule(action)
    if actor.role not in rule.roles:
        who = " or ".join(f"a {role}" for role in ROLES if role in rule.roles)
        return f"only {who} can {doing or rule.does} (you are {actor.name}, {actor.role})"
    if isinstance(target, Transcript) and target.reviewed_at is None and actor.role not in POLICY["read_unreleased"].roles:
        return f"{target.title!r} is not released yet: a lead is checking its anonymisation"
    return None


def require(actor: Actor, action: str, target: object = None, doing: str | None = None) -> None:
    """Refuse (AccessDenied, one line) unless `actor` may do `action` on `target`."""
    reason = refusal(actor, action, target, doing)
    if reason:
        raise AccessDenied(reason)


def require_released(actor: Actor, transcript: Transcript) -> None:
    """Coders and viewers may not read or code a transcript before a lead released it."""
    require(actor, "read_transcript", transcript)


def home_page(actor: Actor) -> str:
    return HOME_PAGE.get(actor.role, "overview")


def visible_pages(actor: Actor) -> list[str]:
    return [page for page in PAGES if allowed(actor, f"see_page:{page}")]


def actor_for(session: Session, name: str) -> Actor:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return Actor(user.name, user.role, user.id)


# --- reading rules as SQL conditions and listings --------------------------------------------

def visible_coder_filter(actor: Actor):
    """A SQL condition on Coding (joined with Transcript) selecting what `actor` may read."""
    if actor.role == LEAD:
        return true()
    if actor.role == CODER and actor.user_id is not None:
        return or_(Coding.coder_id == actor.user_id, Transcript.unblinded_at.is_not(None))
    if actor.role == VIEWER:
        return (Coding.coder_id == consensus_user_id()) & Transcript.unblinded_at.is_not(None)
    return false()


def released_filter(actor: Actor):
    """A SQL condition on Transcript selecting what `actor` may read."""
    return true() if allowed(actor, "read_unreleased") else Transcript.reviewed_at.is_not(None)


def consensus_user_id():
    """The consensus pseudo-user's id, as a scalar subquery."""
    return select(User.id).where(User.role == CONSENSUS_ROLE).scalar_subquery()


def is_account(user_table=User):
    """A SQL condition on User: a person's account (not the consensus pseudo-user)."""
    return user_table.role != CONSENSUS_ROLE


def is_coding_account(user_table=User):
    """A SQL condition on User: an account whose role codes."""
    return user_table.role.in_(sorted(CODERS))


def with_role(role: str, user_table=User):
    """A SQL condition on User: accounts with `role` (one of ROLES)."""
    return user_table.role == role


def is_consensus(user: User) -> bool:
    return user.role == CONSENSUS_ROLE


def may_code_as(user: User) -> bool:
    """Whether codings may be recorded under this account (coders and leads code)."""
    return user.role in CODERS


def codings_refusal(actor: Actor, owner: User, transcript: Transcript | None) -> str | None:
    """Why `actor` may not ask for `owner`'s codings (on `transcript`, or anywhere when None):
    a coder reads a colleague's only on an unblinded transcript, a viewer only the consensus."""
    if allowed(actor, "read_all_codings") or owner.id == actor.user_id:
        return None
    if actor.role == VIEWER and owner.role == CONSENSUS_ROLE:
        return None  # visible_coder_filter limits a viewer to unblinded transcripts
    if actor.role == CODER:
        if transcript is not None and transcript.unblinded_at is not None:
            return None
        return f"{actor.name} cannot read {owner.name}'s codings before the transcript is unblinded"
    return f"{actor.name} cannot read {owner.name}'s codings"


def visible_code(actor: Actor, proposed_by_id: int | None) -> bool:
    """A proposed code is visible only to its author and to leads."""
    return (proposed_by_id is None or proposed_by_id == actor.user_id
            or allowed(actor, "read_others_proposals"))


def may_read_memo(actor: Actor, author: User, transcript: Transcript | None) -> bool:
    """Memos are blind like codings: a lead reads all; anyone reads their own and the leads';
    a coder reads a colleague's memo on a transcript once it is unblinded."""
    if allowed(actor, "read_all_memos") or author.id == actor.user_id or author.role == LEAD:
        return True
    return actor.role == CODER and transcript is not None and transcript.unblinded_at is not None


def default_coder(actor: Actor) -> str:
    """Whose coding a report or view shows unless one is chosen: a coder's own, else the consensus."""
    return actor.name if actor.role == CODER else CONSENSUS_NAME


def export_coder(actor: Actor) -> str | None:
    """Whose codings a codings export holds: a coder's own; for anyone else every coding they
    may read (None)."""
    return actor.name if actor.role == CODER else None


def readable_transcripts(study: Study, actor: Actor) -> list[str]:
    """The titles of the transcripts `actor` may read, in order."""
    with study.session() as session:
        return list(session.scalars(select(Transcript.title).where(released_filter(actor)).order_by(Transcript.title)))


def selectable_coders(study: Study, actor: Actor) -> list[str]:
    """Whose coding `actor` may choose for a report or view: a coder their own, a viewer the
    consensus, a lead every account with codings (the consensus first, once there is one)."""
    if not allowed(actor, "read_all_codings"):
        return [default_coder(actor)]
    with study.session() as session:
        names = session.scalars(select(User.name).join(Coding, Coding.coder_id == User.id).distinct())
        return sorted(names, key=lambda n: (n != CONSENSUS_NAME, n))


def coding_accounts(study: Study) -> list[str]:
    """Accounts that code, coders first, then leads (for a lead choosing whose work to view)."""
    with study.session() as session:
        users = session.execute(select(User.name, User.role).where(is_coding_account())).all()
    return [name for name, role in sorted(users, key=lambda u: (u.role != CODER, u.name))]
