"""Hostile and oversized input files (security review, "Hardening" 5 and 10).

Every file here is real: Word files built with python-docx, zip files written with `zipfile`
(and, for the zip that lies about its sizes, its headers patched afterwards), large inputs
generated at test time in memory or in tmp_path. Peak memory is measured with tracemalloc: a
reader that unzipped, decoded or kept what it should refuse or skip would show it.
"""

from __future__ import annotations

import io
import random
import time
import tracemalloc
import unicodedata
import zipfile

import docx
import pytest

from workbench.access import LEAD_CLI
from workbench.canonical import MAX_CHARACTERS, canonicalize
from workbench.errors import InputError
from workbench.refi import PROJECT_NS
from workbench.refi.project import import_project
from workbench.store.models import Coding, Transcript
from workbench.transcripts.formats import read_source
from workbench.transcripts.study import FileInput, import_transcripts

MB = 1024 * 1024


def peak_bytes(function, *args):
    """(result or raised InputError, peak bytes allocated while it ran)."""
    tracemalloc.start()
    try:
        try:
            result = function(*args)
        except InputError as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rows(study, model):
    from sqlalchemy import select

    with study.session() as session:
        return list(session.scalars(select(model)))


def word(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rezip(data: bytes, replace=(), add=()) -> bytes:
    """A copy of the zip `data` with some members' contents replaced and members added (contents
    as `write` takes them)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in dict(replace):
                write(target, info.filename, dict(replace)[info.filename])
            else:
                target.writestr(info.filename, source.read(info.filename))
        for name, content in dict(add).items():
            write(target, name, content)
    return out.getvalue()


def write(archive: zipfile.ZipFile, name: str, content: bytes | int | tuple[bytes, int]) -> None:
    """`content` bytes; or that many zero bytes; or (bytes, n): the bytes then n spaces — the
    large ones streamed in chunks, so a bomb is built without holding it in memory."""
    if isinstance(content, bytes):
        archive.writestr(zipfile.ZipInfo(name), content, zipfile.ZIP_DEFLATED)
        return
    head, size, fill = (b"", content, b"\0") if isinstance(content, int) else (*content, b" ")
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=size > 2**31) as member:
        member.write(head)
        chunk = fill * MB
        for _ in range(size // MB):
            member.write(chunk)
        member.write(fill * (size % MB))


def patch_sizes(data: bytes, member: str, *, file_size: int | None = None, compress_size: int | None = None) -> bytes:
    """The zip with `member`'s sizes rewritten in its local header and central directory entry:
    a zip that lies about what it holds."""
    out, name = bytearray(data), member.encode()
    for signature, name_length_at, name_at, packed_at, size_at in ((b"PK\x01\x02", 28, 46, 20, 24),
                                                                  (b"PK\x03\x04", 26, 30, 18, 22)):
        at = out.find(signature)
        while at >= 0:
            length = int.from_bytes(out[at + name_length_at:at + name_length_at + 2], "little")
            if bytes(out[at + name_at:at + name_at + length]) == name:
                if file_size is not None:
                    out[at + size_at:at + size_at + 4] = file_size.to_bytes(4, "little")
                if compress_size is not None:
                    out[at + packed_at:at + packed_at + 4] = compress_size.to_bytes(4, "little")
            at = out.find(signature, at + 4)
    return bytes(out)


def qdpx(sources: dict[str, str | bytes | int], *, qde_extra: int = 0, doctype: str = "", inline: str | None = None,
         padding: int = 0) -> bytes:
    """A REFI-QDA project with one text source per entry of `sources` (title -> text, bytes, or
    a number of zero bytes), each with a coded selection of its first 4 characters."""
    xml = [f'<?xml version="1.0" encoding="utf-8"?>{doctype}<Project xmlns="{PROJECT_NS}" name="p">'
           '<Users><User guid="11111111-1111-4111-8111-111111111111" name="Ana"/></Users>'
           '<CodeBook><Codes><Code guid="22222222-2222-4222-8222-222222222222" name="Support" isCodable="true"/>'
           "</Codes></CodeBook><Sources>"]
    for k, title in enumerate(sources):
        body = f"<PlainTextContent>{inline}</PlainTextContent>" if inline is not None else ""
        path = "" if inline is not None else f' plainTextPath="internal://s{k}.txt"'
        xml.append(f'<TextSource guid="{k:08d}-3333-4333-8333-333333333333" name="{title}"{path}>{body}'
                   f'<PlainTextSelection guid="{k:08d}-4444-4444-8444-444444444444" startPosition="0" endPosition="4" '
                   'creatingUser="11111111-1111-4111-8111-111111111111"><Coding guid='
                   f'"{k:08d}-5555-4555-8555-555555555555"><CodeRef targetGUID="22222222-2222-4222-8222-222222222222"/>'
                   "</Coding></PlainTextSelection></TextSource>")
    xml.append("</Sources></Project>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        qde = "".join(xml).encode("utf-8")
        write(archive, "project.qde", (qde, qde_extra) if qde_extra else qde)
        if inline is None:
            for k, content in enumerate(sources.values()):
                write(archive, f"sources/s{k}.txt", content.encode("utf-8") if isinstance(content, str) else content)
        if padding:  # incompressible bytes nothing reads, to make the zip itself larger
            archive.writestr("padding.bin", random.Random(0).randbytes(padding), zipfile.ZIP_STORED)
    return out.getvalue()


GOOD = "Interviewer: How was it?\nAmy: She rang back every time.\n"


@pytest.fixture
def warm(study):
    """The study, with the NLP pipeline loaded before any memory is measured."""
    from workbench import nlp

    nlp.load_pipeline()
    return study


# --- canonicalisation: memory linear and small ------------------------------------------------

def interview(characters: int) -> str:
    """A Windows-made transcript (CRLF), decomposed accents (a Mac's NFD), an emoji: every kind
    of change canonicalisation makes, on most lines."""
    line = "Amy: The caf\u0065\u0301 was na\u0131\u0308ve, I said \u201cfine\u201d \U0001F600 and went home.\r\n"
    return (line * (characters // len(line) + 1))[:characters]


@pytest.mark.parametrize("raw", [interview(1_000_000), "e\u0301" * 100_000, "\r\n" * 100_000],
                         ids=["interview", "every-character-composes", "every-line-end-changes"])
def test_canonicalisation_keeps_memory_linear_and_under_20_bytes_a_character(raw):
    (text, offsets), peak = peak_bytes(canonicalize, raw)
    assert text == unicodedata.normalize("NFC", raw.replace("\r\n", "\n"))
    assert peak / len(raw) < 20, f"{peak / len(raw):.1f} bytes a character"
    # spans between piece boundaries (line starts, or every second character) hold the same text
    bounds = [0, *(k + 1 for k, ch in enumerate(raw[:20_000]) if ch == "\n")] if "\n" in raw else range(0, 20_000, 2)
    rng = random.Random(5)
    for _ in range(200):
        start, end = sorted(rng.sample(bounds, 2))
        a, b = offsets.span(start, end)
        assert text[a:b] == unicodedata.normalize("NFC", raw[start:end].replace("\r\n", "\n"))


# --- the length of a transcript -------------------------------------------------------------

def test_a_transcript_over_2_million_characters_is_refused_before_it_is_decoded(study):
    data = b"Amy: " + b"a" * MAX_CHARACTERS
    error, peak = peak_bytes(read_source, "long.txt", data)
    assert isinstance(error, InputError) and error.where == "long.txt"
    assert "2,000,000 characters" in error.message and "30 hours" in error.message
    assert peak < len(data) / 2  # refused on the bytes: no decoded copy was made
    with pytest.raises(InputError, match="2,000,000 characters"):
        import_transcripts(study, LEAD_CLI, [FileInput("good.txt", GOOD.encode()), FileInput("long.txt", data)])
    assert rows(study, Transcript) == []


@pytest.mark.parametrize("encoding, bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-8", b"")])
def test_a_transcript_of_exactly_2_million_characters_is_read(encoding, bom):
    line = "Amy: caf\u00e9 fine.\n"
    text = (line * (MAX_CHARACTERS // len(line) + 1))[:MAX_CHARACTERS]
    assert len(read_source("max.txt", bom + text.encode(encoding)).text) == MAX_CHARACTERS
    with pytest.raises(InputError, match="2,000,000 characters"):
        read_source("max.txt", bom + (text + "!").encode(encoding))


def test_word_and_caption_files_over_the_limit_are_refused():
    with pytest.raises(InputError, match="2,000,000 characters"):
        read_source("long.docx", word(*(["Amy: " + "word " * 20_000] * 21)))
    cue = "{n}\n00:00:01,000 --> 00:00:02,000\n" + "talk " * 2_000 + "\n\n"
    with pytest.raises(InputError, match="2,000,000 characters"):
        read_source("long.srt", "".join(cue.format(n=n) for n in range(1, 202)).encode())


def test_a_large_file_is_refused_by_its_size_before_it_is_read(tmp_path, study):
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:  # 100 MB, sparse: nothing is written to disk
        handle.truncate(100 * MB)
    error, peak = peak_bytes(FileInput.from_path, path)
    assert isinstance(error, InputError) and error.where == "huge.txt" and "2,000,000 characters" in error.message
    assert peak < MB
    big = tmp_path / "huge.docx"
    with big.open("wb") as handle:
        handle.truncate(300 * MB)
    with pytest.raises(InputError, match="at most 200 MB"):
        FileInput.from_path(big)


# --- Word files: parts within limits, pictures never unzipped --------------------------------

def test_a_word_file_with_a_huge_thumbnail_is_read_without_unzipping_it():
    data = rezip(word("Amy: She rang back every time."), replace={"docProps/thumbnail.jpeg": 60 * MB})
    assert len(data) < 2 * MB
    source, peak = peak_bytes(read_source, "thumb.docx", data)
    assert source.text == "Amy: She rang back every time."
    assert peak < 20 * MB, f"{peak / MB:.0f} MB"


def test_a_word_part_over_50_mb_is_refused_by_its_declared_size(study):
    original = word("Amy: She rang back every time.")
    document = zipfile.ZipFile(io.BytesIO(original)).read("word/document.xml")
    data = rezip(original, replace={"word/document.xml": (document, 51 * MB)})
    error, peak = peak_bytes(read_source, "big.docx", data)
    assert isinstance(error, InputError) and error.where == "big.docx"
    assert "word/document.xml" in error.message and "50 MB" in error.message
    assert peak < 5 * MB
    with pytest.raises(InputError, match="word/document.xml"):
        import_transcripts(study, LEAD_CLI, [FileInput("good.txt", GOOD.encode()), FileInput("big.docx", data)])
    assert rows(study, Transcript) == []


def test_word_parts_over_200_mb_together_are_refused():
    original = word("Amy: She rang back every time.")
    parts = zipfile.ZipFile(io.BytesIO(original))
    big = {name: (parts.read(name), 41 * MB) for name in
           ("word/document.xml", "word/styles.xml", "word/settings.xml", "word/fontTable.xml", "word/numbering.xml")}
    error, peak = peak_bytes(read_source, "many.docx", rezip(original, replace=big))
    assert isinstance(error, InputError) and "200 MB" in error.message
    assert peak < 5 * MB


def test_a_word_file_that_lies_about_a_part_size_is_refused_naming_the_part():
    original = word("Amy: She rang back every time.", *["Amy: more talk here."] * 200)
    size = zipfile.ZipFile(io.BytesIO(original)).getinfo("word/document.xml").file_size
    data = patch_sizes(original, "word/document.xml", file_size=size // 4)  # says less than it holds
    with pytest.raises(InputError, match="word/document.xml") as error:
        read_source("liar.docx", data)
    assert error.value.where == "liar.docx" and "damaged" in error.value.message


# --- XML entities never cut text short --------------------------------------------------------

def entity_docx(doctype: str) -> bytes:
    original = word("Amy: ENTITY I was fine.")
    document = zipfile.ZipFile(io.BytesIO(original)).read("word/document.xml").decode("utf-8")
    head, rest = document.split("?>", 1)
    document = head.replace("standalone='yes'", "standalone='no'") + "?>" + doctype + rest.replace("ENTITY", "&x;")
    return rezip(original, replace={"word/document.xml": document.encode("utf-8")})


@pytest.mark.parametrize("doctype", ['<!DOCTYPE w:document [<!ENTITY x "hello">]>',
                                     '<!DOCTYPE w:document SYSTEM "http://example.org/word.dtd">'])
def test_an_entity_in_a_word_file_is_refused_not_dropped(doctype):
    with pytest.raises(InputError, match="&x;") as error:
        read_source("entity.docx", entity_docx(doctype))
    assert error.value.where == "entity.docx"
    assert "document type" in error.value.message and "lost" in error.value.message


@pytest.mark.parametrize("doctype, text, used", [
    ('<!DOCTYPE Project [<!ENTITY x "hello">]>', "Amy: &x; I was fine.", "&x;"),
    ('<!DOCTYPE Project SYSTEM "project.dtd">', "Amy: &x; I was fine.", "&x;"),
    ('<!DOCTYPE Project SYSTEM "project.dtd">', "Amy: I was fine.", ""),
    ('<!DOCTYPE Project [<!ENTITY x "hello">]>', "Amy: I was fine &amp; well.", ""),
])
def test_an_entity_in_a_project_is_refused_not_dropped(study, doctype, text, used):
    """A DOCTYPE is refused whether or not its entities are used: none is ever expanded."""
    with pytest.raises(InputError, match="document type") as error:
        import_project(study, LEAD_CLI, qdpx({"T1": ""}, doctype=doctype, inline=text), "entity.qdpx")
    assert error.value.where == "entity.qdpx" and "lost" in error.value.message
    assert used in error.value.message
    assert rows(study, Transcript) == []


# --- .qdpx: per-source, ratio, project and total limits --------------------------------------

def test_a_source_that_unzips_past_a_transcript_is_skipped_unread(warm):
    study = warm
    data = qdpx({"Bomb": 20 * MB, "T1": GOOD})
    assert len(data) < MB
    start = time.perf_counter()
    report, peak = peak_bytes(import_project, study, LEAD_CLI, data, "bomb.qdpx")
    assert time.perf_counter() - start < 60
    assert report.transcripts == 1 and report.codings == 1
    (line,) = [s for s in report.skipped if s.startswith("Bomb:")]
    assert "20 MB" in line and "2,000,000 characters" in line and "1 selection" in line
    assert peak < 10 * MB


def test_a_source_that_unzips_to_over_100_times_its_size_is_skipped_as_a_zip_bomb(study):
    data = qdpx({"Packed": "x" * (5 * MB), "T1": GOOD})
    report = import_project(study, LEAD_CLI, data, "packed.qdpx")
    assert report.transcripts == 1
    (line,) = [s for s in report.skipped if s.startswith("Packed:")]
    assert "times its packed size" in line and "zip bomb" in line


def test_a_project_file_over_100_mb_is_refused(warm):
    study = warm
    error, peak = peak_bytes(import_project, study, LEAD_CLI, qdpx({"T1": GOOD}, qde_extra=101 * MB), "huge.qdpx")
    assert isinstance(error, InputError) and error.where == "huge.qdpx"
    assert "project.qde" in error.message and "100 MB" in error.message
    assert peak < 5 * MB
    assert rows(study, Transcript) == []


def test_sources_over_200_mb_together_are_refused_and_nothing_is_written(warm):
    study = warm
    sources = {f"S{k}": f"Amy: talk number {k}.\n" for k in range(30)}
    data = qdpx(sources, padding=MB + 4096)
    for k in range(30):  # each says 7 MB unzipped (under a transcript's limit) from 1 MB packed
        data = patch_sizes(data, f"sources/s{k}.txt", file_size=7 * MB, compress_size=MB)
    error, peak = peak_bytes(import_project, study, LEAD_CLI, data, "total.qdpx")
    assert isinstance(error, InputError) and error.where == "total.qdpx" and "200 MB" in error.message
    assert peak < 20 * MB
    assert rows(study, Transcript) == [] and rows(study, Coding) == []


def test_a_source_that_lies_about_its_size_is_skipped_naming_its_file(study):
    text = "Amy: " + "She rang back every time. " * 400 + "\n"
    data = patch_sizes(qdpx({"Liar": text, "T1": GOOD}), "sources/s0.txt", file_size=len(text) // 3)
    report = import_project(study, LEAD_CLI, data, "liar.qdpx")
    assert report.transcripts == 1
    (line,) = [s for s in report.skipped if s.startswith("Liar:")]
    assert "sources/s0.txt" in line and "damaged" in line


def test_a_zip_with_too_many_files_is_refused(study):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for k in range(20_001):
            archive.writestr(f"x/{k}", b"")
    with pytest.raises(InputError, match="20,001 files"):
        import_project(study, LEAD_CLI, out.getvalue(), "many.qdpx")
    with pytest.raises(InputError, match="20,001 files"):
        read_source("many.docx", out.getvalue())
