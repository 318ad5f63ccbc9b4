"""Readers for transcript files: pure functions from (file name, bytes) to a `Source`.

Every reader returns the canonical text (see `canonical`) plus speaker hints the file's
structure gives and plain text would lose: bold speaker runs in .docx, `<v Name>` voice tags
and cue times in captions. Turn detection (`speakers`) then reads the text and the hints.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePath

import regex

from ..canonical import MAX_CHARACTERS, canonical_text, decode_bytes, too_long
from ..errors import InputError

FORMATS = (".txt", ".docx", ".vtt", ".srt")

# Limits: a transcript's text (`canonical.MAX_CHARACTERS`, about 30 hours of talk) and what
# reading a file may cost. Every limit is checked on the declared sizes before anything is read
# and again on the bytes actually read.
MiB = 1024 * 1024
CAPTION_CHARACTERS = 4 * MAX_CHARACTERS  # a caption file's own length: cue numbers and times besides talk
ZIP_PART_LIMIT = 50 * MiB  # the most one part of a .docx or .qdpx that we read may unzip to
ZIP_TOTAL_LIMIT = 200 * MiB  # the most all the parts we read of one file may unzip to
ZIP_MEMBERS_LIMIT = 20_000  # files inside one zip package
MAX_FILE_BYTES = {
    ".txt": 4 * MAX_CHARACTERS + 4,  # no encoding takes more than 4 bytes a character
    ".vtt": 4 * CAPTION_CHARACTERS + 4,
    ".srt": 4 * CAPTION_CHARACTERS + 4,
    ".docx": ZIP_TOTAL_LIMIT,
}


@dataclass(frozen=True)
class LineHint:
    """What the file's structure says about one line of the canonical text."""

    speaker: str | None = None
    label_end: int = 0  # characters of the line taken by the speaker label
    time_start: float | None = None
    time_end: float | None = None


@dataclass
class Source:
    filename: str
    format: str
    text: str
    encoding: str
    hints: dict[int, LineHint] = field(default_factory=dict)  # line number -> hint
    notes: list[str] = field(default_factory=list)


def read_source(filename: str, data: bytes) -> Source:
    """Read a transcript file of any supported format. Raises InputError for bad input,
    including files over the limits above."""
    name = PurePath(filename).name
    ext = check_file_size(filename, len(data))
    reader = {".txt": read_txt, ".docx": read_docx, ".vtt": read_vtt, ".srt": read_srt}[ext]
    source = reader(name, data)
    if not source.text.strip():
        raise InputError("no text found in the file", name)
    if len(source.text) > MAX_CHARACTERS:
        raise too_long(name)
    return source


