"""The sample study is realistic and internally consistent (it drives the demo and the tests)."""

import csv
import io
import re
from collections import Counter

from sqlalchemy import select

from workbench.access import LEAD_CLI
from workbench.codebook.study import list_codes
from workbench.coding.codings import coding_rows, same_words
from workbench.sample import CODEBOOK, CODINGS, TRANSCRIPTS, sample_files
from workbench.store.models import Segment, Transcript, Turn
from workbench.transcripts.participants import list_participants


def test_transcripts_are_varied_and_of_interview_length(sample_study):
    files = sample_files()
    assert len(files) >= 10
    assert {f.suffix for f in files} >= {".docx", ".txt", ".vtt"}
    with sample_study.session() as session:
        for transcript in session.scalars(select(Transcript)):
            talk = " ".join(transcript.text[t.text_start:t.end] for t in transcript.turns)
            assert 1500 <= len(talk.split()) <= 4000, transcript.title
            assert re.search(r"\[[a-z][a-z -]+\]", transcript.text), transcript.title  # redactions
            speakers = {t.speaker for t in transcript.turns}
            assert any(t.is_interviewer for t in transcript.turns), transcript.title
            # every participant speaker is linked to the key
            assert all(t.participant_id for t in transcript.turns if not t.is_interviewer), transcript.title
            if transcript.title.startswith("FG"):
                assert len(speakers) >= 5


def test_participants_include_pairs_and_every_role(sample_study):
    people = {p["pseudonym"]: p for p in list_participants(sample_study)}
    roles = Counter(p["role"] for p in people.values())
    assert roles["mother"] >= 4 and roles["staff"] >= 3 and roles["child"] + roles["young person"] >= 5
    pairs = {(p["pseudonym"], other) for p in people.values() if p["role"] == "mother" for other in p["linked_to"]}
    assert len(pairs) >= 2
    for _mother, child in pairs:
        assert 8 <= people[child]["age"] <= 18


def test_codebook_has_themes_and_defined_sub_themes(sample_study):
    everything = list_codes(sample_study, LEAD_CLI)
    proposals = {c["path"]: c["proposed_by"] for c in everything if c["proposed_by"]}
    assert sorted(proposals.values()) == ["priya", "tom"]  # one proposal each, made while coding
    codes = [c for c in everything if not c["proposed_by"]]
    assert sum(c["depth"] == 0 for c in codes) >= 5 and sum(c["depth"] == 1 for c in codes) >= 15
    assert all(c["definition"] and c["inclusion"] and c["exclusion"] and c["example"] for c in codes)
    # GUIDs come from the file, so every build of the sample study exchanges identical codes
    assert all(f'guid: "{c["guid"]}"' in CODEBOOK.read_text(encoding="utf-8") for c in codes)


def test_every_segment_and_coding_round_trips_its_text(sample_study):
    with sample_study.session() as session:
        texts = {t.id: t.text for t in session.scalars(select(Transcript))}
        for segment in session.scalars(select(Segment)):
            piece = texts[segment.transcript_id][segment.start:segment.end]
            assert piece and piece == piece.strip()
        rows = [r for r in coding_rows(session, LEAD_CLI) if r["coder"] != "consensus"]
    expected = []
    for path in sorted(CODINGS.glob("*.csv")):
        expected += list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == len(expected)
    by_key = Counter((r["transcript"], r["coder"], " ".join(r["text"].split())) for r in rows)
    for row in expected:
        assert by_key[(row["transcript"], row["coder"], " ".join(row["quote"].split()))] >= 1
    assert any(re.search(r"[^\x00-\x7f]", r["text"]) for r in rows)  # non-ASCII codings round-trip too
    assert all(same_words(r["text"], r["text"].strip()) for r in rows)


def test_the_two_coders_agree_on_most_but_not_all_passages(sample_study):
    with sample_study.session() as session:
        rows = coding_rows(session, LEAD_CLI)
    by_coder = {"priya": [r for r in rows if r["coder"] == "priya"], "tom": [r for r in rows if r["coder"] == "tom"]}

    def matched(row, others):
        return any(o["transcript"] == row["transcript"] and o["code"] == row["code"]
                   and o["start"] < row["end"] and row["start"] < o["end"] for o in others)

    for coder, other in (("priya", "tom"), ("tom", "priya")):
        share = sum(matched(r, by_coder[other]) for r in by_coder[coder]) / len(by_coder[coder])
        assert 0.6 <= share <= 0.9, (coder, share)
        exact = sum(any(o["transcript"] == r["transcript"] and o["code"] == r["code"]
                        and (o["start"], o["end"]) == (r["start"], r["end"]) for o in by_coder[other])
                    for r in by_coder[coder])
        assert exact < len(by_coder[coder]) * 0.6  # boundaries differ, as real coders' do


def test_coded_text_is_participants_talk(sample_study):
    with sample_study.session() as session:
        turns = {}
        for turn in session.scalars(select(Turn)):
            turns.setdefault(turn.transcript.title, []).append(turn)
        for row in coding_rows(session, LEAD_CLI):
            turn = next(t for t in turns[row["transcript"]] if t.start <= row["start"] < t.end + 1)
            assert not turn.is_interviewer, row
            assert row["start"] >= turn.text_start


def test_sample_files_are_synthetic_and_name_no_real_contact_details():
    for path in TRANSCRIPTS.rglob("*"):
        if path.suffix in (".txt", ".vtt", ".csv"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"[\w.]+@[\w.]+\.\w+|\b0\d{3,4}\s?\d{6}\b|https?://", text), path


def test_the_sample_study_has_memos_of_each_kind(sample_study):
    from workbench.access import LEAD_CLI
    from workbench.coding.memos import list_memos

    kinds = {m.kind for m in list_memos(sample_study, LEAD_CLI)}
    assert kinds == {"project", "transcript", "code", "coding"}
