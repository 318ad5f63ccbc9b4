"""The one NLP pass: the same analysis in one process or several, and the compact view the
anonymisation check reads matches spaCy's own."""

import pytest

from workbench import nlp
from workbench.sample import sample_files
from workbench.transcripts.formats import read_source
from workbench.transcripts.speakers import detect_turns


@pytest.fixture(scope="module")
def talk() -> list[str]:
    lines = []
    for path in sample_files()[:4]:
        source = read_source(path.name, path.read_bytes())
        for turn in detect_turns(source.text, source.hints):
            lines += [source.text[a:b] for a, b in turn.talk]
    return lines


def test_analysis_in_two_processes_equals_one(talk, monkeypatch):
    monkeypatch.setenv(nlp.ENV_PROCESSES, "1")
    alone = nlp.analyse(talk)
    monkeypatch.setenv(nlp.ENV_PROCESSES, "2")
    shared = nlp.analyse(talk)
    assert len(shared) == len(talk)
    assert shared == alone


@pytest.mark.parametrize("lengths, parts", [([5] * 10, 2), ([100, 1, 1, 1], 2), ([3], 4), ([1, 2, 3, 4, 5, 6, 7], 3)])
def test_shares_keep_every_text_in_order(lengths, parts):
    texts = ["x" * n for n in lengths]
    shares = nlp._shares(texts, parts)
    assert [t for share in shares for t in share] == texts
    assert 1 <= len(shares) <= parts and all(shares)


def test_tagged_view_has_what_the_check_reads():
    pipeline = nlp.load_pipeline()
    if not pipeline.trained:
        pytest.skip("no trained pipeline installed")
    doc = pipeline.nlp("Kirsten rang the school in Leeds. Con. She was fine.")
    view = nlp.tagged(doc)
    assert [(e.text, e.start_char, e.label_) for e in view.ents] == [(e.text, e.start_char, e.label_) for e in doc.ents]
    words = {w.text: w for w in view}
    assert "Kirsten" not in words or doc[0].ent_type_ != "PERSON"  # a PERSON's words are read from the entity
    assert words["Con"].alone and words["Con"].is_sent_start
    assert not words["She"].alone and words["She"].is_sent_start
    assert words["school"].pos_ == "NOUN" and not words["school"].is_sent_start
    assert all(w.text[:1].isalpha() for w in view)  # no punctuation or numbers kept