def check_file_size(filename: str, size: int) -> str:
    """The file's extension, once it names a format and `size` bytes are not more than that
    format may have (checked before a file is read)."""
    name = PurePath(filename).name
    ext = PurePath(filename).suffix.lower()
    if ext not in FORMATS:
        raise InputError(
            f"unknown extension {ext or '(none)'!r}; expected one of {', '.join(FORMATS)}", name
        )
    if size > MAX_FILE_BYTES[ext]:
        if ext == ".docx":
            raise InputError(f"too large: {size / MiB:,.0f} MB, and a Word file may have at most "
                             f"{ZIP_TOTAL_LIMIT // MiB} MB", name)
        raise too_long(name, (MAX_FILE_BYTES[ext] - 4) // 4)
    return ext


def read_txt(name: str, data: bytes) -> Source:
    decoded = decode_bytes(data, name, MAX_CHARACTERS)
    return Source(name, "txt", canonical_text(decoded.text), decoded.encoding)


# --- zip packages (.docx here, .qdpx in refi.project) -------------------------------------

class ZipPackage:
    """An untrusted zip file read within limits: at most `ZIP_MEMBERS_LIMIT` files, each part
    read at most `part_limit` bytes unzipped and all of them together at most `ZIP_TOTAL_LIMIT`,
    checked on the sizes the zip declares before reading and on the bytes as they are unzipped
    (in chunks, stopping past the limit: a zip can lie about sizes). `ratio`, if given, refuses
    a part over 1 MB that unzips to more than `ratio` times its packed size (a zip bomb)."""

    def __init__(self, data: bytes, filename: str, kind: str, ratio: int | None = None):
        self.filename, self.kind, self.ratio = filename, kind, ratio
        self.size = len(data)
        self.read_total = 0
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
            self.members = self.archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
            raise InputError(f"not a valid {kind} (its zip directory is damaged: {exc})", filename) from None
        if len(self.members) > ZIP_MEMBERS_LIMIT:
            raise InputError(f"not a valid {kind}: it holds {len(self.members):,} files, more than the "
                             f"{ZIP_MEMBERS_LIMIT:,} a {kind} may have", filename)

    def problem(self, info: zipfile.ZipInfo, part_limit: int = ZIP_PART_LIMIT) -> str | None:
        """Why the part `info` may not be read, judged on its declared sizes (None: it may)."""
        if info.file_size > part_limit:
            return (f"{info.filename} unzips to {info.file_size / MiB:,.0f} MB, more than the "
                    f"{part_limit / MiB:,.0f} MB one part may have")
        packed = min(info.compress_size, self.size) or 1
        if self.ratio and info.file_size > MiB and info.file_size > self.ratio * packed:
            return (f"{info.filename} unzips to {info.file_size // packed:,} times its packed size "
                    f"(more than {self.ratio} times: a zip bomb?)")
        return None

    def read(self, info: zipfile.ZipInfo, part_limit: int = ZIP_PART_LIMIT) -> bytes:
        """The part's bytes. Raises InputError (naming the part) past a limit or when damaged."""
        problem = self.problem(info, part_limit)
        if problem:
            raise InputError(problem, self.filename)
        self.check_total(self.read_total + info.file_size)
        chunks, size = [], 0
        try:
            with self.archive.open(info) as member:
                while chunk := member.read(MiB):
                    size += len(chunk)
                    if size > part_limit:
                        raise InputError(f"{info.filename} unzips to more than the {part_limit / MiB:,.0f} MB "
                                         "one part may have (more than its zip entry declares)", self.filename)
                    self.check_total(self.read_total + size)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                OSError) as exc:
            raise InputError(f"{info.filename} is damaged in the zip ({exc})", self.filename) from None
        self.read_total += size
        return b"".join(chunks)

    def check_total(self, total: int) -> None:
        if total > ZIP_TOTAL_LIMIT:
            raise InputError(f"the parts of this {self.kind} unzip to more than {ZIP_TOTAL_LIMIT // MiB} MB, "
                             "the most one import reads", self.filename)


def xml_doctype_problem(root) -> str | None:
    """Why an XML document (parsed without expanding entities, without a network) is refused, or
    None. Word and REFI-QDA files never declare a document type; one that does may use entities,
    and an entity reference (`&x;`) left unexpanded in text becomes a node that `.text` stops at
    (the rest of the paragraph silently lost), one in an attribute declared in an external DTD
    is dropped without a trace. So a file with a DOCTYPE is refused, naming the entities used."""
    from lxml import etree

    doctype = root.getroottree().docinfo.doctype
    if not doctype:
        return None
    used = list(root.iter(etree.Entity))
    uses = ""
    if used:
        names = ", ".join(dict.fromkeys(f"&{node.name};" for node in used))
        uses = f" and uses the XML entity {names} (line {used[0].sourceline})"
    return (f"declares a document type ({doctype[:80]}){uses}, which Word and REFI-QDA files never do; it is "
            "refused rather than read with the entities' text lost")


# --- Word ---------------------------------------------------------------------------------

