"""The transcript readers on their own (pure: file name and bytes in, `Source` out).

Word files are built with python-docx and captions written as real WebVTT / SubRip text; the
expected canonical text, speaker hints and cue times are worked out by hand from each input.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import InputError
from workbench.transcripts.formats import LineHint, parse_time, read_source
from workbench.transcripts.speakers import detect_turns

Run = tuple[str, bool]  # (text, bold)


def word(*paragraphs: list[Run] | str, table: list[list[list[Run] | str]] | None = None,
         after: list[list[Run] | str] = ()) -> bytes:
    """A real .docx: paragraphs of runs (a plain string is one non-bold run), then an optional
    table (rows of cells), then more paragraphs."""
    document = docx.Document()

    def fill(paragraph, runs):
        for text, bold in ([(runs, False)] if isinstance(runs, str) else runs):
            run = paragraph.add_run(text)
            run.bold = bold

    for runs in paragraphs:
        fill(document.add_paragraph(), runs)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, runs in enumerate(row):
                cell = grid.cell(r, c)
                fill(cell.paragraphs[0], runs)
    for runs in after:
        fill(document.add_paragraph(), runs)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- dispatch and refusals ------------------------------------------------------------------

@pytest.mark.parametrize("name, data, message", [
    ("notes.pdf", b"%PDF-1.4", "unknown extension '.pdf'"),
    ("README", b"Amy: hi", r"unknown extension '\(none\)'"),
    ("archive.tar.gz", b"x", "unknown extension '.gz'"),
    ("blank.txt", b"  \r\n\t\n", "empty"),
    ("spaces.txt", "\u00a0\u2003\n".encode(), "no text found"),  # whitespace, but not the ASCII kind
    ("broken.docx", b"PK but not a zip", "not a zip package"),
    ("other.docx", None, r"not a valid \.docx file \(KeyError\)"),  # a zip without Word parts
    ("blank.docx", word("", "   ", "\t"), "no text found"),
    ("bad.vtt", b"Amy: not a caption file\n", "not a valid WebVTT"),
    ("cues.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Amy></v>\n", "no text found"),
    ("bad.srt", b"1\nnot a time\nhello\n", "not a valid SubRip"),
])
def test_bad_input_is_refused_with_the_file_name_and_reason(name, data, message):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hi")
        data = buffer.getvalue()
    with pytest.raises(InputError, match=message) as error:
        read_source(name, data)
    assert error.value.where == name


@pytest.mark.parametrize("filename, name, kind", [
    ("interviews/Amy.TXT", "Amy.TXT", "txt"),
    ("C:/x/y/zoë.Vtt", "zoë.Vtt", "vtt"),
    ("a.b.srt", "a.b.srt", "srt"),
])
def test_the_extension_picks_the_reader_case_insensitively_and_the_folder_is_dropped(filename, name, kind):
    data = {"txt": b"Amy: hi", "vtt": b"WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n",
            "srt": b"1\n00:00:01,000 --> 00:00:02,000\nhi\n"}[kind]
    source = read_source(filename, data)
    assert (source.filename, source.format) == (name, kind)


# --- plain text -----------------------------------------------------------------------------

@pytest.mark.parametrize("data, text, encoding", [
    (b"Amy: hi\nR: ok\n", "Amy: hi\nR: ok\n", "UTF-8"),
    (b"Amy: hi\r\nR: ok\r\n", "Amy: hi\nR: ok\n", "UTF-8"),
    (b"Amy: hi\rR: ok\r", "Amy: hi\nR: ok\n", "UTF-8"),  # old Mac line ends
    (codecs.BOM_UTF8 + "Zoe\u0308: caf\u00e9\r\n".encode(), "Zo\u00eb: caf\u00e9\n", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE + "Siobha\u0301n: 😀 ok\r\n".encode("utf-16-le"), "Siobh\u00e1n: 😀 ok\n",
     "UTF-16 with BOM"),
    ("Siobh\u00e1n: \u201cok\u201d \u2013 \u00a35".encode("cp1252"), "Siobh\u00e1n: \u201cok\u201d \u2013 \u00a35",
     "Windows-1252 (not valid UTF-8; fallback)"),
])
def test_plain_text_becomes_canonical_text(data, text, encoding):
    source = read_source("x.txt", data)
    assert (source.text, source.encoding, source.format, source.hints) == (text, encoding, "txt", {})


def test_plain_text_offsets_are_code_points_even_with_emoji_and_combining_marks():
    source = read_source("x.txt", "😀😀 Zoe\u0308\n".encode())
    assert source.text == "😀😀 Zo\u00eb\n"
    assert len(source.text) == 7 and source.text[3:6] == "Zo\u00eb"


_TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff") | st.sampled_from(
    ["\n", "\r", "\r\n", "\t", "e\u0301", "\U0001F600", "\u00eb"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT_CHARS, min_size=1, max_size=60).map("".join), st.booleans())
def test_plain_text_is_nfc_with_unix_line_ends_and_no_bom(raw, bom):
    if not raw.strip(" \t\r\n"):
        return  # an empty file: refused, see above
    data = (codecs.BOM_UTF8 if bom else b"") + raw.encode("utf-8")
    expected = unicodedata.normalize("NFC", re.sub(r"\r\n?", "\n", raw))
    if not expected.strip():
        with pytest.raises(InputError):
            read_source("x.txt", data)
        return
    source = read_source("x.txt", data)
    assert source.text == expected
    assert source.encoding == ("UTF-8 with BOM" if bom else "UTF-8")


# --- Word -----------------------------------------------------------------------------------

@pytest.mark.parametrize("runs, line, hint", [
    ([("Interviewer:", True), (" What helped?", False)], "Interviewer: What helped?", LineHint("Interviewer", 13)),
    ([("Amy", True), (" Bold name, no colon.", False)], "Amy Bold name, no colon.", LineHint("Amy", 4)),
    ([("Zoë: ", True), ("Hiya.", False)], "Zoë: Hiya.", LineHint("Zoë", 5)),
    ([("Siobhán Murphy:", True), ("  Hello", False)], "Siobhán Murphy:  Hello", LineHint("Siobhán Murphy", 17)),
    ([("Participant 12:", True), (" Yes.", False)], "Participant 12: Yes.", LineHint("Participant 12", 16)),
    ([("I", True), (": Fine.", False)], "I: Fine.", LineHint("I", 3)),  # the colon outside the bold run
    ([("Zoe\u0308:", True), (" 😀 ok", False)], "Zo\u00eb: 😀 ok", LineHint("Zo\u00eb", 5)),  # NFD in the file
    ([("Amy", True), (":", True), (" ok", False)], "Amy: ok", LineHint("Amy", 5)),  # label split over two runs
    ([("", False), ("Amy:", True), (" ok", False)], "Amy: ok", LineHint("Amy", 5)),  # an empty run first
    # capitals of any script start a name word
    ([("Łukasz:", True), (" Gdańsk.", False)], "Łukasz: Gdańsk.", LineHint("Łukasz", 8)),
    ([("Élodie Ørsted", True), (" Lyon.", False)], "Élodie Ørsted Lyon.", LineHint("Élodie Ørsted", 14)),
    ([("ÖMER:", True), (" Evet.", False)], "ÖMER: Evet.", LineHint("ÖMER", 6)),
    ([("Σοφία:", True), (" Ναι.", False)], "Σοφία: Ναι.", LineHint("Σοφία", 7)),
    # bold text that is not a speaker label
    ([("I think", True), (" that was it.", False)], "I think that was it.", None),
    ([("Amy Jo Ann Lee Smith:", True), (" hi", False)], "Amy Jo Ann Lee Smith: hi", None),  # five words
    ([("Amy: ", False), ("hi", True)], "Amy: hi", None),  # bold, but not at the start
    ([("really", True), (" good", False)], "really good", None),
    ([("łukasz:", True), (" hi", False)], "łukasz: hi", None),  # a lower-case initial, in any script
])
def test_a_bold_run_at_the_start_of_a_paragraph_is_a_speaker_hint(runs, line, hint):
    source = read_source("a.docx", word(runs))
    assert (source.format, source.encoding) == ("docx", "UTF-8 (Word)")
    assert source.text == line
    assert source.hints == ({0: hint} if hint else {})


def test_word_lines_empty_paragraphs_and_line_breaks_are_numbered_like_the_text():
    data = word([("Amy:", True), (" first line\nsecond line", False)], "",
                [("Interviewer:", True), (" And\tthen?", False)])
    source = read_source("a.docx", data)
    assert source.text == "Amy: first line\nsecond line\n\nInterviewer: And\tthen?"
    # a hint sits on the first line of its paragraph: line 1 follows the break, line 2 is the empty paragraph
    assert source.hints == {0: LineHint("Amy", 5), 3: LineHint("Interviewer", 13)}


def test_word_tables_are_read_row_by_row_between_the_paragraphs_around_them():
    data = word("Interview 3",
                table=[[[("Interviewer", True)], "What helped?"],
                       [[("Amy", True)], "Being rung back.\nEvery time."]],
                after=["End of interview"])
    source = read_source("t.docx", data)
    assert source.text == ("Interview 3\nInterviewer\nWhat helped?\nAmy\nBeing rung back.\nEvery time.\n"
                           "End of interview")
    assert source.hints == {1: LineHint("Interviewer", 11), 3: LineHint("Amy", 3)}
    turns = detect_turns(source.text, source.hints)
    assert [(t.speaker, [source.text[a:b] for a, b in t.talk]) for t in turns] == [
        (None, ["Interview 3"]),
        ("Interviewer", ["What helped?"]),
        ("Amy", ["Being rung back.", "Every time.", "End of interview"]),  # a line with no label continues
    ]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(st.characters(whitelist_categories=("L", "N", "P", "Zs", "So")) | st.just("\n"),
                        max_size=30), min_size=1, max_size=5))
def test_word_text_is_the_canonical_paragraphs_joined_by_line_ends(paragraphs):
    if not "".join(paragraphs).strip():
        return
    source = read_source("p.docx", word(*paragraphs))
    assert source.text == "\n".join(unicodedata.normalize("NFC", p) for p in paragraphs)
    assert source.hints == {}  # nothing bold


# --- captions -------------------------------------------------------------------------------

TEAMS_VTT = """WEBVTT

