"""The study's codebook: a hierarchy of codes (theme → sub-theme → ...) with definitions.

Importing a file (`io`) adds new codes and updates existing ones — matched by GUID, else by
path — in one transaction; invalid codebooks are refused with the row or line at fault and
nothing is written. Codes are listed, proposed and edited as an actor.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Actor, allowed, require, visible_code
from ..audit import record
from ..errors import InputError, NotFound, ValidationError
from ..store import Study
from ..store.models import Code
from .io import export_specs, format_from_name, read_codebook
from .spec import FIELDS, PALETTE, CodeSpec, check_depth, check_name, normalize_color, validate

# --- the codebook in the database -----------------------------------------------------------

def code_path(code: Code) -> str:
    parts = []
    seen = set()
    while code is not None:
        if code.id in seen:
            raise ValidationError("the codebook has a cycle")
        seen.add(code.id)
        parts.append(code.name)
        code = code.parent
    return "/".join(reversed(parts))


class CodeIndex:
    """The codes `actor` may use, found by path, unique name or GUID. A proposed code is
    visible only to its author and to leads; without an actor every code is included."""

    def __init__(self, session: Session, actor=None):
        codes = list(session.scalars(select(Code)))
        by_id = {c.id: c for c in codes}
        self.codes = [c for c in codes if actor is None or visible_code(actor, c.proposed_by_id)]
        self.paths: dict[int, str] = {}
        for code in codes:
            parts, node = [], code
            while node is not None:
                parts.append(node.name)
                node = by_id.get(node.parent_id)
            self.paths[code.id] = "/".join(reversed(parts))
        visible = {c.id for c in self.codes}
        self.by_path = {p.casefold(): by_id[i] for i, p in self.paths.items() if i in visible}
        self.by_guid = {c.guid.lower(): c for c in self.codes}
        self.by_name: dict[str, list[Code]] = {}
        for code in self.codes:
            self.by_name.setdefault(code.name.casefold(), []).append(code)

    def resolve(self, ref: str, where: str | None = None) -> Code:
        """A code by path (`Theme/Sub-theme`), by a name unique in the codebook, or by GUID."""
        ref = unicodedata.normalize("NFC", ref.strip())
        if not ref:
            raise ValidationError("no code given", where)
        found = self.by_path.get(ref.casefold()) or self.by_guid.get(ref.strip("{}").lower())
        if found:
            return found
        named = self.by_name.get(ref.casefold(), [])
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            paths = ", ".join(sorted(self.paths[c.id] for c in named))
            raise ValidationError(f"code name {ref!r} is ambiguous ({paths}); give its path", where)
        raise NotFound(f"no code {ref!r} in the codebook", where)

    def path(self, code: Code) -> str:
        return self.paths[code.id]


@dataclass
class CodebookReport:
    added: int
    updated: int
    total: int


def import_codebook(study: Study, actor: Actor, data: bytes, filename: str, fmt: str | None = None) -> CodebookReport:
    """Read a codebook file and merge it into the study's codebook, in one transaction."""
    require(actor, "edit_codebook")
    specs = read_codebook(data, filename, fmt or format_from_name(filename))
    if not specs:
        raise InputError("no codes in the file", filename)
    validate(specs)
    with study.transaction() as session:
        report = apply_specs(session, specs)
        record(session, actor.signature, "codebook.import", file=filename, added=report.added,
               updated=report.updated)
    return report


def apply_specs(session: Session, specs: list[CodeSpec]) -> CodebookReport:
    codes = list(session.scalars(select(Code)))
    by_guid = {c.guid: c for c in codes}
    added = updated = 0

    def find_path(path: tuple[str, ...]) -> Code | None:
        parent_id = None
        node = None
        for part in path:
            node = next((c for c in codes if c.parent_id == parent_id and c.name.casefold() == part.casefold()
                         and c.id is not None), None)
            if node is None:
                return None
            parent_id = node.id
        return node

    for spec in sorted(specs, key=lambda s: len(s.path)):
        parent = None
        if len(spec.path) > 1:
            parent = find_path(spec.path[:-1])
            if parent is None:
                raise ValidationError(
                    f"parent {'/'.join(spec.path[:-1])!r} of {spec.path[-1]!r} does not exist",
                    spec.where)
        code = by_guid.get(spec.guid) if spec.guid else None
        code = code or find_path(spec.path)
        if code is None:
            code = Code(name=spec.path[-1],
                        position=sum(1 for c in codes if c.parent_id == (parent.id if parent else None)))
            if spec.guid:
                code.guid = spec.guid
            session.add(code)
            codes.append(code)
            if spec.guid:
                by_guid[spec.guid] = code
            added += 1
        else:
            updated += 1
            ancestor = parent
            while ancestor is not None:
                if ancestor is code:
                    raise ValidationError(
                        f"moving {code.name!r} under {'/'.join(spec.path[:-1])!r} would make a cycle",
                        spec.where)
                ancestor = next((c for c in codes if c.id == ancestor.parent_id), None)
        sibling = next((c for c in codes if c is not code and c.parent_id == (parent.id if parent else None)
                        and c.name.casefold() == spec.path[-1].casefold()), None)
        if sibling is not None:
            raise ValidationError(f"a sibling code is already named {spec.path[-1]!r}", spec.where)
        code.name = spec.path[-1]
        code.parent_id = parent.id if parent else None
        code.parent = parent
        for key in FIELDS:
            if key in spec.fields_given or code.id is None:
                setattr(code, key, getattr(spec, key))
        if spec.color:
            code.color = spec.color
        elif code.color is None:
            roots = sum(1 for c in codes if c.parent_id is None and c is not code)
            code.color = parent.color if parent else PALETTE[roots % len(PALETTE)]
        session.flush()
    return CodebookReport(added, updated, len(codes))