CAPITAL = r"[\p{Lu}\p{Lt}]"  # (for `regex`) any script's capitals: Łukasz, Élodie, Ömer; titlecase ǅ
_NAME_WORD = rf"{CAPITAL}[\w'’.\-]*|\d+"
_BOLD_LABEL = regex.compile(rf"^\s*(?P<name>(?:{_NAME_WORD})(?:\s+(?:{_NAME_WORD})){{0,3}})\s*:?\s*$")


def read_docx(name: str, data: bytes) -> Source:
    """Paragraphs of the body (and of table cells, row by row) joined by `\\n`."""
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InputError("not a valid .docx file (it is not a zip package)", name)
    package = _docx_parts(name, data)
    try:
        document = docx.Document(io.BytesIO(package))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a valid .docx file ({exc.__class__.__name__})", name) from None
    except Exception as exc:  # lxml errors from a damaged part
        raise InputError(f"damaged .docx file: {exc}", name) from None
    problem = xml_doctype_problem(document.element)
    if problem:
        raise InputError(f"word/document.xml {problem}; save the document again from Word", name)
    lines: list[str] = []
    hints: dict[int, LineHint] = {}
    length = 0
    for paragraph in _body_paragraphs(document):
        text = canonical_text(paragraph.text)
        length += len(text) + 1
        if length > MAX_CHARACTERS + 1:
            raise too_long(name)
        hint = _bold_label(paragraph, text)
        for k, line in enumerate(text.split("\n")):
            if k == 0 and hint:
                hints[len(lines)] = hint
            lines.append(line)
    return Source(name, "docx", "\n".join(lines), "UTF-8 (Word)", hints)


