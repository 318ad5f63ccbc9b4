"""Codebook operations with codings following: move, merge, split, retire, and accepting or
rejecting the codes coders proposed while coding (merging their draft frames).

Each operation is a lead's, runs in one transaction and writes one audit entry. Rename and
definition edits are `workbench.codebook.edit_code`. Nothing is deleted: a merged code is
retired with `merged_into` pointing at its target, a split code is retired after its codings
moved to the new codes, a rejected proposal is retired with its codings kept for history.
Inverses: move ↔ move back, retire ↔ unretire, rename ↔ rename back, split ↔ merge back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Actor, is_account, require
from ..audit import record
from ..errors import ValidationError
from ..store import Study
from ..store.models import Code, Coding, FrameworkSummary, Memo, SuggestionDecision, User
from .spec import MAX_DEPTH, check_name
from .study import CodeIndex


def _code(session: Session, ref: str, index: CodeIndex | None = None) -> Code:
    return (index or CodeIndex(session)).resolve(ref)


def _ancestors(code: Code | None):
    while code is not None:
        yield code
        code = code.parent


def _levels(code: Code) -> int:
    """Levels of the tree `code` heads: 1 for a code without sub-codes (retired ones count: they
    are exported with the history and must import again)."""
    levels, generation = 0, [code]
    while generation:
        levels += 1
        generation = [child for parent in generation for child in parent.children]
    return levels


def _check_depth(code: Code, parent: Code | None) -> None:
    """Refuse a place under `parent` that would put `code`'s deepest sub-code past `MAX_DEPTH`,
    the limit every codebook file is held to on import."""
    if parent is None:
        return  # the top level never adds depth
    deepest = len(list(_ancestors(parent))) + _levels(code)
    if deepest > MAX_DEPTH:
        raise ValidationError(f"{code.name!r} under {parent.name!r} would nest codes {deepest} levels deep; "
                              f"the code tree has at most {MAX_DEPTH} levels")


def _check_sibling_name(session: Session, parent_id: int | None, name: str, exclude: int | None = None) -> None:
    clash = session.scalar(select(Code.id).where(
        Code.parent_id.is_(None) if parent_id is None else Code.parent_id == parent_id,
        Code.id != (exclude or -1), func.lower(Code.name) == name.lower()))
    if clash:
        raise ValidationError(f"a code named {name!r} already exists there (it may be retired)")


def _place(session: Session, code: Code, parent: Code | None) -> None:
    if parent is not None and any(a.id == code.id for a in _ancestors(parent)):
        raise ValidationError(f"cannot move {code.name!r} under itself or one of its sub-codes")
    _check_depth(code, parent)
    _check_sibling_name(session, parent.id if parent else None, code.name, exclude=code.id)
    code.parent_id = parent.id if parent else None
    code.parent = parent
    code.position = session.scalar(select(func.count()).select_from(Code).where(
        Code.parent_id.is_(None) if parent is None else Code.parent_id == parent.id, Code.id != code.id))


def move_code(study: Study, actor: Actor, ref: str, parent: str | None) -> str:
    """Move a code (with its sub-codes and codings) under `parent`, or to the top level when
    `parent` is None. Returns its new path."""
    require(actor, "edit_codebook")
    with study.transaction() as session:
        index = CodeIndex(session)
        code = _code(session, ref, index)
        before = index.path(code)
        _place(session, code, _code(session, parent, index) if parent else None)
        session.flush()
        after = CodeIndex(session).path(code)
        record(session, actor.signature, "code.move", code=code.guid, path=before, to=after)
        return after


@dataclass
class MergeReport:
    target: str
    merged: list[str]
    repointed: int
    duplicates_removed: int
    children_moved: int


def merge_codes(study: Study, actor: Actor, sources: list[str], target: str) -> MergeReport:
    """Merge `sources` into `target`: their codings are re-pointed to `target` (a coding that
    would then duplicate one the same coder already has on the same span is removed), their
    sub-codes and memos move to `target`, and each source is retired with `merged_into` set."""
    require(actor, "edit_codebook")
    if not sources:
        raise ValidationError("name at least one code to merge")
    with study.transaction() as session:
        index = CodeIndex(session)
        into = _code(session, target, index)
        if into.retired:
            raise ValidationError(f"{index.path(into)!r} is retired: choose a current code to merge into")
        merged, repointed, removed, moved = [], 0, 0, 0
        seen: set[int] = set()
        for ref in sources:
            source = _code(session, ref, index)
            if source.id == into.id:
                raise ValidationError(f"cannot merge {index.path(source)!r} into itself")
            if source.id in seen:
                continue
            seen.add(source.id)
            if any(a.id == source.id for a in _ancestors(into)):
                raise ValidationError(f"cannot merge {index.path(source)!r} into its own sub-code "
                                      f"{index.path(into)!r}")
            merged.append(index.path(source))
            r, d = _repoint(session, source, into)
            repointed, removed = repointed + r, removed + d
            for child in list(session.scalars(select(Code).where(Code.parent_id == source.id))):
                _place(session, child, into)
                moved += 1
            for memo in session.scalars(select(Memo).where(Memo.code_id == source.id)):
                memo.code_id = into.id
            _merge_summaries(session, source, into)
            _merge_suggestion_answers(session, source, into)
            source.retired = True
            source.merged_into_id = into.id
            session.flush()
        path = index.path(into)
        record(session, actor.signature, "code.merge", codes=merged, into=path, target=into.guid,
               repointed=repointed, duplicates_removed=removed)
        return MergeReport(path, merged, repointed, removed, moved)


def _merge_summaries(session: Session, source: Code, into: Code) -> None:
    """Framework summaries follow a merge; two for the same participant are joined."""
    existing = {s.participant_id: s for s in session.scalars(
        select(FrameworkSummary).where(FrameworkSummary.code_id == into.id))}
    for summary in list(session.scalars(select(FrameworkSummary).where(FrameworkSummary.code_id == source.id))):
        kept = existing.get(summary.participant_id)
        if kept is None:
            summary.code_id = into.id
        else:
            kept.text = f"{kept.text}\n{summary.text}"
            session.delete(summary)


def _merge_suggestion_answers(session: Session, source: Code, into: Code) -> None:
    """Coders' answers to suggestions follow a merge; where a coder answered for both codes,
    the answer about the target stands."""
    answered = {(a.coder_id, a.transcript_id, a.start, a.text_hash) for a in session.scalars(
        select(SuggestionDecision).where(SuggestionDecision.code_id == into.id))}
    for answer in list(session.scalars(select(SuggestionDecision).where(SuggestionDecision.code_id == source.id))):
        if (answer.coder_id, answer.transcript_id, answer.start, answer.text_hash) in answered:
            session.delete(answer)
        else:
            answer.code_id = into.id


def _repoint(session: Session, source: Code, into: Code) -> tuple[int, int]:
    """Move `source`'s codings to `into`; drop the ones that would duplicate. (re-pointed, removed)"""
    have = {(c.coder_id, c.transcript_id, c.start, c.end)
            for c in session.scalars(select(Coding).where(Coding.code_id == into.id))}
    repointed = removed = 0
    for coding in list(session.scalars(select(Coding).where(Coding.code_id == source.id))):
        key = (coding.coder_id, coding.transcript_id, coding.start, coding.end)
        if key in have:
            session.delete(coding)
            removed += 1
        else:
            have.add(key)
            coding.code_id = into.id
            repointed += 1
    session.flush()
    return repointed, removed


