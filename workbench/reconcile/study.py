"""Reconciliation: from the coders' independent codings of a transcript to one consensus coding.

After a lead unblinds a transcript, `reconcile_queue` lists every place its coders differ as an
item (see `workbench.reconcile.items`). `carry_agreed` carries spans both coders gave exactly
into the consensus; `decide_item` records the lead's decision on one item — keep coder A's,
coder B's, both, neither, or an edited set of spans and codes — and writes the consensus
codings it implies. The consensus is stored as its own coder (a user named "consensus" with the
role "consensus", who cannot sign in), so agreement, exports and search treat it like any coder.

A decision remembers the coders' codings it was made on (their GUIDs and a signature of their
codes and spans). When a codebook change re-points those codings, or an item gains or loses
codings, the decision is *flagged* for review; deciding the item again replaces it. Coders are
shown as A and B in an order drawn from the transcript's GUID, so hiding names really hides them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..access import Actor, is_account, is_consensus, require
from ..audit import record
from ..codebook.study import CodeIndex
from ..coding.assignments import transcript_by_title
from ..coding.codings import check_span
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import CONSENSUS_NAME, CONSENSUS_ROLE, Assignment, Code, Coding, ReconcileDecision, Transcript, User
from .items import CodingRef, Item, build_items

STATUSES = ("open", "decided", "flagged")
LETTERS = "ABCDEFGH"


@dataclass
class QueueItem:
    item: Item
    status: str  # open | decided | flagged
    decision: dict | None = None  # choice, kept, rationale, decided_by, decided_at
    consensus: list[CodingRef] = field(default_factory=list)  # what the decision put in the consensus

    @property
    def key(self) -> str:
        return self.item.key


@dataclass
class Queue:
    transcript: str
    coders: list[str]  # in A, B order
    items: list[QueueItem]
    orphaned: int  # decisions whose codings are all gone (their consensus codings stay)

    def letter(self, coder: str) -> str:
        return LETTERS[self.coders.index(coder)]

    def counts(self) -> dict[str, int]:
        agreed = sum(1 for q in self.items if q.item.kind == "agreed")
        differ = [q for q in self.items if q.item.kind != "agreed"]
        return {
            "items": len(differ),
            "agreed": agreed,
            "agreed_carried": sum(1 for q in self.items if q.item.kind == "agreed" and q.status == "decided"),
            "decided": sum(1 for q in differ if q.status == "decided"),
            "open": sum(1 for q in differ if q.status == "open"),
            "flagged": sum(1 for q in self.items if q.status == "flagged") + self.orphaned,
        }

    def find(self, key: str) -> QueueItem:
        for entry in self.items:
            if entry.key == key:
                return entry
        raise NotFound(f"no reconcile item {key!r} in {self.transcript!r} (the coding may have changed: "
                       "reload the queue)")


def consensus_user(session: Session, create: bool = False) -> User | None:
    user = session.scalar(select(User).where(User.name == CONSENSUS_NAME))
    if user is not None and not is_consensus(user):
        raise ValidationError(f"an account is named {CONSENSUS_NAME!r}; rename it so the consensus coding "
                              "can be stored under that name")
    if user is None and create:
        user = User(name=CONSENSUS_NAME, role=CONSENSUS_ROLE)
        session.add(user)
        session.flush()
    return user


def _ordered(coders: list[str], transcript: Transcript) -> list[str]:
    return sorted(coders, key=lambda name: hashlib.sha256(f"{transcript.guid}:{name}".encode()).hexdigest())


def transcript_coders(session: Session, transcript: Transcript) -> list[str]:
    """The coders whose work on `transcript` is reconciled (assigned or with codings), A/B order."""
    assigned = set(session.scalars(select(User.name).join(Assignment, Assignment.coder_id == User.id)
                                   .where(Assignment.transcript_id == transcript.id)))
    coded = set(session.scalars(select(User.name).join(Coding, Coding.coder_id == User.id)
                                .where(Coding.transcript_id == transcript.id, is_account())))
    return _ordered(sorted(assigned | coded), transcript)


def _refs(session: Session, transcript: Transcript, coder_names: list[str] | None,
          index: CodeIndex) -> list[CodingRef]:
    query = (select(Coding, User.name).join(User, Coding.coder_id == User.id)
             .where(Coding.transcript_id == transcript.id))
    query = query.where(User.name.in_(coder_names)) if coder_names is not None else query
    return [CodingRef(c.guid, name, c.code.guid, index.path(c.code), c.start, c.end, c.memo)
            for c, name in session.execute(query)]


def _reconcilable(session: Session, actor: Actor, title: str) -> Transcript:
    require(actor, "reconcile")
    transcript = transcript_by_title(session, title)
    if transcript.unblinded_at is None:
        raise ValidationError(f"{title!r} is still blind: unblind it before reconciling")
    return transcript


def _queue(session: Session, transcript: Transcript) -> Queue:
    coders = transcript_coders(session, transcript)
    if len(coders) < 2:
        raise ValidationError(f"{transcript.title!r} has fewer than two coders: nothing to reconcile")
    index = CodeIndex(session)
    items = build_items(_refs(session, transcript, coders, index), coders)
    decisions = list(session.scalars(select(ReconcileDecision).where(
        ReconcileDecision.transcript_id == transcript.id)))
    consensus = consensus_user(session)
    produced: dict[int, list[CodingRef]] = {}
    if consensus is not None:
        for coding in session.scalars(select(Coding).where(
                Coding.transcript_id == transcript.id, Coding.coder_id == consensus.id,
                Coding.decision_id.is_not(None))):
            produced.setdefault(coding.decision_id, []).append(CodingRef(
                coding.guid, CONSENSUS_NAME, coding.code.guid, index.path(coding.code), coding.start,
                coding.end, coding.memo))
    touched: set[int] = set()
    out = []
    for item in items:
        guids = {c.guid for c in item.codings}
        related = [d for d in decisions if guids & set(d.coding_guids)]
        touched |= {d.id for d in related}
        if not related:
            out.append(QueueItem(item, "open"))
            continue
        exact = len(related) == 1 and related[0].item_key == item.key and related[0].signature == item.signature
        decision = related[0]
        out.append(QueueItem(item, "decided" if exact else "flagged", _decision_dict(decision),
                             [ref for d in related for ref in produced.get(d.id, [])]))
    orphaned = sum(1 for d in decisions if d.id not in touched)
    return Queue(transcript.title, coders, out, orphaned)


def _decision_dict(decision: ReconcileDecision) -> dict:
    return {"choice": decision.choice, "kept": list(decision.kept), "rationale": decision.rationale,
            "decided_by": decision.decided_by, "decided_at": decision.decided_at, "kind": decision.kind}


def reconcile_queue(study: Study, actor: Actor, title: str) -> Queue:
    """The reconcile items of one unblinded transcript with their status (lead only)."""
    with study.session() as session:
        return _queue(session, _reconcilable(session, actor, title))


def carry_agreed(study: Study, actor: Actor, title: str) -> int:
    """Carry every span the coders gave identically into the consensus (idempotent). Returns
    how many were carried now."""
    with study.transaction() as session:
        transcript = _reconcilable(session, actor, title)
        queue = _queue(session, transcript)
        todo = [q for q in queue.items if q.item.kind == "agreed" and q.status == "open"]
        for entry in todo:
            _write_decision(session, actor, transcript, entry.item, "agreed", queue.coders[:],
                            [(c.code_guid, c.start, c.end, c.memo) for c in entry.item.codings[:1]], "")
        if todo:
            record(session, actor.signature, "reconcile.carry", transcript=title, carried=len(todo))
        return len(todo)


def decide_item(study: Study, actor: Actor, title: str, key: str, keep: list[str] | None = None,
                spans: list[tuple[str, int, int]] | None = None, rationale: str = "") -> int:
    """Decide one item: `keep` names the coders whose codings in it go into the consensus
    (all of them: both; none: neither), or `spans` gives the consensus directly as
    (code, start, end) triples (the lead's edit). Replaces any earlier decision on the same
    codings. Returns how many consensus codings the item now has."""
    if (keep is None) == (spans is None):
        raise ValidationError("give either the coders whose codings to keep, or edited spans")
    with study.transaction() as session:
        transcript = _reconcilable(session, actor, title)
        queue = _queue(session, transcript)
        entry = queue.find(key)
        item = entry.item
        if keep is not None:
            unknown = [name for name in keep if name not in queue.coders]
            if unknown:
                raise ValidationError(f"{unknown[0]!r} is not one of this transcript's coders "
                                      f"({', '.join(queue.coders)})")
            chosen = _union([(c.code_guid, c.start, c.end, c.memo) for c in item.codings if c.coder in keep])
            if not chosen and keep:
                raise ValidationError(f"{', '.join(keep)} coded nothing in this item")
            choice = "agreed" if item.kind == "agreed" and keep else ("keep" if keep else "neither")
            kept = [name for name in queue.coders if name in keep]
        else:
            index = CodeIndex(session)
            chosen = []
            for ref, start, end in spans:
                code = index.resolve(ref)
                if code.retired:
                    raise ValidationError(f"code {ref!r} is retired and cannot be applied")
                check_span(transcript.text, start, end)
                chosen.append((code.guid, start, end, ""))
            choice, kept = "edit", []
        guids = {c.guid for c in item.codings}
        for old in session.scalars(select(ReconcileDecision).where(
                ReconcileDecision.transcript_id == transcript.id)):
            if guids & set(old.coding_guids):
                _delete_decision(session, old)
        made = _write_decision(session, actor, transcript, item, choice, kept, chosen, rationale.strip())
        record(session, actor.signature, "reconcile.decide", transcript=title, item=key, kind=item.kind,
               start=item.start, end=item.end, codes=item.codes, choice=choice, kept=kept,
               consensus_codings=made, rationale=bool(rationale.strip()))
        return made


def _union(spans: list[tuple[str, int, int, str]]) -> list[tuple[str, int, int, str]]:
    """Overlapping spans of the same code become one (keeping both coders' passages of a code
    means the passage either of them marked, not the same code twice, nested)."""
    out: list[list] = []
    for code, start, end, memo in sorted(spans):
        last = out[-1] if out else None
        if last and last[0] == code and start < last[2]:
            last[2] = max(last[2], end)
            last[3] = "\n".join(m for m in (last[3], memo) if m and m not in last[3])
        else:
            out.append([code, start, end, memo])
    return [tuple(x) for x in out]


def _delete_decision(session: Session, decision: ReconcileDecision) -> None:
    session.execute(delete(Coding).where(Coding.decision_id == decision.id))
    session.delete(decision)
    session.flush()


def _write_decision(session: Session, actor: Actor, transcript: Transcript, item: Item, choice: str,
                    kept: list[str], spans: list[tuple[str, int, int, str]], rationale: str) -> int:
    consensus = consensus_user(session, create=True)
    decision = ReconcileDecision(transcript_id=transcript.id, item_key=item.key, signature=item.signature,
                                 coding_guids=sorted(c.guid for c in item.codings), kind=item.kind,
                                 choice=choice, kept=kept, rationale=rationale, decided_by=actor.name)
    session.add(decision)
    session.flush()
    codes = {c.guid: c.id for c in session.scalars(select(Code).where(
        Code.guid.in_({guid for guid, *_ in spans})))}
    existing = {(c.code_id, c.start, c.end) for c in session.scalars(select(Coding).where(
        Coding.transcript_id == transcript.id, Coding.coder_id == consensus.id))}
    made = 0
    for code_guid, start, end, memo in spans:
        key = (codes[code_guid], start, end)
        if key in existing:
            continue
        existing.add(key)
        session.add(Coding(coder_id=consensus.id, code_id=codes[code_guid], transcript_id=transcript.id,
                           start=start, end=end, memo=memo, origin="reconcile", round=2,
                           decision_id=decision.id))
        made += 1
    session.flush()
    return made


def reconcile_status(study: Study, actor: Actor, titles: list[str] | None = None) -> list[dict]:
    """Progress per transcript (keys documented in docs/cli.md under `reconcile status`)."""
    require(actor, "reconcile")
    with study.session() as session:
        query = select(Transcript).order_by(Transcript.title)
        if titles:
            for title in titles:
                transcript_by_title(session, title)
            query = query.where(Transcript.title.in_(titles))
        consensus = consensus_user(session)
        rows = []
        for transcript in session.scalars(query):
            coders = transcript_coders(session, transcript)
            row = {"transcript": transcript.title, "coders": sorted(coders),
                   "unblinded": transcript.unblinded_at is not None,
                   "items": None, "agreed": None, "agreed_carried": None, "decided": None, "open": None,
                   "flagged": None, "consensus_codings": 0, "complete": False}
            if consensus is not None:
                row["consensus_codings"] = session.scalar(select(func.count(Coding.id)).where(
                    Coding.transcript_id == transcript.id, Coding.coder_id == consensus.id))
            if row["unblinded"] and len(coders) >= 2:
                counts = _queue(session, transcript).counts()
                row.update(counts)
                row["complete"] = (counts["open"] == 0 and counts["flagged"] == 0
                                   and counts["agreed_carried"] == counts["agreed"])
            rows.append(row)
        return rows


@dataclass
class AgreementChange:
    comparison: str
    coders: list[str]
    transcripts: list[str]
    kappa: float | None
    alpha: float | None
    percent: float | None
    note: str = ""


CODEBOOK_CHANGED = ("Codes were merged or split after these transcripts were unblinded: both figures use the "
                    "codebook as it is now (a merge can raise the “before” value). The blind round's own figure "
                    "is the Agreement report exported at unblinding.")


def reconcile_agreement(study: Study, actor: Actor, unit: str = "sentence") -> list[AgreementChange]:
    """Agreement before reconciliation (coder A vs coder B) and after (each coder vs the
    consensus), on the transcripts reconciled completely — for the methods section."""
    from ..agreement.study import report_json, study_agreement

    done = [row for row in reconcile_status(study, actor) if row["complete"]]
    if not done:
        raise ValidationError("no transcript is fully reconciled yet")
    by_pair: dict[tuple[str, ...], list[str]] = {}
    for row in done:
        by_pair.setdefault(tuple(row["coders"]), []).append(row["transcript"])
    with study.session() as session:
        from ..store.models import AuditEntry

        unblinded = min(t.unblinded_at for t in session.scalars(select(Transcript).where(
            Transcript.title.in_([row["transcript"] for row in done]))))
        changed = session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action.in_(("code.merge", "code.split")), AuditEntry.at > unblinded))
    note = CODEBOOK_CHANGED if changed else ""
    out = []
    for coders, titles in sorted(by_pair.items()):
        comparisons = [(f"{' vs '.join(coders)} (before)", list(coders))]
        comparisons += [(f"{coder} vs consensus (after)", [coder, CONSENSUS_NAME]) for coder in coders]
        for label, pair in comparisons:
            overall = report_json(study_agreement(study, actor, pair, titles, unit=unit, draws=0))["overall"]
            values = overall["coefficients"] if overall else {}
            out.append(AgreementChange(label, pair, titles,
                                       values.get("cohen_kappa", {}).get("value"),
                                       values.get("krippendorff_alpha", {}).get("value"),
                                       values.get("percent_agreement", {}).get("value"), note))
    return out
