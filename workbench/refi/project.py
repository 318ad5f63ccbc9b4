"""REFI-QDA project exchange (`.qdpx`: a zip of `project.qde` and `sources/`).

Export writes every user, the codebook (retired codes as `isCodable="false"`), participants as
cases with variables, transcripts as text sources (`sources/<guid>.txt`, UTF-8, the canonical
text), every coder's codings as `PlainTextSelection`s with their creating user, and memos as
notes — validated against the standard's `Project.xsd` before it is written.

Import reads what NVivo, ATLAS.ti, MAXQDA and QualCoder write, leniently: any namespace
(or none), missing optional attributes, any case of the sources folder, text inline or in a
file. Offsets are where tools differ: the standard counts Unicode code points, NVivo writes
UTF-16 code units and tools disagree on whether `\\r\\n` is one character or two. For each
source the importer tries each convention, checks every selection against the text it names
(when the file gives one), keeps the convention that fits, converts the offsets to our canonical
text, and reports what it did and anything it skipped.
"""

from __future__ import annotations

import bisect
import heapq
import io
import re
import unicodedata
import uuid
import zipfile
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree
from sqlalchemy import select

from ..access import Actor, require
from ..audit import record
from ..canonical import MAX_CHARACTERS, canonicalize, decode_bytes, too_long
from ..codebook.spec import FIELDS, CodeSpec, check_name, normalize_color, normalize_guid
from ..codebook.study import apply_specs, code_tree
from ..errors import InputError, ValidationError
from ..store import Study
from ..store.models import Code, Coding, Memo, Participant, Transcript, User
from ..store.secrets import text_hasher
from ..transcripts.formats import MiB, ZipPackage, xml_doctype_problem
from . import PROJECT_NS, schema
from .codebook import codes_element, parse_description

NS = f"{{{PROJECT_NS}}}"
GUID_SPACE = uuid.UUID("6f1c2b1e-4a53-4c1b-9f0e-2b7c1d9a8e55")  # for GUIDs we derive (variables, notes)


def _derived(*parts: object) -> str:
    return str(uuid.uuid5(GUID_SPACE, "/".join(map(str, parts))))


def _when(value) -> str:
    return (value or datetime(2000, 1, 1)).replace(tzinfo=timezone.utc, microsecond=0).isoformat().replace("+00:00", "Z")


def _sub(parent, tag: str, **attrs):
    return etree.SubElement(parent, NS + tag, {k: str(v) for k, v in attrs.items() if v is not None})


