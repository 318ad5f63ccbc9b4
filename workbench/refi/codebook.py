"""REFI-QDA Codebook Exchange (`.qdc`): codes with GUID, name, colour and description.

Our definition fields travel in `Description` as labelled paragraphs
(`Definition:`, `Inclusion:`, `Exclusion:`, `Example:`); a description without those labels
is read as the definition. The same `Codes` element is used inside a project (`.qdpx`).

A file with a document type declaration (`<!DOCTYPE ...>`) is refused before lxml reads it:
REFI-QDA files have none, and a DTD's entities are how XML attacks work (external entities
reading local files, "billion laughs" expanding a few bytes into gigabytes).
"""

from __future__ import annotations

import re
from xml.parsers import expat

from lxml import etree

from ..codebook.spec import FIELDS, MAX_DEPTH, CodeSpec, check_depth, check_name, normalize_color, normalize_guid
from ..errors import InputError, ValidationError
from . import CODEBOOK_NS, schema

_LABELS = {"definition": "Definition", "inclusion": "Inclusion", "exclusion": "Exclusion",
           "example": "Example"}
_SECTION = re.compile(r"^(Definition|Inclusion|Exclusion|Example):[ \t]*", re.MULTILINE)


class _Prolog(Exception):
    """Stops the prolog scan: `doctype` says whether a DOCTYPE came before the root element."""

    def __init__(self, doctype: bool):
        self.doctype = doctype


def refuse_doctype(data: bytes, filename: str) -> None:
    """Refuse an XML file that declares a document type. Expat reads the prolog only: it stops
    at the DOCTYPE's start (before any entity is declared, let alone expanded) or at the root
    element; a file it cannot read is left to lxml, which says what is wrong with it."""
    parser = expat.ParserCreate()

    def stop(doctype: bool):
        def handler(*_args):
            raise _Prolog(doctype)
        return handler

    parser.StartDoctypeDeclHandler = stop(True)
    parser.StartElementHandler = stop(False)
    try:
        parser.Parse(data, True)
    except _Prolog as prolog:
        if prolog.doctype:
            raise _doctype_refused(f"{filename}, line {parser.CurrentLineNumber}") from None
    except (expat.ExpatError, ValueError, LookupError):
        pass


def _doctype_refused(where: str) -> InputError:
    return InputError("the file declares a document type (<!DOCTYPE ...>); REFI-QDA files have none, "
                      "and DTDs and entities are refused for safety", where)


def parse_xml(data: bytes, filename: str):
    """The root element of a REFI-QDA XML file: no DOCTYPE, no entities, no network."""
    refuse_doctype(data, filename)
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                             load_dtd=False))
    except etree.XMLSyntaxError as exc:
        if "Excessive depth" in (exc.msg or ""):
            raise InputError(f"elements are nested more than 256 deep; the code tree has at most {MAX_DEPTH} levels",
                             f"{filename}, line {exc.lineno}") from None
        raise InputError(f"not well-formed XML ({exc.msg})", f"{filename}, line {exc.lineno}") from None
    if root.getroottree().docinfo.doctype:  # one expat could not read (an encoding it lacks)
        raise _doctype_refused(filename)
    return root


def read_qdc(data: bytes, filename: str) -> list[CodeSpec]:
    root = parse_xml(data, filename)
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
        check_depth(len(path) + 1, where)
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
