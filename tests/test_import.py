"""Transcript import on real files of every format, including malformed ones."""

import codecs
import io
import zipfile

import docx
import pytest
from sqlalchemy import func, select

from workbench.access import LEAD_CLI
from workbench.errors import InputError, NotFound, ValidationError
from workbench.store.models import Entity, Segment, Transcript, Turn
from workbench.transcripts.participants import import_participants
from workbench.transcripts.study import FileInput, import_transcripts, transcript_turns

NON_ASCII = (
    "Interviewer: How did the group feel, Zoë?\n"
    "Zo\u00eb: Honestly? It was \u201cour\u201d place \u2013 caf\u00e9 after. "
    "My [key worker] rang back \U0001F600 the same day. I can\u2019t say more…\n"
    "Interviewer: Thank you.\n"
)


def file(name: str, data: bytes | str) -> FileInput:
    return FileInput(name, data.encode("utf-8") if isinstance(data, str) else data)


def word_file(paragraphs: list[tuple[str | None, str]], bold_labels: bool = True) -> bytes:
    document = docx.Document()
    for label, text in paragraphs:
        paragraph = document.add_paragraph()
        if label is not None:
            run = paragraph.add_run(label)
            run.bold = bold_labels
            paragraph.add_run(" " + text)
        else:
            paragraph.add_run(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rows(study, model, **where):
    with study.session() as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(session.scalars(query))


def only_transcript(study) -> Transcript:
    (transcript,) = rows(study, Transcript)
    return transcript


def assert_spans_round_trip(study, transcript):
    """Every turn and segment is a span of the canonical text; segments lie in their turn's talk."""
    text = transcript.text
    turns = rows(study, Turn, transcript_id=transcript.id)
    segments = rows(study, Segment, transcript_id=transcript.id)
    assert turns and segments
    by_id = {t.id: t for t in turns}
    for segment in segments:
        turn = by_id[segment.turn_id]
        assert turn.text_start <= segment.start < segment.end <= turn.end
        piece = text[segment.start:segment.end]
        assert piece == piece.strip() and piece
        assert "\n" not in piece
    for turn in turns:
        assert 0 <= turn.start <= turn.text_start <= turn.end <= len(text)
    return turns, segments


def test_plain_text_import_keeps_text_and_splits_turns_and_sentences(study):
    report = import_transcripts(study, LEAD_CLI, [file("zoe.txt", NON_ASCII)])
    transcript = only_transcript(study)
    assert transcript.text == NON_ASCII
    assert transcript.title == "zoe" and transcript.source_format == "txt"
    assert transcript.segmenter.startswith("spacy ") and "sentencizer" in transcript.segmenter
    turns, segments = assert_spans_round_trip(study, transcript)
    assert [t.speaker for t in turns] == ["Interviewer", "Zo\u00eb", "Interviewer"]
    assert [t.is_interviewer for t in turns] == [True, False, True]
    zoe = [transcript.text[s.start:s.end] for s in segments if s.turn_id == turns[1].id]
    assert zoe == ["Honestly?", "It was \u201cour\u201d place \u2013 caf\u00e9 after.",
                   "My [key worker] rang back \U0001F600 the same day.", "I can\u2019t say more…"]
    assert report.transcripts[0].segments == len(segments)


def test_lemmas_are_stored_per_segment(study):
    import_transcripts(study, LEAD_CLI, [file("zoe.txt", NON_ASCII)])
    transcript = only_transcript(study)
    segments = rows(study, Segment, transcript_id=transcript.id)
    rang = next(s for s in segments if "rang" in transcript.text[s.start:s.end])
    lemmas = {lemma for _start, _end, lemma in rang.lemmas}
    assert "ring" in lemmas
    for start, end, _lemma in rang.lemmas:
        assert rang.start <= start < end <= rang.end


def test_line_ends_bom_and_normalisation_are_canonicalised(study):
    raw = codecs.BOM_UTF8 + "Interviewer: Hi.\r\nAmy: Cafe\u0301 then.\r\n".encode("utf-8")
    import_transcripts(study, LEAD_CLI, [file("amy.txt", raw)])
    assert only_transcript(study).text == "Interviewer: Hi.\nAmy: Caf\u00e9 then.\n"


def test_utf16_and_windows_1252_files(study):
    utf16 = codecs.BOM_UTF16_LE + "Interviewer: Hello.\nAmy: Hi there.\n".encode("utf-16-le")
    legacy = "Interviewer: Hello.\nBen: It\u2019s \u00a35 \u2013 fine.\n".encode("cp1252")
    report = import_transcripts(study, LEAD_CLI, [file("a.txt", utf16), file("b.txt", legacy)])
    assert report.transcripts[0].encoding == "UTF-16 with BOM"
    assert "Windows-1252" in report.transcripts[1].encoding
    assert any("Windows-1252" in note for note in report.transcripts[1].notes)
    texts = {t.title: t.text for t in rows(study, Transcript)}
    assert texts["b"] == "Interviewer: Hello.\nBen: It\u2019s \u00a35 \u2013 fine.\n"


def test_word_file_with_bold_speaker_labels(study):
    data = word_file([("Interviewer:", "What helped?"), ("Amy:", "Being rung back. Every time."),
                      (None, "And being believed."), ("Amy", "Bold name without colon.")])
    import_transcripts(study, LEAD_CLI, [file("amy.docx", data)])
    transcript = only_transcript(study)
    assert transcript.text.split("\n")[0] == "Interviewer: What helped?"
    turns, segments = assert_spans_round_trip(study, transcript)
    assert [t.speaker for t in turns] == ["Interviewer", "Amy"]
    talk = [transcript.text[s.start:s.end] for s in segments]
    assert talk == ["What helped?", "Being rung back.", "Every time.", "And being believed.",
                    "Bold name without colon."]


def test_word_file_in_teams_layout(study):
    document = docx.Document()
    for line in ("Amy Smith   0:03", "Hello, can you hear me?", "Interviewer   0:07", "Yes. Go on."):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    import_transcripts(study, LEAD_CLI, [file("teams.docx", out.getvalue())])
    turns = transcript_turns(study, "teams")
    assert [(t["speaker"], t["time_start"], t["text"]) for t in turns] == [
        ("Amy Smith", 3.0, "Hello, can you hear me?"), ("Interviewer", 7.0, "Yes. Go on.")]


TEAMS_VTT = """WEBVTT

0a1b-2c3d/12-0
00:00:01.000 --> 00:00:04.500
<v Amy>I didn't think they'd ring back.</v>

0a1b-2c3d/13-0
00:00:04.500 --> 00:00:06.000
<v Amy>But they did &amp; it helped.</v>

00:00:06.500 --> 00:00:08.250
<v Interviewer>How did that feel?</v>

00:00:09.000 --> 00:00:10.000
Amy: Good.
"""

ZOOM_VTT = """WEBVTT

1
00:00:01.000 --> 00:00:03.000
Interviewer: Are you okay to start?

2
00:00:03.500 --> 00:00:06.000
Leo: Yeah. I'm at my
nan's house.
"""

SRT = """1
00:00:01,000 --> 00:00:02,500
Interviewer: Hello Maisie.

2
00:00:03,000 --> 00:00:05,000
Maisie: Hi. I'm fine.
"""


def test_teams_vtt_keeps_voices_and_cue_times(study):
    import_transcripts(study, LEAD_CLI, [file("amy.vtt", TEAMS_VTT)])
    transcript = only_transcript(study)
    assert transcript.text == ("Amy: I didn't think they'd ring back.\nAmy: But they did & it helped.\n"
                               "Interviewer: How did that feel?\nAmy: Good.")
    assert_spans_round_trip(study, transcript)
    turns = transcript_turns(study, "amy")
    assert [(t["speaker"], t["time_start"]) for t in turns] == [("Amy", 1.0), ("Interviewer", 6.5), ("Amy", 9.0)]
    first = rows(study, Turn, transcript_id=transcript.id)[0]
    assert first.time_end == 6.0  # two cues merged into one turn


def test_zoom_vtt_and_srt_read_speaker_from_text(study):
    import_transcripts(study, LEAD_CLI, [file("leo.vtt", ZOOM_VTT), file("maisie.srt", SRT)])
    leo = transcript_turns(study, "leo")
    assert [(t["speaker"], t["text"]) for t in leo] == [
        ("Interviewer", "Are you okay to start?"), ("Leo", "Yeah. I'm at my nan's house.")]
    maisie = transcript_turns(study, "maisie")
    assert [(t["speaker"], t["time_start"], t["text"]) for t in maisie] == [
        ("Interviewer", 1.0, "Hello Maisie."), ("Maisie", 3.0, "Hi. I'm fine.")]


def test_focus_group_with_many_speakers_and_i_r_labels(study):
    text = ("Facilitator: What made it safe?\nEllie: The rules.\nGrace: No but \u2014\n"
            "Holly: Can I say something? [laughs]\nIsla: Go on.\n")
    import_transcripts(study, LEAD_CLI, [file("fg.txt", text), file("kw.txt", "I: Tell me.\nR: Well. It varies.\n")])
    assert [t["speaker"] for t in transcript_turns(study, "fg")] == ["Facilitator", "Ellie", "Grace", "Holly", "Isla"]
    kw = transcript_turns(study, "kw")
    assert [(t["speaker"], t["interviewer"]) for t in kw] == [("I", True), ("R", False)]


def test_speakers_link_to_participants_and_respondent_to_the_named_participant(study):
    import_participants(study, LEAD_CLI, b"pseudonym,role,group\nAmy,mother,Service 4\nKW01,staff,Service 4\n")
    import_transcripts(study, LEAD_CLI, [file("amy.txt", "Interviewer: Hi.\nAmy: Hello.\n")])
    import_transcripts(study, LEAD_CLI, [file("kw.txt", "I: Hi.\nR: Hello.\n")], participant="KW01")
    assert [t["role"] for t in transcript_turns(study, "amy")] == [None, "mother"]
    assert [t["role"] for t in transcript_turns(study, "kw")] == [None, "staff"]
    with pytest.raises(NotFound, match="no participant 'Nobody'"):
        import_transcripts(study, LEAD_CLI, [file("x.txt", "R: Hi.\n")], participant="Nobody")


def test_importing_the_key_later_links_existing_transcripts(study):
    import_transcripts(study, LEAD_CLI, [file("amy.txt", "Interviewer: Hi.\nAmy: Hello.\n")])
    assert transcript_turns(study, "amy")[1]["role"] is None
    import_participants(study, LEAD_CLI, b"pseudonym,role\nAmy,mother\n")
    assert transcript_turns(study, "amy")[1]["role"] == "mother"


def test_title_option_and_metadata(study):
    import_transcripts(study, LEAD_CLI, [file("x.txt", "Amy: Hello.\n")], title="Interview 1", meta={"site": "Service 4"})
    transcript = only_transcript(study)
    assert (transcript.title, transcript.metadata_, transcript.source_filename) == (
        "Interview 1", {"site": "Service 4"}, "x.txt")


def test_entities_are_recorded_at_import(study):
    import_transcripts(study, LEAD_CLI, [file("x.txt", "Amy: Then John Smith moved to Manchester in March 2021.\n")])
    labels = {e.label for e in rows(study, Entity)}
    assert "PERSON" in labels


def corrupt_docx() -> bytes:
    good = word_file([("Amy:", "Hello.")])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"\n \n", "empty"),
    ("notes.pdf", b"%PDF-1.4", "unknown extension '.pdf'"),
    ("noext", b"Amy: hi", "unknown extension"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("broken.docx", b"this is not a zip", "not a valid .docx"),
    ("truncated.docx", word_file([("Amy:", "Hello.")])[:300], "not a valid .docx"),
    ("nodoc.docx", corrupt_docx(), ".docx"),
    ("empty.docx", word_file([]), "no text"),
    ("bad.vtt", b"Amy: not a caption file\n", "WebVTT"),
    ("bad.srt", b"1\nnot a time\nhello\n", "SubRip"),
    ("cues.vtt", b"WEBVTT\n\n", "no text"),
])
def test_bad_files_are_refused_with_file_and_reason_and_nothing_is_written(study, name, data, message):
    good = file("good.txt", "Amy: fine.\n")
    with pytest.raises(InputError, match=message) as error:
        import_transcripts(study, LEAD_CLI, [good, FileInput(name, data)])
    assert error.value.where == name
    assert rows(study, Transcript) == []