def code_tree(session: Session, include_retired: bool, visible) -> list[tuple[Code, tuple[str, ...]]]:
    """Codes in tree order (depth first, siblings by position) with their paths."""
    codes = list(session.scalars(select(Code).order_by(Code.position, Code.id)))
    children: dict[int | None, list[Code]] = {}
    for code in codes:
        children.setdefault(code.parent_id, []).append(code)
    out: list[tuple[Code, tuple[str, ...]]] = []

    def walk(parent_id, prefix):
        for code in children.get(parent_id, []):
            if (code.retired and not include_retired) or not visible(code):
                continue
            path = (*prefix, code.name)
            out.append((code, path))
            walk(code.id, path)

    walk(None, ())
    return out


def codebook_specs(session: Session, include_retired: bool = False) -> list[CodeSpec]:
    """The agreed codebook in tree order: current codes only by default (no pending proposals;
    retired, merged and split codes are history, and the file formats have no "retired" mark)."""
    return [CodeSpec(path, code.definition, code.inclusion, code.exclusion, code.example, code.color, code.guid)
            for code, path in code_tree(session, include_retired,
                                        lambda c: c.proposed_by_id is None and c.merged_into_id is None)]


def export_codebook(study: Study, fmt: str) -> bytes:
    with study.session() as session:
        specs = codebook_specs(session)
    return export_specs(specs, fmt)


def list_codes(study: Study, actor: Actor) -> list[dict]:
    """The codes `actor` may see in tree order, with `proposed_by` for pending proposals."""
    def visible(code: Code) -> bool:
        return visible_code(actor, code.proposed_by_id)

    with study.session() as session:
        from ..store.models import User

        names = dict(session.execute(select(User.id, User.name)).all())
        return [dict(path="/".join(path), name=code.name, depth=len(path) - 1,
                     **{k: getattr(code, k) for k in (*FIELDS, "color", "guid")},
                     retired=code.retired, proposed_by=names.get(code.proposed_by_id))
                for code, path in code_tree(session, True, visible)]


def propose_code(study: Study, actor: Actor, name: str, parent: str | None = None,
                 definition: str = "", **fields: str) -> str:
    """A coder proposes a new code while coding and can use it at once; it stays visible only
    to them and to leads until a lead accepts it. A lead's proposal is simply a new code.
    Returns the new code's path."""
    require(actor, "propose_code")
    name = check_name(name, "proposed code")
    with study.transaction() as session:
        index = CodeIndex(session, actor)
        parent_code = index.resolve(parent) if parent else None
        check_depth(len(index.path(parent_code).split("/")) + 1 if parent_code else 1, "proposed code")
        clash = session.scalar(select(Code.id).where(
            Code.parent_id == (parent_code.id if parent_code else None), func.lower(Code.name) == name.lower()))
        if clash:
            raise ValidationError(f"a code named {name!r} already exists there (or was proposed)")
        siblings = session.scalar(select(func.count()).select_from(Code).where(
            Code.parent_id == (parent_code.id if parent_code else None)))
        extra = {k: v.strip() for k, v in fields.items() if k in ("inclusion", "exclusion", "example")}
        code = Code(name=name, parent_id=parent_code.id if parent_code else None, definition=definition.strip(), **extra,
                    color=parent_code.color if parent_code else PALETTE[siblings % len(PALETTE)],
                    position=siblings, proposed_by_id=None if allowed(actor, "edit_codebook") else actor.user_id)
        session.add(code)
        session.flush()
        path = f"{index.path(parent_code)}/{name}" if parent_code else name
        record(session, actor.signature, "code.propose" if code.proposed_by_id else "code.add",
               code=code.guid, path=path)
        return path


EDITABLE = (*FIELDS, "color", "name")


def edit_code(study: Study, actor: Actor, guid: str, **changes: str) -> str:
    """A lead changes a code's name, definition fields or colour. Returns its path."""
    require(actor, "edit_codebook")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"cannot edit {', '.join(sorted(unknown))}")
    with study.transaction() as session:
        code = session.scalar(select(Code).where(Code.guid == guid))
        if code is None:
            raise NotFound(f"no code with GUID {guid}")
        if "name" in changes:
            name = check_name(changes["name"], "code name")
            clash = session.scalar(select(Code.id).where(
                Code.parent_id == code.parent_id, Code.id != code.id, func.lower(Code.name) == name.lower()))
            if clash:
                raise ValidationError(f"a sibling code is already named {name!r}")
            code.name = name
        if "color" in changes:
            code.color = normalize_color(changes["color"], "colour") or code.color
        for key in FIELDS:
            if key in changes:
                setattr(code, key, changes[key].strip())
        session.flush()
        path = CodeIndex(session).path(code)
        record(session, actor.signature, "code.edit", code=guid, path=path, fields=sorted(changes))
        return path