def export_project(study: Study, actor: Actor, name: str = "Interview study") -> bytes:
    """The whole study as a `.qdpx` file (lead only: it holds every coder's codings)."""
    require(actor, "exchange_projects")
    files: dict[str, str] = {}
    with study.session() as session:
        users = list(session.scalars(select(User).order_by(User.id)))
        user_guid = {u.id: u.guid for u in users}
        root = etree.Element(NS + "Project", {"name": name, "origin": "workbench",
                                             "creationDateTime": _when(datetime.now(timezone.utc))},
                             nsmap={None: PROJECT_NS})
        people = _sub(root, "Users")
        for user in users:
            _sub(people, "User", guid=user.guid, name=user.name)
        codes = [(code, path) for code, path in code_tree(session, True, lambda c: True)]
        specs = [CodeSpec(path, code.definition, code.inclusion, code.exclusion, code.example, code.color, code.guid)
                 for code, path in codes]
        if specs:
            book = _sub(root, "CodeBook")
            element = codes_element(specs, PROJECT_NS)
            retired = {code.guid for code, _p in codes if code.retired}
            for code_element in element.iter(NS + "Code"):
                if code_element.get("guid") in retired:
                    code_element.set("isCodable", "false")
            book.append(element)
        participants = list(session.scalars(select(Participant).order_by(Participant.pseudonym)))
        variables = ["role", "group", "age"] + sorted({k for p in participants for k in (p.attributes or {})})
        if participants:
            declared = _sub(root, "Variables")
            for variable in variables:
                _sub(declared, "Variable", guid=_derived("variable", variable), name=variable,
                     typeOfVariable="Integer" if variable == "age" else "Text")
        transcripts = list(session.scalars(select(Transcript).order_by(Transcript.title)))
        memos = list(session.scalars(select(Memo).order_by(Memo.id)))
        if participants:
            cases = _sub(root, "Cases")
            for person in participants:
                case = _sub(cases, "Case", guid=person.guid, name=person.pseudonym)
                values = {"role": person.role, "group": person.group, "age": person.age, **(person.attributes or {})}
                for variable in variables:
                    if values.get(variable) in (None, ""):
                        continue
                    value = _sub(case, "VariableValue")
                    _sub(value, "VariableRef", targetGUID=_derived("variable", variable))
                    tag = "IntegerValue" if variable == "age" else "TextValue"
                    etree.SubElement(value, NS + tag).text = str(values[variable])
                for transcript in transcripts:
                    if transcript.participant_id == person.id or any(
                            t.participant_id == person.id for t in transcript.turns):
                        _sub(case, "SourceRef", targetGUID=transcript.guid)
        if transcripts:
            sources = _sub(root, "Sources")
            for transcript in transcripts:
                source = _sub(sources, "TextSource", guid=transcript.guid, name=transcript.title,
                              plainTextPath=f"internal://{transcript.guid}.txt",
                              creationDateTime=_when(transcript.imported_at))
                files[f"sources/{transcript.guid}.txt"] = transcript.text
                for coding in session.scalars(select(Coding).where(Coding.transcript_id == transcript.id)
                                              .order_by(Coding.start, Coding.id)):
                    selection = _sub(source, "PlainTextSelection", guid=coding.guid,
                                     name=transcript.text[coding.start:coding.end],
                                     startPosition=coding.start, endPosition=coding.end,
                                     creatingUser=user_guid[coding.coder_id],
                                     creationDateTime=_when(coding.created_at))
                    if coding.memo:
                        etree.SubElement(selection, NS + "Description").text = coding.memo
                    mark = _sub(selection, "Coding", guid=_derived("coding", coding.guid),
                                creatingUser=user_guid[coding.coder_id], creationDateTime=_when(coding.created_at))
                    _sub(mark, "CodeRef", targetGUID=coding.code.guid)
                for memo in memos:
                    if memo.transcript_id == transcript.id:
                        _sub(source, "NoteRef", targetGUID=_derived("memo", memo.id))
        if memos:
            notes = _sub(root, "Notes")
            for memo in memos:
                note = _sub(notes, "Note", guid=_derived("memo", memo.id), name=memo.title or "Memo",
                            creatingUser=user_guid[memo.author_id], creationDateTime=_when(memo.created_at))
                etree.SubElement(note, NS + "PlainTextContent").text = memo.text
            by_code = {}
            for memo in memos:
                if memo.code_id is not None:
                    by_code.setdefault(session.get(Code, memo.code_id).guid, []).append(memo)
            for code_element in root.iter(NS + "Code"):
                for memo in by_code.get(code_element.get("guid"), []):
                    _insert_noteref(code_element, _derived("memo", memo.id))
            for memo in memos:
                if memo.code_id is None and memo.transcript_id is None:
                    _sub(root, "NoteRef", targetGUID=_derived("memo", memo.id))
    validator = schema("Project.xsd")
    if not validator.validate(root):  # our own output must be valid: a failure is a bug
        raise AssertionError(validator.error_log.last_error.message)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", etree.tostring(root, xml_declaration=True, encoding="utf-8",
                                                       pretty_print=True))
        for path, text in files.items():
            archive.writestr(path, text.encode("utf-8"))
    return buffer.getvalue()


def _insert_noteref(code_element, guid: str) -> None:
    """A code's NoteRefs go after its Description and before its sub-codes (schema order)."""
    ref = etree.Element(NS + "NoteRef", {"targetGUID": guid})
    children = [c for c in code_element if c.tag == NS + "Code"]
    if children:
        children[0].addprevious(ref)
    else:
        code_element.append(ref)


# --- import ----------------------------------------------------------------------------------

@dataclass
class RefiReport:
    users: int = 0
    codes_added: int = 0
    codes_updated: int = 0
    transcripts: int = 0
    codings: int = 0
    memos: int = 0
    conventions: dict[str, str] = field(default_factory=dict)  # transcript -> offset convention used
    skipped: list[str] = field(default_factory=list)


CONVENTIONS = ("code points", "code points, CRLF as one", "UTF-16 units", "UTF-16 units, CRLF as one")
QDE_LIMIT = 100 * MiB  # the most project.qde may unzip to
SOURCE_LIMIT = 4 * MAX_CHARACTERS + 4  # bytes of one source's text file (UTF-8: up to 4 bytes a character)
RATIO_LIMIT = 100  # a part over 1 MB unzipping to more than 100 times its packed size is a zip bomb
OTHER_SOURCES = {"PDFSource": "a PDF", "PictureSource": "a picture", "AudioSource": "an audio recording",
                 "VideoSource": "a video"}