def test_same_content_twice_is_refused(study):
    import_transcripts(study, LEAD_CLI, [file("a.txt", "Amy: Hello.\n")])
    with pytest.raises(ValidationError, match="already imported as 'a'"):
        import_transcripts(study, LEAD_CLI, [file("b.txt", "Amy: Hello.\r\n")])  # same canonical text
    with pytest.raises(ValidationError, match="same content as a.txt"):
        import_transcripts(study, LEAD_CLI, [file("a.txt", "X: 1.\n"), file("c.txt", "X: 1.\n")])


def test_duplicate_titles_are_refused(study):
    import_transcripts(study, LEAD_CLI, [file("a.txt", "Amy: Hello.\n")])
    with pytest.raises(ValidationError, match="titled 'a' already exists"):
        import_transcripts(study, LEAD_CLI, [file("a.docx", word_file([("Amy:", "Other.")]))])
    with pytest.raises(InputError, match="exactly one file"):
        import_transcripts(study, LEAD_CLI, [file("x.txt", "A: 1.\n"), file("y.txt", "A: 2.\n")], title="T")


def test_a_failure_late_in_a_batch_writes_nothing(any_study):
    """The second file's title clashes only once the first is in: the whole batch rolls back."""
    import_transcripts(any_study, LEAD_CLI, [file("first.txt", "Amy: one.\n")])
    with pytest.raises(ValidationError):
        import_transcripts(any_study, LEAD_CLI, [file("new.txt", "Amy: two.\n"), file("first.txt", "Amy: three.\n")])
    with any_study.session() as session:
        assert session.scalar(select(func.count()).select_from(Transcript)) == 1
        assert session.scalar(select(Transcript.title)) == "first"


