"""Codebook versions: named snapshots a lead makes ("after round 1"), a readable changelog
between any two of them (or a version and the current codebook), and export of any version.

A snapshot lists every agreed code (pending proposals are not part of the codebook) with its
GUID, so the changelog follows a code through renames, moves and merges.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..access import Actor, require
from ..audit import record
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import Code, CodebookVersion
from .io import export_specs
from .spec import FIELDS, CodeSpec
from .study import code_tree

CURRENT = "current"


def snapshot(session) -> list[dict]:
    """The agreed codebook as plain data, parents before children."""
    by_id = {c.id: c for c in session.scalars(select(Code))}
    out = []
    for code, path in code_tree(session, True, lambda c: c.proposed_by_id is None):
        parent = by_id.get(code.parent_id)
        merged = by_id.get(code.merged_into_id)
        out.append({"guid": code.guid, "path": "/".join(path), "name": code.name,
                    "parent": parent.guid if parent else None,
                    **{k: getattr(code, k) for k in FIELDS}, "color": code.color,
                    "retired": code.retired, "merged_into": merged.guid if merged else None})
    return out


def create_version(study: Study, actor: Actor, name: str, note: str = "") -> int:
    """Snapshot the codebook under `name` (retired codes too, for the changelog). Returns how many
    current codes it holds."""
    require(actor, "edit_codebook")
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("a version needs a name of 1–100 characters")
    if name.lower() == CURRENT:
        raise ValidationError(f"{CURRENT!r} names the codebook as it is now; choose another name")
    with study.transaction() as session:
        if session.scalar(select(CodebookVersion.id).where(CodebookVersion.name == name)):
            raise ValidationError(f"a codebook version is already named {name!r}")
        codes = snapshot(session)
        session.add(CodebookVersion(name=name, note=note.strip(), created_by=actor.name, snapshot=codes))
        current = sum(1 for c in codes if not c["retired"])
        record(session, actor.signature, "codebook.version", version=name, codes=current)
        return current


def list_versions(study: Study) -> list[dict]:
    with study.session() as session:
        return [{"name": v.name, "note": v.note, "created_by": v.created_by, "created_at": v.created_at,
                 "codes": sum(1 for c in v.snapshot if not c["retired"])}
                for v in session.scalars(select(CodebookVersion).order_by(CodebookVersion.created_at,
                                                                          CodebookVersion.id))]


def version_codes(study: Study, name: str) -> list[dict]:
    """The codes of version `name` (or of the current codebook for "current")."""
    with study.session() as session:
        if name.lower() == CURRENT:
            return snapshot(session)
        version = session.scalar(select(CodebookVersion).where(CodebookVersion.name == name))
        if version is None:
            known = ", ".join(session.scalars(select(CodebookVersion.name))) or "none yet"
            raise NotFound(f"no codebook version named {name!r} (versions: {known}; or {CURRENT!r})")
        return list(version.snapshot)


@dataclass
class Change:
    kind: str  # added, removed, renamed, moved, edited, recoloured, retired, restored, merged
    guid: str
    path: str  # in the newer version (the older one for removed codes)
    detail: str

    def line(self) -> str:
        return f"{self.kind.capitalize()}: {self.detail}"


def diff_versions(study: Study, old: str, new: str) -> list[Change]:
    """What changed in the codebook from version `old` to version `new`, code by code."""
    before = {c["guid"]: c for c in version_codes(study, old)}
    after = {c["guid"]: c for c in version_codes(study, new)}
    changes: list[Change] = []
    for guid, code in after.items():
        was = before.get(guid)
        if was is None:
            where = code["path"].rpartition("/")[0]
            changes.append(Change("added", guid, code["path"],
                                  f"‘{code['name']}’" + (f" under ‘{where}’" if where else " as a theme")))
            continue
        if was["name"] != code["name"]:
            changes.append(Change("renamed", guid, code["path"], f"‘{was['name']}’ → ‘{code['name']}’"))
        if was["parent"] != code["parent"]:
            old_parent = was["path"].rpartition("/")[0] or "the top level"
            new_parent = code["path"].rpartition("/")[0] or "the top level"
            changes.append(Change("moved", guid, code["path"],
                                  f"‘{code['name']}’ from ‘{old_parent}’ to ‘{new_parent}’"))
        edited = [k for k in FIELDS if (was.get(k) or "") != (code.get(k) or "")]
        if edited:
            changes.append(Change("edited", guid, code["path"], f"{', '.join(edited)} of ‘{code['path']}’"))
        if was["color"] != code["color"]:
            changes.append(Change("recoloured", guid, code["path"], f"‘{code['path']}’"))
        if code["merged_into"] and not was["merged_into"]:
            target = after.get(code["merged_into"], {}).get("path", "a code no longer in the codebook")
            changes.append(Change("merged", guid, code["path"], f"‘{was['path']}’ into ‘{target}’"))
        elif code["retired"] and not was["retired"]:
            changes.append(Change("retired", guid, code["path"], f"‘{code['path']}’"))
        elif was["retired"] and not code["retired"]:
            changes.append(Change("restored", guid, code["path"], f"‘{code['path']}’"))
    for guid, was in before.items():
        if guid not in after:
            changes.append(Change("removed", guid, was["path"], f"‘{was['path']}’"))
    order = {kind: k for k, kind in enumerate(
        ("added", "merged", "renamed", "moved", "edited", "recoloured", "retired", "restored", "removed"))}
    return sorted(changes, key=lambda c: (order[c.kind], c.path.lower()))


def export_version(study: Study, name: str, fmt: str) -> bytes:
    """Version `name` of the codebook as a file (yaml, csv or qdc): its current codes (retired,
    merged and split codes are left out, as in the export of the codebook itself)."""
    specs = [CodeSpec(tuple(c["path"].split("/")), *(c[k] for k in FIELDS), c["color"], c["guid"])
             for c in version_codes(study, name) if not c["retired"]]
    return export_specs(specs, fmt)