UNIMPORTED = (("Sets/Set", "set", "sets (groups of codes, sources or notes)"),
              ("Links/Link", "link", "links (between codes, sources and notes)"),
              ("Graphs/Graph", "graph", "graphs (network diagrams)"))


def _strip_namespaces(root) -> None:
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname


_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")
_CRLF = re.compile("\r\n")


class _Units:
    """Positions in a source's text counted in one offset convention, and back. Only the
    characters that do not count one are stored — a character above U+FFFF is two UTF-16 units,
    and with "CRLF as one" the `\\r` of `\\r\\n` counts nothing — so memory grows with them, not
    with the text."""

    def __init__(self, length: int, twos=(), zeros=()):
        self.length = length
        self.at = array("q")  # positions of such characters, in order
        self.shift = array("q", [0])  # shift[j]: what the first j of them add to a count
        for k, delta in heapq.merge(((k, 1) for k in twos), ((k, -1) for k in zeros)):
            self.at.append(k)
            self.shift.append(self.shift[-1] + delta)

    def count(self, index: int) -> int:
        """How many units precede `index`."""
        return index + self.shift[bisect.bisect_left(self.at, index)]

    def index(self, value: int | None) -> int | None:
        """The index that `value` units lead to; None outside the text or inside a character."""
        if value is None or value < 0:
            return None
        if not self.at:
            return value if value <= self.length else None
        lo, hi = 0, self.length + 1  # the counts never decrease: find the first reaching `value`
        while lo < hi:
            mid = (lo + hi) // 2
            if self.count(mid) < value:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo <= self.length and self.count(lo) == value else None


def _same(text: str, stored: str) -> bool:
    """Does a selection's text match the text the file stores for it (whitespace aside; some
    tools store only the beginning, so a long enough prefix counts)?"""
    text, stored = " ".join(text.split()), " ".join(stored.split())
    if text == stored:
        return True
    prefix = stored.removesuffix("...").removesuffix("…").rstrip()
    return len(prefix) >= 20 and text.startswith(prefix)


def _choose_convention(raw: str, selections: list[tuple[int | None, int | None, str | None]]) -> tuple[str, _Units]:
    """The offset convention under which the most selections match their stored text (or, with
    none stored, fit inside the text)."""
    if not selections:
        return CONVENTIONS[0], _Units(len(raw))
    twos = array("q", (m.start() for m in _ASTRAL.finditer(raw)))
    zeros = array("q", (m.start() for m in _CRLF.finditer(raw)))
    best = None
    for convention in CONVENTIONS:
        units = _Units(len(raw), twos if "UTF-16" in convention else (), zeros if "CRLF as one" in convention else ())
        fits = matches = 0
        for start, end, stored in selections:
            a, b = units.index(start), units.index(end)
            if a is None or b is None or a >= b:
                continue
            fits += 1
            matches += bool(stored) and _same(raw[a:b], stored)
        score = (matches, fits, -CONVENTIONS.index(convention))
        if best is None or score > best[0]:
            best = (score, convention, units)
    return best[1], best[2]