1
00:00:01.000 --> 00:00:04.500
<v.loud Zoë Smith>I didn't think
they'd ring back.</v>

00:00:04.500 --> 00:00:06.000
<v Siobhán>Fish &amp; chips &lt;3 <i>every</i> <00:00:05.000>week</v>

00:01:00.000 --> 00:01:02.250
<v Amy></v>

01:02:03.400 --> 01:02:05.000
<c.yellow>No voice</c> here &amp;amp; there
"""

TEAMS_TEXT = ("Zoë Smith: I didn't think they'd ring back.\n"
              "Siobhán: Fish & chips <3 every week\n"
              "No voice here &amp; there")


def _assert_hints(actual: dict[int, LineHint], expected: dict[int, tuple]) -> None:
    assert sorted(actual) == sorted(expected)
    for line, (speaker, label_end, t0, t1) in expected.items():
        hint = actual[line]
        assert (hint.speaker, hint.label_end) == (speaker, label_end)
        assert (hint.time_start, hint.time_end) == (pytest.approx(t0), pytest.approx(t1))


@pytest.mark.parametrize("encode", [
    lambda s: s.encode(),
    lambda s: codecs.BOM_UTF8 + s.replace("\n", "\r\n").encode(),
], ids=["utf8-lf", "bom-crlf"])
def test_webvtt_voices_become_labels_tags_go_and_cues_keep_their_times(encode):
    source = read_source("teams.vtt", encode(TEAMS_VTT))
    assert source.format == "vtt"
    assert source.text == TEAMS_TEXT
    # the empty `<v Amy></v>` cue makes no line, so the untagged cue is line 2
    _assert_hints(source.hints, {0: ("Zoë Smith", 11, 1.0, 4.5), 1: ("Siobhán", 9, 4.5, 6.0),
                                 2: (None, 0, 3723.4, 3725.0)})


def test_webvtt_without_voices_keeps_the_label_in_the_text_for_turn_detection():
    data = (b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nInterviewer: Are you okay to start?\n\n"
            b"2\n00:00:03.500 --> 00:00:06.000\nLeo: Yeah. I'm at my\nnan's house.\n")
    source = read_source("zoom.vtt", data)
    assert source.text == "Interviewer: Are you okay to start?\nLeo: Yeah. I'm at my nan's house."
    _assert_hints(source.hints, {0: (None, 0, 1.0, 3.0), 1: (None, 0, 3.5, 6.0)})
    turns = detect_turns(source.text, source.hints)
    assert [(t.speaker, t.start, t.text_start, t.end, t.time_start, t.time_end) for t in turns] == [
        ("Interviewer", 0, 13, 35, 1.0, 3.0), ("Leo", 36, 41, 69, 3.5, 6.0)]


def test_subrip_cues_become_lines_with_their_times():
    data = ("1\r\n00:00:01,000 --> 00:00:02,500\r\nInterviewer: Hello <i>Maisie</i>.\r\n\r\n"
            "2\r\n00:00:03,000 --> 00:00:05,000\r\nMaisie: Hi.\r\nI'm fine 😀.\r\n\r\n"
            "3\r\n01:00:00,250 --> 01:00:01,000\r\n<b></b>\r\n").encode()
    source = read_source("m.srt", data)
    assert source.format == "srt"
    assert source.text == "Interviewer: Hello Maisie.\nMaisie: Hi. I'm fine 😀."
    _assert_hints(source.hints, {0: (None, 0, 1.0, 2.5), 1: (None, 0, 3.0, 5.0)})


@pytest.mark.parametrize("cue, text", [
    pytest.param('<font color="#ffff00">Amy: hi</font>', "Amy: hi", id="font-colour"),
    pytest.param("<FONT COLOR='red' size=3>Amy:</FONT > hi", "Amy: hi", id="font-upper-case-attributes"),
    pytest.param("<font face=Arial>Amy: hi</font>", "Amy: hi", id="font-unquoted"),
    pytest.param("<b>Amy:</b> <i>hi</i> <u>there</u> <s>now</s>", "Amy: hi there now", id="b-i-u-s"),
    pytest.param("<B>Amy:</B> hi", "Amy: hi", id="upper-case-b"),
    pytest.param("{\\an8}Amy: hi", "Amy: hi", id="ass-position"),
    pytest.param("{\\i1}Amy{\\i0}: hi", "Amy: hi", id="ass-italic"),
    pytest.param("{\\c&H00FFFF&}Amy: hi", "Amy: hi", id="ass-colour"),
    # a `<` or `{` that opens no formatting tag is talk
    pytest.param("Amy: I <3 you", "Amy: I <3 you", id="heart"),
    pytest.param("Amy: x < y and y > z", "Amy: x < y and y > z", id="comparisons"),
    pytest.param("Amy: a<b and c>d", "Amy: a<b and c>d", id="b-with-text-after-it"),
    pytest.param("Amy: <fonts are nice> <font size is big>", "Amy: <fonts are nice> <font size is big>",
                 id="font-without-attributes"),
    pytest.param("Amy: {laughs} and <", "Amy: {laughs} and <", id="braces-and-a-bare-bracket"),
])
def test_subrip_formatting_tags_are_removed_and_the_talk_kept(cue, text):
    source = read_source("f.srt", f"1\n00:00:01,000 --> 00:00:02,000\n{cue}\n".encode())
    assert source.text == text
    assert [t.speaker for t in detect_turns(source.text, source.hints)] == ["Amy"]


@pytest.mark.parametrize("value, seconds", [
    ("00:00:01.000", 1.0),
    ("0:03", 3.0),
    ("12:34.56", 12 * 60 + 34 + 0.56),
    ("1:02:03,5", 3600 + 2 * 60 + 3 + 0.5),
    ("1:02:03.045", 3600 + 2 * 60 + 3 + 0.045),
    ("10:32:01", 10 * 3600 + 32 * 60 + 1),
    ("  0:07 ", 7.0),
    ("100:00:00", 100 * 3600),
])
def test_parse_time(value, seconds):
    assert parse_time(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "abc", "7", "1:2", "1:02:03.4567", "-0:01", "1:02 am",
                                   "00:00:01.000 --> 00:00:02.000"])
def test_parse_time_refuses_what_is_not_a_time(value):
    with pytest.raises(ValueError):
        parse_time(value)
