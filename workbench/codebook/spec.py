"""A codebook as files describe it (pure): `CodeSpec`, names, colours, GUIDs, file-level rules.

The same rules apply to every format (`io`) and to REFI-QDA `.qdc` (`workbench.refi.codebook`),
and to codes made in the app (`study`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..errors import ValidationError

FIELDS = ("definition", "inclusion", "exclusion", "example")
MAX_DEPTH = 20  # levels of the code tree: theme, sub-theme, ... (files, the app and the CLI alike)
CSV_COLUMNS = ("path", *FIELDS, "color", "guid")
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
    if any(unicodedata.category(ch) == "Cc" for ch in name):  # tabs, line breaks, terminal escapes
        raise ValidationError(f"code name {name!r} contains a control character", where)
    if len(name) > 200:
        raise ValidationError("a code name is longer than 200 characters", where)
    return name


def check_depth(depth: int, where: str | None) -> None:
    """Refuse a code `depth` levels down (1: a top-level code) past `MAX_DEPTH`."""
    if depth > MAX_DEPTH:
        raise ValidationError(f"a code is nested {depth:,} levels deep; the code tree has at most "
                              f"{MAX_DEPTH} levels", where)


def split_path(path: str, where: str) -> tuple[str, ...]:
    if not path.strip():
        raise ValidationError("empty path", where)
    parts = path.split("/")
    check_depth(len(parts), where)
    return tuple(check_name(part, where) for part in parts)


def validate(specs: list[CodeSpec]) -> None:
    """File-level rules: at most `MAX_DEPTH` levels, no path twice (duplicate sibling names), no
    GUID twice."""
    paths: dict[tuple[str, ...], str] = {}
    guids: dict[str, str] = {}
    for spec in specs:
        check_depth(len(spec.path), spec.where)
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