def retire_code(study: Study, actor: Actor, ref: str, retired: bool = True) -> str:
    """Retire a code (hidden from coding, kept with its codings for history), or bring it back
    with `retired=False`. A code with current sub-codes cannot be retired."""
    require(actor, "edit_codebook")
    with study.transaction() as session:
        index = CodeIndex(session)
        code = _code(session, ref, index)
        if retired and any(not c.retired for c in code.children):
            raise ValidationError(f"{index.path(code)!r} has current sub-codes: retire, merge or move them first")
        if not retired and code.parent is not None and code.parent.retired:
            raise ValidationError(f"its parent {index.path(code.parent)!r} is retired: bring that back first")
        code.retired = retired
        if not retired:
            code.merged_into_id = None
        record(session, actor.signature, "code.retire" if retired else "code.unretire",
               code=code.guid, path=index.path(code))
        return index.path(code)


def split_suggestions(study: Study, actor: Actor, ref: str, into: dict[str, str]) -> dict[int, str]:
    """For each coding of the code, the new code (of `into`: name → description) whose name and
    description are most like the coded text (TF-IDF cosine). A suggestion only: the lead decides."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    require(actor, "edit_codebook")
    if len(into) < 2:
        raise ValidationError("split into at least two codes")
    names = list(into)
    with study.session() as session:
        code = _code(session, ref)
        codings = list(session.scalars(select(Coding).where(Coding.code_id == code.id).order_by(Coding.id)))
        texts = [c.transcript.text[c.start:c.end] for c in codings]
    if not codings:
        return {}
    labels = [f"{name} {description}" for name, description in into.items()]
    vectors = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(texts + labels)
    scores = cosine_similarity(vectors.transform(texts), vectors.transform(labels))
    return {coding.id: names[int(row.argmax())] for coding, row in zip(codings, scores)}


def split_code(study: Study, actor: Actor, ref: str, into: dict[str, str],
               assignment: dict[int, str]) -> list[str]:
    """Split a code into new sibling codes (`into`: name → definition). Every coding of the
    code is assigned to one of them by `assignment` (coding id → new name); the old code is
    retired. Returns the new codes' paths."""
    require(actor, "edit_codebook")
    if len(into) < 2:
        raise ValidationError("split into at least two codes")
    with study.transaction() as session:
        index = CodeIndex(session)
        code = _code(session, ref, index)
        if code.retired:
            raise ValidationError(f"{index.path(code)!r} is retired")
        if any(not c.retired for c in code.children):
            raise ValidationError(f"{index.path(code)!r} has sub-codes: move them before splitting it")
        created: dict[str, Code] = {}
        for name, definition in into.items():
            name = check_name(name, "new code")
            _check_sibling_name(session, code.parent_id, name)
            if name.lower() in {n.lower() for n in created}:
                raise ValidationError(f"{name!r} is named twice")
            new = Code(name=name, parent_id=code.parent_id, definition=(definition or "").strip(),
                       color=code.color, position=code.position)
            session.add(new)
            created[name] = new
        session.flush()
        codings = list(session.scalars(select(Coding).where(Coding.code_id == code.id)))
        missing = [c.id for c in codings if c.id not in assignment]
        if missing:
            raise ValidationError(f"{len(missing)} of the {len(codings)} codings are not assigned to a new code "
                                  f"(first: coding {missing[0]})")
        unknown = {n for n in assignment.values() if check_name(n, "new code") not in created}
        if unknown:
            raise ValidationError(f"{sorted(unknown)[0]!r} is not one of the new codes")
        counts = {name: 0 for name in created}
        for coding in codings:
            name = check_name(assignment[coding.id], "new code")
            coding.code_id = created[name].id
            counts[name] += 1
        code.retired = True
        session.flush()
        index = CodeIndex(session)
        paths = [index.path(c) for c in created.values()]
        record(session, actor.signature, "code.split", code=code.guid, path=index.path(code), into=paths,
               codings=counts)
        return paths