def _position(value: str | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _guid(value: str | None) -> str | None:
    """A GUID from the file, lower case without braces; None if it is not one (some tools
    write their own identifiers, which an export would then fail to validate)."""
    try:
        return normalize_guid((value or "").strip() or None, "")
    except ValidationError:
        return None


def _key(value: str | None) -> str:
    """How a reference (`targetGUID`, `creatingUser`) is matched: braces and case aside."""
    return (value or "").strip().strip("{}").lower()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _Members:
    """The files of a `.qdpx` by path, case-insensitively, also by every tail of their path
    (a project zipped inside a folder)."""

    def __init__(self, package: ZipPackage | None):
        self.by_path: dict[str, zipfile.ZipInfo] = {}
        for info in package.members if package else ():
            if info.is_dir():
                continue
            parts = info.filename.replace("\\", "/").lower().split("/")
            for k in range(len(parts)):
                self.by_path.setdefault("/".join(parts[k:]), info)

    def find(self, path: str) -> zipfile.ZipInfo | None:
        return self.by_path.get(path.replace("\\", "/").lower().lstrip("/"))


def _qde(data: bytes, filename: str) -> tuple[bytes, ZipPackage | None]:
    """The project XML and, for a `.qdpx`, its zip (read within the limits of `ZipPackage`)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if len(data) > QDE_LIMIT:
            raise InputError(f"too large: {len(data) / MiB:,.0f} MB of XML, more than the "
                             f"{QDE_LIMIT // MiB} MB a project may have", filename)
        return data, None
    package = ZipPackage(data, filename, ".qdpx project", ratio=RATIO_LIMIT)
    qdes = sorted((info for info in package.members if info.filename.lower().endswith(".qde") and not info.is_dir()),
                  key=lambda info: info.filename.count("/"))  # any case (Project.qde, Trial.qde); the root first
    if not qdes:
        raise InputError("not a REFI-QDA project: no project.qde inside the archive", filename)
    return package.read(qdes[0], QDE_LIMIT), package


def _member_of(element, members: _Members) -> zipfile.ZipInfo | None:
    """The zip member holding a source's or note's text (`plainTextPath`), if any."""
    path = element.get("plainTextPath") or ""
    for prefix in ("internal://", "relative://"):
        if path.lower().startswith(prefix):
            path = path[len(prefix):]
    return (members.find(f"sources/{path}") or members.find(path)) if path else None


def _check_declared_total(root, package: ZipPackage | None, members: _Members) -> None:
    """Refuse a project whose text files would together unzip past the total limit, judged on
    the sizes its zip declares, before any of them is read."""
    if package is None:
        return
    counted, total = set(), package.read_total
    for element in (*root.iterfind("Sources/TextSource"), *root.iterfind("Notes/Note")):
        info = None if element.find("PlainTextContent") is not None else _member_of(element, members)
        if info is None or id(info) in counted or package.problem(info, SOURCE_LIMIT):
            continue  # no file, or one skipped unread
        counted.add(id(info))
        total += info.file_size
    package.check_total(total)


def _text_of(element, package: ZipPackage | None, members: _Members) -> tuple[str | None, str | None]:
    """The text of a source or note, inline or in its file: (text, None), or (None, why not).
    A file over a transcript's limit or unfit to read is a reason; the import's total limit
    (`ZipPackage.check_total`) stops the whole import instead."""
    inline = element.findtext("PlainTextContent")
    if inline is not None:
        if len(inline) > MAX_CHARACTERS:
            return None, too_long("its text").message
        return inline, None
    info = _member_of(element, members)
    if info is None:
        return None, "its text is missing from the file"
    if info.file_size > SOURCE_LIMIT:
        return None, (f"its text file {info.filename} unzips to {info.file_size / MiB:,.0f} MB, more than one "
                      f"transcript may have ({MAX_CHARACTERS:,} characters, about 30 hours of talk)")
    problem = package.problem(info, SOURCE_LIMIT)
    if problem:
        return None, problem
    package.check_total(package.read_total + info.file_size)
    try:
        data = package.read(info, SOURCE_LIMIT)
    except InputError as error:  # a damaged part (the message names it)
        return None, error.message
    try:
        return decode_bytes(data, info.filename, MAX_CHARACTERS).text, None
    except InputError as error:
        if error.message == "the file is empty":
            return None, "its text is empty"
        return None, f"its text file {info.filename}: {error.message}"


def _codebook(codes, filename: str, report: "RefiReport") -> tuple[list[CodeSpec], dict[str, CodeSpec]]:
    """The file's codes as specs, read leniently: a name with `/` (our path separator), empty
    or too long is mended, a second code of the same name under one parent is renamed, a
    colour we cannot read is left out and a missing, malformed or repeated GUID replaced — each
    with a line in the report — and codes the file marks not codable (folders) become codes.
    Returns the specs and, by the file's reference key (`_key` of its GUID), each code's spec."""
    specs: list[CodeSpec] = []
    by_key: dict[str, CodeSpec] = {}
    guids: set[str] = set()
    folders: list[str] = []

    def walk(parent, path: tuple[str, ...]) -> None:
        siblings: set[str] = set()
        for element in parent.iterfind("Code"):
            where = f"{filename}, line {element.sourceline}"
            given = element.get("name") or ""
            try:
                name = check_name(given, where)
            except ValidationError:
                mended = "".join(" " if unicodedata.category(ch) == "Cc" else ch
                                 for ch in unicodedata.normalize("NFC", given).replace("/", "-"))
                name = " ".join(mended.split())[:200] or "(unnamed code)"
                report.skipped.append(f"code {given!r} ({where}): renamed {name!r} (a code name may not be empty, "
                                      "hold '/' or control characters, or pass 200 characters)")
            base, n = name, 1
            while name.casefold() in siblings:
                n += 1
                name = f"{base} ({n})"
            if name != base:
                report.skipped.append(f"code {'/'.join((*path, base))!r} ({where}): a second code of this name under "
                                      f"the same parent; imported as {name!r}")
            siblings.add(name.casefold())
            color = element.get("color")
            try:
                color = normalize_color(color[:7] if color and re.fullmatch(r"#[0-9a-fA-F]{8}", color) else color, where)
            except ValidationError:
                report.skipped.append(f"code {name!r} ({where}): its colour {color!r} is not #RGB or #RRGGBB; left out")
                color = None
            key = _key(element.get("guid"))
            guid = _guid(element.get("guid"))
            if guid is None or guid in guids:
                why = "is used twice" if guid else "is missing or not a GUID"
                guid = _derived("code", filename, element.sourceline, key)
                report.skipped.append(f"code {name!r} ({where}): its GUID {why}; given a new one"
                                      + (" (codings that name it go to the first code)" if why == "is used twice" else ""))
            guids.add(guid)
            if (element.get("isCodable") or "true").strip().lower() in ("false", "0"):
                folders.append(name)
            spec = CodeSpec(path=(*path, name), **parse_description(element.findtext("Description") or ""),
                            color=color, guid=guid, where=where,
                            fields_given=frozenset(FIELDS) | ({"color"} if color else set()))
            specs.append(spec)
            if key:
                by_key.setdefault(key, spec)
            walk(element, spec.path)

    walk(codes, ())
    if folders:
        shown = ", ".join(repr(name) for name in folders[:5]) + (", ..." if len(folders) > 5 else "")
        report.skipped.append(f"{_plural(len(folders), 'code')} marked not codable in the file (folders: {shown}): "
                              "imported as ordinary codes")
    return specs, by_key


def _resolve_codes(session, by_key: dict[str, CodeSpec]) -> dict[str, Code]:
    """The study's code for each of the file's codes: by GUID, else by path (a study whose
    codebook came from elsewhere has the same codes under other GUIDs)."""
    codes = list(session.scalars(select(Code)))
    by_guid = {c.guid.lower(): c for c in codes}
    named = {}
    for c in codes:
        named.setdefault((c.parent_id, c.name.casefold()), c)

    def by_path(path):
        node = None
        for part in path:
            node = named.get((node.id if node else None, part.casefold()))
            if node is None:
                return None
        return node

    resolved = {}
    for key, spec in by_key.items():
        code = by_guid.get(spec.guid) or by_path(spec.path)
        if code is not None:
            resolved[key] = code
    for c in codes:
        resolved.setdefault(c.guid.lower(), c)
    return resolved


def _user_name(element) -> str:
    """A user's name as the study allows it (letters, digits, spaces and . @ - _)."""
    given = (element.get("name") or element.get("id") or "").strip()
    name = " ".join(re.sub(r"[^\w.@\- ]+", " ", given).split())[:100]
    return name or f"user-{_key(element.get('guid'))[:8]}"


def import_project(study: Study, actor: Actor, data: bytes, filename: str) -> RefiReport:
    """Import a `.qdpx` (or a bare `.qde`/`.qdpx` XML) into the study, in one transaction.

    Only a file that is not a REFI-QDA project (or breaks a limit: see `ZipPackage`) is refused;
    what the workbench cannot take from a project is left out with a line in the report."""
    from .. import nlp
    from ..transcripts.formats import Source
    from ..transcripts.speakers import detect_turns
    from ..transcripts.study import analyse_sources, store_transcript

    require(actor, "exchange_projects")
    xml, package = _qde(data, filename)
    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not well-formed XML ({exc.msg})", f"{filename}, line {exc.lineno}") from None
    del xml
    problem = xml_doctype_problem(root)
    if problem:
        raise InputError(f"the project {problem}; export the project again", filename)
    _strip_namespaces(root)
    if root.tag != "Project":
        raise InputError(f"not a REFI-QDA project (the root element is {root.tag})", filename)
    members = _Members(package)
    _check_declared_total(root, package, members)
    report = RefiReport()
    pipeline = nlp.load_pipeline()
    with study.transaction() as session:
        users = {}
        for element in root.iterfind("Users/User"):
            name = _user_name(element)
            given = (element.get("name") or element.get("id") or "").strip()
            if given and given != name:
                report.skipped.append(f"user {given!r}: imported as {name!r} (a user name may hold letters, digits, "
                                      "spaces and . @ - _)")
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                from ..users import ensure_coder

                user, _created = ensure_coder(session, name)
                report.users += 1
            users[_key(element.get("guid"))] = user
        fallback = None
        code_keys: dict[str, CodeSpec] = {}
        codes = root.find("CodeBook/Codes")
        if codes is not None:
            specs, code_keys = _codebook(codes, filename, report)
            result = apply_specs(session, specs)
            report.codes_added, report.codes_updated = result.added, result.updated
        by_guid = _resolve_codes(session, code_keys)
        _cases(session, root, report)
        wanted, seen = [], set()
        for source in root.iterfind("Sources/*"):
            if not isinstance(source.tag, str):
                continue
            title = (source.get("name") or source.get("guid") or "source").strip()
            marks = sum(1 for e in source.iter() if isinstance(e.tag, str) and e.tag.endswith("Selection"))
            lost = f" (skipped with its {_plural(marks, 'selection')})" if marks else " (skipped)"
            if source.tag != "TextSource":
                kind = OTHER_SOURCES.get(source.tag, f"a {source.tag}")
                report.skipped.append(f"{title}: {kind}; the workbench imports text sources only{lost}")
                continue
            raw, reason = _text_of(source, package, members)
            if reason:
                report.skipped.append(f"{title}: {reason}{lost}")
                continue
            if title in seen or session.scalar(select(Transcript.id).where(Transcript.title == title)):
                report.skipped.append(f"{title}: a transcript with this title already exists")
                continue
            text, offset_map = canonicalize(raw)
            if len(text) > MAX_CHARACTERS:
                report.skipped.append(f"{title}: {too_long('its text').message}{lost}")
                continue
            if not text.strip() or not detect_turns(text):
                report.skipped.append(f"{title}: its text is empty{lost}")
                continue
            same = session.scalar(select(Transcript.title).where(Transcript.content_hash == text_hasher(session)(text)))
            if same:
                report.skipped.append(f"{title}: the same text is already in the study as {same!r}")
                continue
            seen.add(title)
            wanted.append((source, title, raw, offset_map, Source(title + ".txt", "txt", text, "UTF-8")))
        for path, kind, described in UNIMPORTED:
            count = len(root.findall(path))
            if count:
                report.skipped.append(f"{_plural(count, kind)}: the workbench has no {described}; not imported")
        analysed = analyse_sources([w[-1] for w in wanted], pipeline) if wanted else []
        for (source, title, raw, offset_map, text_source), prepared in zip(wanted, analysed):
            elements = source.findall("PlainTextSelection")
            selections = [(_position(s.get("startPosition")), _position(s.get("endPosition")), s.get("name"))
                          for s in elements]
            convention, units = _choose_convention(raw, selections)
            report.conventions[title] = convention
            transcript, _segments = store_transcript(session, text_source, title, pipeline, prepared=prepared)
            guid = _guid(source.get("guid"))
            if guid and not session.scalar(select(Transcript.id).where(Transcript.guid == guid)):
                transcript.guid = guid
            report.transcripts += 1
            whole = len(source.findall("Coding"))
            if whole:
                report.skipped.append(f"{title}: {_plural(whole, 'coding')} of the whole source (not of a selection); "
                                      "not imported")
            notes_only = 0
            for selection, (start, end, stored) in zip(elements, selections):
                at = f"{selection.get('startPosition')}–{selection.get('endPosition')}"
                if selection.find("Coding") is None:
                    notes_only += 1
                    continue
                a, b = units.index(start), units.index(end)
                if a is None or b is None or a >= b:
                    report.skipped.append(f"{title}: a selection at {at} falls outside the text")
                    continue
                if stored and not _same(raw[a:b], stored):
                    report.skipped.append(f"{title}: the selection at {at} does not match its stored text")
                    continue
                s, e = offset_map.span(a, b)
                memo = selection.findtext("Description") or ""
                for coding in selection.iterfind("Coding"):
                    ref = coding.find("CodeRef")
                    code = by_guid.get(_key(ref.get("targetGUID") if ref is not None else ""))
                    if code is None:
                        report.skipped.append(f"{title}: a coding at {at} refers to an unknown code")
                        continue
                    user = users.get(_key(coding.get("creatingUser") or selection.get("creatingUser")))
                    if user is None:
                        if fallback is None:
                            from ..users import ensure_coder

                            fallback, _ = ensure_coder(session, "imported")
                        user = fallback
                    duplicate = session.scalar(select(Coding.id).where(
                        Coding.coder_id == user.id, Coding.code_id == code.id, Coding.transcript_id == transcript.id,
                        Coding.start == s, Coding.end == e))
                    if duplicate:
                        continue
                    session.add(Coding(coder_id=user.id, code_id=code.id, transcript_id=transcript.id, start=s,
                                       end=e, memo=memo, origin="refi", round=1,
                                       guid=_coding_guid(session, selection.get("guid"))))
                    report.codings += 1
            if notes_only:
                report.skipped.append(f"{title}: {_plural(notes_only, 'selection')} without a code (annotations); "
                                      "not imported as codings")
            session.flush()
        report.memos = _notes(session, root, users, fallback, package, members, by_guid, report)
        record(session, actor.signature, "project.import", file=filename, transcripts=report.transcripts,
               codings=report.codings, codes_added=report.codes_added, skipped=len(report.skipped))
    return report


def _cases(session, root, report: RefiReport) -> None:
    """Cases become participants (pseudonym = case name), their variables the key's columns."""
    names = {_key(v.get("guid")): v.get("name") for v in root.iterfind("Variables/Variable")}
    for case in root.iterfind("Cases/Case"):
        pseudonym = (case.get("name") or "").strip()
        if not pseudonym:
            report.skipped.append("a case without a name")
            continue
        values = {}
        for value in case.iterfind("VariableValue"):
            ref = value.find("VariableRef")
            name = names.get(_key(ref.get("targetGUID") if ref is not None else ""))
            content = next((child.text for child in value if child.tag != "VariableRef"), None)
            if name and content is not None:
                values[name] = content.strip()
        person = session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))
        if person is None:
            person = Participant(pseudonym=pseudonym)
            guid = _guid(case.get("guid"))
            if guid and not session.scalar(select(Participant.id).where(Participant.guid == guid)):
                person.guid = guid
            session.add(person)
        person.role = values.pop("role", person.role)
        person.group = values.pop("group", person.group)
        age = values.pop("age", None)
        person.age = int(age) if age and age.isdigit() else person.age
        person.attributes = {**(person.attributes or {}), **values}
    session.flush()


