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

import io
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree
from sqlalchemy import select

from ..access import Actor, require
from ..audit import record
from ..canonical import canonicalize, content_hash, decode_bytes
from ..codebook.spec import CodeSpec
from ..codebook.study import apply_specs, code_tree
from ..errors import InputError
from ..store import Study
from ..store.models import Code, Coding, Memo, Participant, Transcript, User
from . import PROJECT_NS, schema
from .codebook import codes_element, read_codes

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


def _strip_namespaces(root) -> None:
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname


def _units(raw: str, convention: str) -> list[int]:
    """For each index of `raw`, its position counted in `convention` (plus one past the end)."""
    positions, count = [], 0
    for k, ch in enumerate(raw):
        positions.append(count)
        if "CRLF as one" in convention and ch == "\r" and raw[k + 1:k + 2] == "\n":
            continue
        count += 2 if ("UTF-16" in convention and ord(ch) > 0xFFFF) else 1
    positions.append(count)
    return positions


def _to_index(units: list[int], value: int) -> int | None:
    import bisect

    k = bisect.bisect_left(units, value)
    return k if k < len(units) and units[k] == value else None


def _same(text: str, stored: str) -> bool:
    """Does a selection's text match the text the file stores for it (whitespace aside; some
    tools store only the beginning, so a long enough prefix counts)?"""
    text, stored = " ".join(text.split()), " ".join(stored.split())
    if text == stored:
        return True
    prefix = stored.removesuffix("...").removesuffix("…").rstrip()
    return len(prefix) >= 20 and text.startswith(prefix)


def _choose_convention(raw: str, selections: list[tuple[int, int, str | None]]) -> tuple[str, list[int]]:
    """The offset convention under which the most selections match their stored text (or, with
    none stored, fit inside the text)."""
    best = None
    for convention in CONVENTIONS:
        units = _units(raw, convention)
        fits = matches = 0
        for start, end, stored in selections:
            a, b = _to_index(units, start), _to_index(units, end)
            if a is None or b is None or a >= b:
                continue
            fits += 1
            matches += bool(stored) and _same(raw[a:b], stored)
        score = (matches, fits, -CONVENTIONS.index(convention))
        if best is None or score > best[0]:
            best = (score, convention, units)
    return best[1], best[2]


def _zip_member(archive: zipfile.ZipFile, path: str) -> bytes | None:
    wanted = path.replace("\\", "/").lower()
    for name in archive.namelist():
        if name.replace("\\", "/").lower() == wanted or name.replace("\\", "/").lower().endswith("/" + wanted):
            return archive.read(name)
    return None


def import_project(study: Study, actor: Actor, data: bytes, filename: str) -> RefiReport:
    """Import a `.qdpx` (or a bare `.qde`/`.qdpx` XML) into the study, in one transaction."""
    from .. import nlp
    from ..transcripts.formats import Source
    from ..transcripts.study import analyse_sources, store_transcript

    require(actor, "exchange_projects")
    archive = None
    if zipfile.is_zipfile(io.BytesIO(data)):
        archive = zipfile.ZipFile(io.BytesIO(data))
        qde = next((n for n in archive.namelist() if n.lower().endswith(".qde")), None)
        if qde is None:
            raise InputError("no project.qde inside the archive", filename)
        xml = archive.read(qde)
    else:
        xml = data
    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not well-formed XML ({exc.msg})", f"{filename}, line {exc.lineno}") from None
    _strip_namespaces(root)
    if root.tag != "Project":
        raise InputError(f"not a REFI-QDA project (the root element is {root.tag})", filename)
    report = RefiReport()
    pipeline = nlp.load_pipeline()
    with study.transaction() as session:
        users = {}
        for element in root.iterfind("Users/User"):
            name = (element.get("name") or element.get("id") or "").strip() or f"user-{element.get('guid', '')[:8]}"
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                from ..users import ensure_coder

                user, _created = ensure_coder(session, name)
                report.users += 1
            users[(element.get("guid") or "").strip("{}").lower()] = user
        fallback = None
        specs: list[CodeSpec] = []
        codes = root.find("CodeBook/Codes")
        if codes is not None:
            read_codes(codes, (), filename, specs, None)
            result = apply_specs(session, specs)
            report.codes_added, report.codes_updated = result.added, result.updated
        _cases(session, root, report)
        by_guid = {c.guid.lower(): c for c in session.scalars(select(Code))}
        wanted, seen = [], set()
        for source in root.iterfind("Sources/TextSource"):
            title = (source.get("name") or source.get("guid") or "source").strip()
            raw = _source_text(source, archive, filename)
            if raw is None:
                report.skipped.append(f"{title}: its text is missing from the file")
                continue
            if title in seen or session.scalar(select(Transcript.id).where(Transcript.title == title)):
                report.skipped.append(f"{title}: a transcript with this title already exists")
                continue
            text, offset_map = canonicalize(raw)
            same = session.scalar(select(Transcript.title).where(Transcript.content_hash == content_hash(text)))
            if same:
                report.skipped.append(f"{title}: the same text is already in the study as {same!r}")
                continue
            seen.add(title)
            wanted.append((source, title, raw, offset_map, Source(title + ".txt", "txt", text, "UTF-8")))
        analysed = analyse_sources([w[-1] for w in wanted], pipeline) if wanted else []
        for (source, title, raw, offset_map, text_source), prepared in zip(wanted, analysed):
            selections = [(int(s.get("startPosition", -1)), int(s.get("endPosition", -1)), s.get("name"))
                          for s in source.iterfind("PlainTextSelection")]
            convention, units = _choose_convention(raw, selections)
            report.conventions[title] = convention
            transcript, _segments = store_transcript(session, text_source, title, pipeline, prepared=prepared)
            guid = (source.get("guid") or "").strip("{}").lower()
            if guid and not session.scalar(select(Transcript.id).where(Transcript.guid == guid)):
                transcript.guid = guid
            report.transcripts += 1
            for selection, (start, end, stored) in zip(source.iterfind("PlainTextSelection"), selections):
                a, b = _to_index(units, start), _to_index(units, end)
                if a is None or b is None or a >= b:
                    report.skipped.append(f"{title}: a selection at {start}–{end} falls outside the text")
                    continue
                if stored and not _same(raw[a:b], stored):
                    report.skipped.append(f"{title}: the selection at {start}–{end} does not match its stored text")
                    continue
                s, e = offset_map.span(a, b)
                memo = selection.findtext("Description") or ""
                for coding in selection.iterfind("Coding"):
                    ref = coding.find("CodeRef")
                    code = by_guid.get((ref.get("targetGUID") if ref is not None else "").strip("{}").lower())
                    if code is None:
                        report.skipped.append(f"{title}: a coding at {start}–{end} refers to an unknown code")
                        continue
                    who = (coding.get("creatingUser") or selection.get("creatingUser") or "").strip("{}").lower()
                    user = users.get(who)
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
            session.flush()
        report.memos = _notes(session, root, users, fallback)
        record(session, actor.name, "project.import", file=filename, transcripts=report.transcripts,
               codings=report.codings, codes_added=report.codes_added, skipped=len(report.skipped))
    return report