def accept_proposal(study: Study, actor: Actor, ref: str, parent: str | None = "") -> str:
    """Accept a coder's proposed code into the codebook, optionally under another parent
    (`parent` None: top level; "" keeps where it is). Returns its path."""
    require(actor, "edit_codebook")
    with study.transaction() as session:
        index = CodeIndex(session)
        code = _code(session, ref, index)
        if code.proposed_by_id is None:
            raise ValidationError(f"{index.path(code)!r} is not a proposed code")
        if parent != "":
            _place(session, code, _code(session, parent, index) if parent else None)
        author = session.get(User, code.proposed_by_id)
        code.proposed_by_id = None
        code.retired = False
        session.flush()
        path = CodeIndex(session).path(code)
        record(session, actor.signature, "code.accept", code=code.guid, path=path,
               proposed_by=author.name if author else None)
        return path


def reject_proposal(study: Study, actor: Actor, ref: str) -> str:
    """Reject a proposed code: it is retired (its codings stay for history, out of the codebook)."""
    require(actor, "edit_codebook")
    with study.transaction() as session:
        index = CodeIndex(session)
        code = _code(session, ref, index)
        if code.proposed_by_id is None:
            raise ValidationError(f"{index.path(code)!r} is not a proposed code")
        code.retired = True
        record(session, actor.signature, "code.reject", code=code.guid, path=index.path(code))
        return index.path(code)


def draft_frames(study: Study, actor: Actor) -> dict[str, list[dict]]:
    """What the lead merges into one frame: `proposed` codes still pending (with who proposed
    them and how often they were used) and `single_coder` codes of the codebook only one coder
    has used (the consensus is not a coder here)."""
    require(actor, "edit_codebook")
    with study.session() as session:
        index = CodeIndex(session)
        names = dict(session.execute(select(User.id, User.name).where(is_account())).all())
        use: dict[int, dict[str, int]] = {}
        for code_id, coder_id, count in session.execute(
                select(Coding.code_id, Coding.coder_id, func.count()).group_by(Coding.code_id, Coding.coder_id)):
            if coder_id in names:
                use.setdefault(code_id, {})[names[coder_id]] = count
        proposed, single = [], []
        for code in session.scalars(select(Code).where(Code.retired.is_(False)).order_by(Code.id)):
            by_coder = use.get(code.id, {})
            row = {"path": index.path(code), "guid": code.guid, "definition": code.definition,
                   "codings": by_coder}
            if code.proposed_by_id is not None:
                proposed.append({**row, "proposed_by": names.get(code.proposed_by_id)})
            elif len(by_coder) == 1:
                single.append({**row, "coder": next(iter(by_coder))})
        return {"proposed": proposed, "single_coder": single}