def _coding_guid(session, guid: str | None) -> str:
    guid = _guid(guid)
    if guid and not session.scalar(select(Coding.id).where(Coding.guid == guid)):
        return guid
    return str(uuid.uuid4())


def _notes(session, root, users: dict, fallback, package, members: _Members, codes: dict[str, Code],
           report: RefiReport) -> int:
    """Notes become memos: on the transcript or code that refers to them, else on the project.
    A note's text is inline or in its own file (read within the same limits as a source's)."""
    targets: dict[str, tuple[str, str]] = {}
    for source in root.iterfind("Sources/TextSource"):
        title = (source.get("name") or source.get("guid") or "source").strip()
        for ref in source.iterfind("NoteRef"):
            targets[_key(ref.get("targetGUID"))] = ("transcript", title)
    for code in root.iter("Code"):
        for ref in code.findall("NoteRef"):
            targets[_key(ref.get("targetGUID"))] = ("code", _key(code.get("guid")))
    count = 0
    for note in root.iterfind("Notes/Note"):
        text, reason = _text_of(note, package, members)
        if reason and note.findtext("PlainTextContent") is None and note.get("plainTextPath") \
                and reason != "its text is empty":
            report.skipped.append(f"note {note.get('name') or _key(note.get('guid'))!r}: {reason}")
        if not text:
            continue
        author = users.get(_key(note.get("creatingUser")))
        if author is None:
            from ..users import ensure_coder

            author = fallback or ensure_coder(session, "imported")[0]
        kind, target = targets.get(_key(note.get("guid")), (None, None))
        memo = Memo(author_id=author.id, title=note.get("name") or "", text=text)
        if kind == "transcript":
            memo.transcript_id = session.scalar(select(Transcript.id).where(Transcript.title == target))
        elif kind == "code" and target in codes:
            memo.code_id = codes[target].id
        session.add(memo)
        count += 1
    return count