def _docx_parts(name: str, data: bytes) -> bytes:
    """The package python-docx gets: the XML parts (content types, relationships, document,
    styles, ...) read within the zip limits, every other part (pictures, the thumbnail, embedded
    files, fonts) left empty, unread. python-docx loads every part a relationship names, so a
    1 GB thumbnail would otherwise be unzipped into memory."""
    from lxml import etree

    package = ZipPackage(data, name, ".docx file")
    by_name = {info.filename: info for info in package.members}
    defaults, overrides = {}, {}
    types = by_name.get("[Content_Types].xml")
    if types is not None:
        try:
            root = etree.fromstring(package.read(types), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise InputError(f"not a valid .docx file ([Content_Types].xml: {exc.msg})", name) from None
        for element in root:
            tag = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if tag == "Default":
                defaults[(element.get("Extension") or "").lower()] = element.get("ContentType") or ""
            elif tag == "Override":
                overrides[(element.get("PartName") or "").lstrip("/").lower()] = element.get("ContentType") or ""

    def is_xml(member: str) -> bool:
        if member.lower().endswith((".xml", ".rels")):
            return True
        content_type = overrides.get(member.lower(), defaults.get(PurePath(member).suffix.lstrip(".").lower(), ""))
        return "xml" in content_type.lower()

    wanted = [info for info in package.members if not info.is_dir() and info is not types and is_xml(info.filename)]
    read = {id(info) for info in wanted}
    for info in wanted:  # every limit on the declared sizes before any part is read
        problem = package.problem(info)
        if problem:
            raise InputError(problem, name)
    package.check_total(sum(info.file_size for info in wanted) + (types.file_size if types is not None else 0))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in package.members:
            if info.is_dir():
                continue
            if info is types or id(info) in read:
                copy.writestr(info.filename, package.read(info))
            else:
                copy.writestr(info.filename, b"")
    return out.getvalue()


def _body_paragraphs(document):
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    yield from cell.paragraphs


def _bold_label(paragraph, text: str) -> LineHint | None:
    """A bold run at the start of a paragraph that reads as a name is a speaker label."""
    prefix = ""
    for run in paragraph.runs:
        if not run.text:
            continue
        if run.bold:
            prefix += run.text
        else:
            break
    prefix = canonical_text(prefix)
    if not prefix.strip() or not text.startswith(prefix):
        return None
    match = _BOLD_LABEL.match(prefix)
    if not match:
        return None
    label_end = len(prefix)
    rest = text[label_end:]
    label_end += len(rest) - len(rest.lstrip(": \t"))
    return LineHint(speaker=match.group("name"), label_end=label_end)


# --- Captions -----------------------------------------------------------------------------

_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?")


def parse_time(value: str) -> float:
    match = _TIME.fullmatch(value.strip())
    if not match:
        raise ValueError(value)
    hours, minutes, seconds, fraction = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (int(fraction.ljust(3, "0")) / 1000 if fraction else 0.0)


_TAG = re.compile(r"</?(?:c|i|b|u|v|lang|ruby|rt)(?:[.\s][^>]*)?>|<\d[\d:.]*>")
# SubRip has no escaping, so a `<` may be talk ("I <3 you", "a<b and c>d"): only the exact forms of
# its formatting tags go — <b> <i> <u> <s>, <font attr=value ...>, </font> — and ASS override
# blocks that start with a backslash ({\an8}, {\i1}).
_FONT_ATTRIBUTE = r"""\s+[\w-]+\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>]+)"""
_SUBRIP_TAG = re.compile(rf"</?[bius]>|<font(?:{_FONT_ATTRIBUTE})*\s*>|</font\s*>|\{{\\[^{{}}\n]*\}}", re.I)


def _cue_lines(cues) -> tuple[str, dict[int, LineHint]]:
    """One line per cue, `Speaker: text` when the cue names its speaker."""
    lines: list[str] = []
    hints: dict[int, LineHint] = {}
    for speaker, text, start, end in cues:
        body = canonical_text(" ".join(part.strip() for part in text.splitlines() if part.strip()))
        if not body:
            continue
        if speaker:
            speaker = canonical_text(speaker.strip())
            line = f"{speaker}: {body}"
            hints[len(lines)] = LineHint(speaker, len(speaker) + 2, start, end)
        else:
            line = body
            hints[len(lines)] = LineHint(None, 0, start, end)
        lines.append(line)
    return "\n".join(lines), hints


def read_vtt(name: str, data: bytes) -> Source:
    """WebVTT (Teams, Zoom): `<v Name>` voice tags become `Name: ` labels."""
    import webvtt
    from webvtt.errors import MalformedFileError

    decoded = decode_bytes(data, name, CAPTION_CHARACTERS)
    try:
        captions = webvtt.from_buffer(io.StringIO(decoded.text.lstrip("\ufeff")))
    except MalformedFileError as exc:
        raise InputError(f"not a valid WebVTT file ({exc})", name) from None
    cues = []
    for caption in captions:
        voices = re.findall(r"<v(?:\.[\w.]+)?\s+([^>]+)>", caption.raw_text)
        speaker = voices[0].strip() if voices else None
        text = _TAG.sub("", caption.raw_text)
        cues.append((speaker, _unescape(text), parse_time(caption.start), parse_time(caption.end)))
    text, hints = _cue_lines(cues)
    return Source(name, "vtt", text, decoded.encoding, hints)


def read_srt(name: str, data: bytes) -> Source:
    import srt

    decoded = decode_bytes(data, name, CAPTION_CHARACTERS)
    try:
        subtitles = list(srt.parse(decoded.text.lstrip("\ufeff")))
    except (srt.SRTParseError, ValueError) as exc:
        raise InputError(f"not a valid SubRip (.srt) file ({exc.__class__.__name__})", name) from None
    cues = [
        (None, _SUBRIP_TAG.sub("", s.content), s.start.total_seconds(), s.end.total_seconds())
        for s in subtitles
    ]
    text, hints = _cue_lines(cues)
    return Source(name, "srt", text, decoded.encoding, hints)


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u00a0")
            .replace("&lrm;", "\u200e").replace("&rlm;", "\u200f").replace("&amp;", "&"))
