"""REFI-QDA Codebook Exchange (`.qdc`): codes with GUID, name, colour and description.

Our definition fields travel in `Description` as labelled paragraphs
(`Definition:`, `Inclusion:`, `Exclusion:`, `Example:`); a description without those labels
is read as the definition. The same `Codes` element is used inside a project (`.qdpx`).
"""

from __future__ import annotations

import re

from lxml import etree

from ..codebook.spec import FIELDS, CodeSpec, check_name, normalize_color, normalize_guid
from ..errors import InputError, ValidationError
from . import CODEBOOK_NS, schema

_LABELS = {"definition": "Definition", "inclusion": "Inclusion", "exclusion": "Exclusion",
           "example": "Example"}
_SECTION = re.compile(r"^(Definition|Inclusion|Exclusion|Example):[ \t]*", re.MULTILINE)


def read_qdc(data: bytes, filename: str) -> list[CodeSpec]:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not well-formed XML ({exc.msg})", f"{filename}, line {exc.lineno}") from None
    validator = schema("Codebook.xsd")
    if not validator.validate(root):
        error = validator.error_log.last_error
        raise InputError(f"not a valid REFI-QDA codebook ({error.message})", f"{filename}, line {error.line}")
    codes = root.find(f"{{{CODEBOOK_NS}}}Codes")
    out: list[CodeSpec] = []
    read_codes(codes, (), filename, out, CODEBOOK_NS)
    return out


def read_codes(parent, path: tuple[str, ...], filename: str, out: list[CodeSpec], ns: str | None) -> None:
    """The `Code` elements under `parent`, depth first (`ns` None: elements without a namespace)."""
    prefix = f"{{{ns}}}" if ns else ""
    for element in parent.findall(f"{prefix}Code"):
        where = f"{filename}, line {element.sourceline}"
        name = check_name(element.get("name", ""), where)
        description = element.findtext(f"{prefix}Description") or ""
        fields = parse_description(description)
        out.append(CodeSpec(
            path=(*path, name), **fields,
            color=normalize_color(element.get("color"), where),
            guid=normalize_guid(element.get("guid"), where),
            where=where, fields_given=frozenset(FIELDS) | ({"color"} if element.get("color") else set()),
        ))
        read_codes(element, (*path, name), filename, out, ns)


def parse_description(text: str) -> dict[str, str]:
    text = text.strip()
    fields = dict.fromkeys(FIELDS, "")
    parts = _SECTION.split(text)
    if len(parts) == 1:
        fields["definition"] = text
        return fields
    if parts[0].strip():
        fields["definition"] = parts[0].strip()
    for label, body in zip(parts[1::2], parts[2::2]):
        key = label.lower()
        fields[key] = (fields[key] + "\n" + body.strip()).strip() if fields[key] else body.strip()
    return fields


def format_description(spec: CodeSpec) -> str:
    return "\n".join(f"{_LABELS[k]}: {getattr(spec, k)}" for k in FIELDS if getattr(spec, k))


def codes_element(specs: list[CodeSpec], ns: str):
    codes = etree.Element(f"{{{ns}}}Codes")
    elements: dict[tuple[str, ...], etree._Element] = {}
    for spec in specs:
        parent = codes if len(spec.path) == 1 else elements[spec.path[:-1]]
        attrs = {"guid": spec.guid, "name": spec.path[-1], "isCodable": "true"}
        if spec.color:
            attrs["color"] = spec.color.upper()
        element = etree.SubElement(parent, f"{{{ns}}}Code", attrs)
        description = format_description(spec)
        if description:
            etree.SubElement(element, f"{{{ns}}}Description").text = description
        elements[spec.path] = element
    return codes


def write_qdc(specs: list[CodeSpec]) -> bytes:
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", {"origin": "workbench"}, nsmap={None: CODEBOOK_NS})
    codes = codes_element(specs, CODEBOOK_NS)
    if len(codes):
        root.append(codes)
    else:
        raise ValidationError("the codebook is empty: a .qdc needs at least one code")
    validator = schema("Codebook.xsd")
    if not validator.validate(root):  # our own output must be valid; a failure is a bug
        raise AssertionError(validator.error_log.last_error.message)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