def test_a_file_without_speaker_labels_is_imported_with_a_warning(study):
    report = import_transcripts(study, LEAD_CLI, [file("notes.txt", "we talked about the group. it was fine.\n")])
    assert any("no speaker labels" in note for note in report.transcripts[0].notes)


def test_a_bracketed_note_stays_whole_and_opens_the_next_sentence(study):
    text = ("Interviewer: And the twelve weeks?\n"
            "Dionne: Twelve weeks. [sighs] Yeah. My [town] is small. They ask for reunions. [laughs]\n")
    import_transcripts(study, LEAD_CLI, [file("dionne.txt", text)])
    transcript = only_transcript(study)
    _turns, segments = assert_spans_round_trip(study, transcript)
    talk = [transcript.text[s.start:s.end] for s in segments][1:]
    assert talk == ["Twelve weeks.", "[sighs] Yeah.", "My [town] is small.", "They ask for reunions.", "[laughs]"]


def test_brackets_kept_whole_is_pure_and_keeps_every_character_of_talk():
    from workbench.nlp import brackets_kept_whole

    text = "One. [a] Two [b. c] three. [d"
    cut = [(0, 6), (6, 16), (17, 26), (27, 29)]  # a sentencizer's cuts inside brackets
    kept = brackets_kept_whole(text, cut)
    assert [text[a:b] for a, b in kept] == ["One.", "[a] Two", "[b. c] three.", "[d"]
    covered = "".join(text[a:b] for a, b in kept).replace(" ", "")
    assert covered == text.replace(" ", "")


def test_import_runs_one_nlp_pass_that_also_feeds_the_anonymisation_check(study, monkeypatch):
    from workbench import nlp
    from workbench.privacy.scan import scan_transcripts
    from workbench.sample import sample_files

    pipeline = nlp.load_pipeline()
    calls = []
    original = pipeline.nlp.pipe
    monkeypatch.setattr(pipeline.nlp, "pipe", lambda *a, **k: calls.append(1) or original(*a, **k))
    files = [FileInput.from_path(p) for p in sample_files()[:3]]
    report = import_transcripts(study, LEAD_CLI, files)
    assert len(calls) == 1
    monkeypatch.setattr(pipeline.nlp, "pipe", original)
    counted = {t.title: t.possible_identifiers for t in report.transcripts}
    scanned: dict[str, int] = {}
    for finding in scan_transcripts(study, LEAD_CLI):
        scanned[finding.transcript] = scanned.get(finding.transcript, 0) + 1
    assert counted == {title: scanned.get(title, 0) for title in counted}
    assert any(counted.values())  # the sample has names to review
