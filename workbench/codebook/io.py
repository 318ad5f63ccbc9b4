"""Codebook files (pure: bytes in, specs out, and back): CSV, YAML and REFI-QDA `.qdc`.

CSV has the columns `path`, `definition`, `inclusion`, `exclusion`, `example`, `color`, `guid`;
YAML is a list of codes with the same fields and `children`; `.qdc` is read and written by
`workbench.refi.codebook`. Invalid files are refused with the row or line at fault.
"""

from __future__ import annotations

import yaml

from ..csvio import read_rows, write_rows
from ..errors import InputError, ValidationError
from ..refi.codebook import read_qdc, write_qdc
from .spec import (CSV_COLUMNS, FIELDS, MAX_DEPTH, CodeSpec, check_depth, check_name, normalize_color,
                   normalize_guid, split_path)

FORMATS = ("yaml", "csv", "qdc")


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
    """Codes from YAML, read with PyYAML's safe loader: plain text, lists and mappings only (a
    tag such as `!!python/object` or `!secret` is refused, never run), nested at most
    `MAX_DEPTH` levels of codes, each list or mapping used once (no alias repeats a code)."""
    from ..canonical import decode_bytes

    text = decode_bytes(data, filename).text
    _check_nesting(text, filename)
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            loader.construct_document(root)  # every tag known to the safe loader, or refused here
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, filename) from None
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
    _yaml_codes(loader, root, (), filename, specs, {id(root)})
    return specs


def _yaml_error(exc: yaml.YAMLError, filename: str) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    where = f"{filename}, line {mark.line + 1}" if mark else filename
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, yaml.constructor.ConstructorError):
        return InputError(f"YAML tag not allowed ({problem}); a codebook holds only text, lists and mappings",
                          where)
    return InputError(f"not valid YAML ({problem})", where)


def _check_nesting(text: str, filename: str) -> None:
    """Refuse lists and mappings nested deeper than codes `MAX_DEPTH` levels deep need (a list
    and a mapping per level, and a `codes:` mapping around them), before PyYAML's recursive
    composer sees them. The parser reads events one at a time, so this costs no recursion."""
    limit = 2 * MAX_DEPTH + 1
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    raise ValidationError(f"the codes are nested more than {MAX_DEPTH} levels deep; the code "
                                          f"tree has at most {MAX_DEPTH} levels",
                                          f"{filename}, line {event.start_mark.line + 1}")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, filename) from None


def _yaml_codes(loader, node, parent: tuple[str, ...], filename: str, out: list[CodeSpec], seen: set[int]) -> None:
    where = f"{filename}, line {node.start_mark.line + 1}"
    if not isinstance(node, yaml.SequenceNode):
        raise ValidationError("expected a list of codes", where)
    for item in node.value:
        where = f"{filename}, line {item.start_mark.line + 1}"
        if not isinstance(item, yaml.MappingNode):
            raise ValidationError("a code must be a mapping with at least `name`", where)
        if id(item) in seen:  # an alias (*name) of a code already read
            raise ValidationError("a code is repeated through a YAML alias; write each code once", where)
        seen.add(id(item))
        values, children = {}, None
        for key, value in item.value:
            if key.value == "children":
                children = value
            elif not isinstance(value, yaml.ScalarNode):
                raise ValidationError(f"`{key.value}` must be text, not a list or mapping",
                                      f"{filename}, line {value.start_mark.line + 1}")
            else:
                values[key.value] = loader.construct_object(value, deep=True)
        name = values.get("name")
        if not isinstance(name, str):
            raise ValidationError("a code has no `name`", where)
        path = (*parent, check_name(name, where))
        check_depth(len(path), where)
        text = {k: "" if values.get(k) is None else str(values[k]).strip() for k in FIELDS}
        out.append(CodeSpec(
            path=path, **text,
            color=normalize_color(values.get("color") and str(values["color"]), where),
            guid=normalize_guid(values.get("guid") and str(values["guid"]), where),
            where=where, fields_given=frozenset(k for k in (*FIELDS, "color") if k in values),
        ))
        if children is not None and not (isinstance(children, yaml.ScalarNode) and children.value in ("", "null", "~")):
            if id(children) in seen:
                raise ValidationError("a list of codes is repeated through a YAML alias; write each code once",
                                      f"{filename}, line {children.start_mark.line + 1}")
            seen.add(id(children))
            _yaml_codes(loader, children, path, filename, out, seen)


def read_codebook(data: bytes, filename: str, fmt: str) -> list[CodeSpec]:
    if fmt == "csv":
        return read_csv(data, filename)
    if fmt == "yaml":
        return read_yaml(data, filename)
    if fmt == "qdc":
        return read_qdc(data, filename)
    raise InputError(f"unknown codebook format {fmt!r}; expected one of {', '.join(FORMATS)}")


def format_from_name(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    fmt = {"yml": "yaml", "yaml": "yaml", "csv": "csv", "qdc": "qdc"}.get(ext)
    if fmt is None:
        raise InputError("cannot tell the codebook format from the extension; use --format", filename)
    return fmt


def export_specs(specs: list[CodeSpec], fmt: str) -> bytes:
    if fmt == "csv":
        rows = [dict(path="/".join(s.path), **{k: getattr(s, k) for k in (*FIELDS, "color", "guid")})
                for s in specs]
        return write_rows(list(CSV_COLUMNS), rows).encode("utf-8")
    if fmt == "yaml":
        return yaml.safe_dump(specs_to_tree(specs), sort_keys=False, allow_unicode=True,
                              width=100).encode("utf-8")
    if fmt == "qdc":
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