def _cases(session, root, report: RefiReport) -> None:
    """Cases become participants (pseudonym = case name), their variables the key's columns."""
    names = {(v.get("guid") or "").strip("{}").lower(): v.get("name") for v in root.iterfind("Variables/Variable")}
    for case in root.iterfind("Cases/Case"):
        pseudonym = (case.get("name") or "").strip()
        if not pseudonym:
            report.skipped.append("a case without a name")
            continue
        values = {}
        for value in case.iterfind("VariableValue"):
            ref = value.find("VariableRef")
            name = names.get((ref.get("targetGUID") if ref is not None else "").strip("{}").lower())
            content = next((child.text for child in value if child.tag != "VariableRef"), None)
            if name and content is not None:
                values[name] = content.strip()
        person = session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))
        if person is None:
            person = Participant(pseudonym=pseudonym)
            guid = (case.get("guid") or "").strip("{}").lower()
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
    guid = (guid or "").strip("{}").lower()
    if guid and not session.scalar(select(Coding.id).where(Coding.guid == guid)):
        return guid
    return str(uuid.uuid4())


def _source_text(source, archive, filename: str) -> str | None:
    inline = source.findtext("PlainTextContent")
    if inline is not None:
        return inline
    path = source.get("plainTextPath") or ""
    if archive is None or not path:
        return None
    for prefix in ("internal://", "relative://"):
        if path.lower().startswith(prefix):
            path = path[len(prefix):]
    member = _zip_member(archive, f"sources/{path}") or _zip_member(archive, path)
    if member is None:
        return None
    return decode_bytes(member, path).text


def _notes(session, root, users: dict, fallback) -> int:
    """Notes become memos: on the transcript or code that refers to them, else on the project."""
    targets: dict[str, tuple[str, object]] = {}
    for source in root.iterfind("Sources/TextSource"):
        title = (source.get("name") or "").strip()
        for ref in source.iterfind("NoteRef"):
            targets[(ref.get("targetGUID") or "").strip("{}").lower()] = ("transcript", title)
    for code in root.iter("Code"):
        for ref in code.findall("NoteRef"):
            targets[(ref.get("targetGUID") or "").strip("{}").lower()] = ("code", code.get("guid"))
    count = 0
    for note in root.iterfind("Notes/Note"):
        text = note.findtext("PlainTextContent")
        if not text:
            continue
        author = users.get((note.get("creatingUser") or "").strip("{}").lower())
        if author is None:
            from ..users import ensure_coder

            author = fallback or ensure_coder(session, "imported")[0]
        kind, target = targets.get((note.get("guid") or "").strip("{}").lower(), (None, None))
        memo = Memo(author_id=author.id, title=note.get("name") or "", text=text)
        if kind == "transcript":
            memo.transcript_id = session.scalar(select(Transcript.id).where(Transcript.title == target))
        elif kind == "code":
            memo.code_id = session.scalar(select(Code.id).where(Code.guid == (target or "").strip("{}").lower()))
        session.add(memo)
        count += 1
    return count
