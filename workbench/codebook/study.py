"""The codebook: a hierarchy of codes (theme → sub-theme → ...) with definitions.

Formats: CSV (`path`, `definition`, `inclusion`, `exclusion`, `example`, `color`, `guid`),
YAML (a list of codes with the same fields and `children`), and REFI-QDA `.qdc` (read and
written by `workbench.refi.codebook`). Importing adds new codes and updates existing ones —
matched by GUID, else by path — in one transaction; invalid codebooks are refused with the
row or line at fault and nothing is written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import LEAD_CLI, AccessDenied, Actor
from ..audit import record
from ..csvio import read_rows, write_rows
from ..errors import InputError, NotFound, ValidationError
from ..store import Study
from ..store.models import Code

FIELDS = ("definition", "inclusion", "exclusion", "example")
CSV_COLUMNS = ("path", *FIELDS, "color", "guid")
FORMATS = ("yaml", "csv", "qdc")
PALETTE = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#17becf",
           "#e377c2", "#bcbd22", "#7f7f7f")
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")


@dataclass
class CodeSpec:
    """One code as a file describes it; `where` names its row or line for messages."""

    path: tuple[str, ...]
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    example: str = ""
    color: str | None = None
    guid: str | None = None
    where: str = ""
    fields_given: frozenset[str] = field(default_factory=frozenset)


def normalize_color(value: str | None, where: str) -> str | None:
    if not value:
        return None
    if not _COLOR.match(value):
        raise ValidationError(f"colour {value!r} is not #RGB or #RRGGBB", where)
    value = value.lower()
    if len(value) == 4:
        value = "#" + "".join(ch * 2 for ch in value[1:])
    return value


def normalize_guid(value: str | None, where: str) -> str | None:
    if not value:
        return None
    if not _GUID.match(value):
        raise ValidationError(f"GUID {value!r} is not 8-4-4-4-12 hexadecimal digits", where)
    return value.strip("{}").lower()


def check_name(name: str, where: str) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise ValidationError("a code name is empty", where)
    if "/" in name:
        raise ValidationError(f"code name {name!r} contains '/'", where)
    if len(name) > 200:
        raise ValidationError("a code name is longer than 200 characters", where)
    return name


def split_path(path: str, where: str) -> tuple[str, ...]:
    if not path.strip():
        raise ValidationError("empty path", where)
    return tuple(check_name(part, where) for part in path.split("/"))


# --- readers ------------------------------------------------------------------------------

def read_csv(data: bytes, filename: str) -> list[CodeSpec]:
    specs = []
    for number, row in read_rows(data, filename, required=("path",)):
        where = f"{filename}, row {number}"
        given = frozenset(k for k in (*FIELDS, "color") if k in row)
        specs.append(CodeSpec(
            path=split_path(row["path"], where),
            **{k: row.get(k, "") for k in FIELDS},
            color=normalize_color(row.get("color"), where),
            guid=normalize_guid(row.get("guid"), where),
            where=where, fields_given=given,
        ))
    return specs


def read_yaml(data: bytes, filename: str) -> list[CodeSpec]:
    from ..canonical import decode_bytes

    text = decode_bytes(data, filename).text
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}, line {mark.line + 1}" if mark else filename
        raise InputError(f"not valid YAML ({getattr(exc, 'problem', exc)})", where) from None
    finally:
        loader.dispose()
    if root is None:
        raise InputError("the file is empty", filename)
    if root.tag == "tag:yaml.org,2002:map":
        # allow {codes: [...]} as well as a bare list
        for key, value in root.value:
            if key.value == "codes":
                root = value
                break
    specs: list[CodeSpec] = []
    _yaml_codes(loader, root, (), filename, specs)
    return specs


def _yaml_codes(loader, node, parent: tuple[str, ...], filename: str, out: list[CodeSpec]) -> None:
    where = f"{filename}, line {node.start_mark.line + 1}"
    if not isinstance(node, yaml.SequenceNode):
        raise ValidationError("expected a list of codes", where)
    for item in node.value:
        where = f"{filename}, line {item.start_mark.line + 1}"
        if not isinstance(item, yaml.MappingNode):
            raise ValidationError("a code must be a mapping with at least `name`", where)
        values, children = {}, None
        for key, value in item.value:
            if key.value == "children":
                children = value
            else:
                values[key.value] = loader.construct_object(value, deep=True)
        name = values.get("name")
        if not isinstance(name, str):
            raise ValidationError("a code has no `name`", where)
        path = (*parent, check_name(name, where))
        text = {k: "" if values.get(k) is None else str(values[k]).strip() for k in FIELDS}
        out.append(CodeSpec(
            path=path, **text,
            color=normalize_color(values.get("color") and str(values["color"]), where),
            guid=normalize_guid(values.get("guid") and str(values["guid"]), where),
            where=where, fields_given=frozenset(k for k in (*FIELDS, "color") if k in values),
        ))
        if children is not None and not (isinstance(children, yaml.ScalarNode) and children.value in ("", "null", "~")):
            _yaml_codes(loader, children, path, filename, out)


def read_codebook(data: bytes, filename: str, fmt: str) -> list[CodeSpec]:
    if fmt == "csv":
        return read_csv(data, filename)
    if fmt == "yaml":
        return read_yaml(data, filename)
    if fmt == "qdc":
        from ..refi.codebook import read_qdc

        return read_qdc(data, filename)
    raise InputError(f"unknown codebook format {fmt!r}; expected one of {', '.join(FORMATS)}")


def format_from_name(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    fmt = {"yml": "yaml", "yaml": "yaml", "csv": "csv", "qdc": "qdc"}.get(ext)
    if fmt is None:
        raise InputError("cannot tell the codebook format from the extension; use --format", filename)
    return fmt


def validate(specs: list[CodeSpec]) -> None:
    """File-level rules: no path twice (duplicate sibling names), no GUID twice."""
    paths: dict[tuple[str, ...], str] = {}
    guids: dict[str, str] = {}
    for spec in specs:
        key = tuple(part.casefold() for part in spec.path)
        if key in paths:
            raise ValidationError(
                f"duplicate code {'/'.join(spec.path)!r} (also at {paths[key]})", spec.where)
        paths[key] = spec.where
        if spec.guid:
            if spec.guid in guids:
                raise ValidationError(f"GUID {spec.guid} is used twice (also at {guids[spec.guid]})",
                                      spec.where)
            guids[spec.guid] = spec.where


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
        self.codes = [c for c in codes if actor is None or actor.is_lead or c.proposed_by_id is None
                      or c.proposed_by_id == actor.user_id]
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


def import_codebook(study: Study, data: bytes, filename: str, fmt: str | None = None,
                    actor: Actor = LEAD_CLI) -> CodebookReport:
    """Read a codebook file and merge it into the study's codebook, in one transaction."""
    actor.require_lead("change the codebook")
    specs = read_codebook(data, filename, fmt or format_from_name(filename))
    if not specs:
        raise InputError("no codes in the file", filename)
    validate(specs)
    with study.transaction() as session:
        report = apply_specs(session, specs)
        record(session, actor.name, "codebook.import", file=filename, added=report.added,
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


def export_specs(specs: list[CodeSpec], fmt: str) -> bytes:
    if fmt == "csv":
        rows = [dict(path="/".join(s.path), **{k: getattr(s, k) for k in (*FIELDS, "color", "guid")})
                for s in specs]
        return write_rows(list(CSV_COLUMNS), rows).encode("utf-8")
    if fmt == "yaml":
        return yaml.safe_dump(specs_to_tree(specs), sort_keys=False, allow_unicode=True,
                              width=100).encode("utf-8")
    if fmt == "qdc":
        from ..refi.codebook import write_qdc

        return write_qdc(specs)
    raise InputError(f"unknown codebook format {fmt!r}; expected one of {', '.join(FORMATS)}")


def specs_to_tree(specs: list[CodeSpec]) -> list[dict]:
    roots: list[dict] = []
    nodes: dict[tuple[str, ...], dict] = {}
    for spec in specs:
        node = {"name": spec.path[-1], **{k: getattr(spec, k) for k in FIELDS},
                "color": spec.color, "guid": spec.guid}
        nodes[spec.path] = node
        siblings = roots if len(spec.path) == 1 else nodes[spec.path[:-1]].setdefault("children", [])
        siblings.append(node)
    return roots


def list_codes(study: Study, actor: Actor = LEAD_CLI) -> list[dict]:
    """The codes `actor` may see in tree order, with `proposed_by` for pending proposals."""
    def visible(code: Code) -> bool:
        return actor.is_lead or code.proposed_by_id is None or code.proposed_by_id == actor.user_id

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
    if actor.role not in ("coder", "lead"):
        raise AccessDenied(f"a {actor.role} cannot add codes")
    name = check_name(name, "proposed code")
    with study.transaction() as session:
        index = CodeIndex(session, actor)
        parent_code = index.resolve(parent) if parent else None
        clash = session.scalar(select(Code.id).where(
            Code.parent_id == (parent_code.id if parent_code else None), func.lower(Code.name) == name.lower()))
        if clash:
            raise ValidationError(f"a code named {name!r} already exists there (or was proposed)")
        siblings = session.scalar(select(func.count()).select_from(Code).where(
            Code.parent_id == (parent_code.id if parent_code else None)))
        extra = {k: v.strip() for k, v in fields.items() if k in ("inclusion", "exclusion", "example")}
        code = Code(name=name, parent_id=parent_code.id if parent_code else None, definition=definition.strip(), **extra,
                    color=parent_code.color if parent_code else PALETTE[siblings % len(PALETTE)],
                    position=siblings, proposed_by_id=None if actor.is_lead else actor.user_id)
        session.add(code)
        session.flush()
        path = f"{index.path(parent_code)}/{name}" if parent_code else name
        record(session, actor.name, "code.propose" if code.proposed_by_id else "code.add",
               code=code.guid, path=path)
        return path


EDITABLE = (*FIELDS, "color", "name")


def edit_code(study: Study, actor: Actor, guid: str, **changes: str) -> str:
    """A lead changes a code's name, definition fields or colour. Returns its path."""
    actor.require_lead("edit the codebook")
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
        record(session, actor.name, "code.edit", code=guid, path=path, fields=sorted(changes))
        return path
