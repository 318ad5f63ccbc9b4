"""A redaction leaves no derivative of the words it replaced: no hash (keyed or bare), no vector,
no answer about the old sentence, anywhere in the database. (The attack that found this: trying
the project's own first-name list against a redacted sentence's template recovered the names
from the SHA-256 hashes the embeddings cache and suggestion answers kept.)"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
from sqlalchemy import MetaData, select

from workbench.access import LEAD_CLI, actor_for
from workbench.coding.assignments import assign
from workbench.privacy.anonymisation import release
from workbench.privacy.redaction import Replacement, redact
from workbench.privacy.revisions import correct_text
from workbench.store.models import StudySecret, SuggestionDecision, Transcript
from workbench.store.secrets import TEXT_HASH_KEY
from workbench.suggest.corpus import embed_study, read_units
from workbench.suggest.embeddings import embedder
from workbench.suggest.study import reject
from workbench.transcripts.study import FileInput, import_transcripts

TITLE = "K01_call"
TEXT = ("Interviewer: How were the holidays?\n"
        "Mum: Kirsten was scared when Darius came round again. She hid upstairs.\n"
        "Interviewer: And after that?\n"
        "Mum: We rang the key worker. Kirsten slept in my bed that week.\n")
NAMES = ("Kirsten", "Darius")
CODE = "Trust, confidentiality and reliability"


def _every_value(study) -> list[str | bytes]:
    """Every text and binary value in every table of the study."""
    metadata = MetaData()
    metadata.reflect(study.engine)
    values = []
    with study.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                values += [v for v in row if isinstance(v, (str, bytes))]
    return values


def _old_texts(study) -> list[str]:
    """What the study derived data from before the redaction: the whole text, and each unit's
    sentence, window and turn in the new transcript."""
    with study.session() as session:
        corpus = read_units(session)
        transcript_id = session.scalar(select(Transcript.id).where(Transcript.title == TITLE))
    mine = [u for u in corpus.units if u.transcript_id == transcript_id]
    texts = {TEXT}
    for unit in mine:
        texts |= {corpus.span_text(unit, (unit.start, unit.end)), corpus.span_text(unit, unit.window),
                  corpus.span_text(unit, unit.turn)}
    return sorted(t for t in texts if any(name in t for name in NAMES))


def _prepare(sample_study):
    import_transcripts(sample_study, LEAD_CLI, [FileInput(f"{TITLE}.txt", TEXT.encode())])
    release(sample_study, LEAD_CLI, [TITLE], override="written for this test")
    assign(sample_study, LEAD_CLI, [TITLE], ["tom"])
    embed_study(sample_study)
    start = TEXT.index("Kirsten was")
    end = TEXT.index("again.") + len("again.")
    with sample_study.session() as session:
        tom = actor_for(session, "tom")
    reject(sample_study, tom, CODE, TITLE, start, end)
    return start, end


def test_a_redaction_leaves_no_hash_vector_or_answer_of_the_old_words(sample_study):
    start, end = _prepare(sample_study)
    old = _old_texts(sample_study)
    assert len(old) >= 4  # the sentence, its windows and turns, the whole text
    with sample_study.session() as session:
        key = session.scalar(select(StudySecret.value).where(StudySecret.name == TEXT_HASH_KEY))
    derived = {hashlib.sha256(t.encode()).hexdigest() for t in old}
    derived |= {hmac.new(key, t.encode(), hashlib.sha256).hexdigest() for t in old}
    assert derived & set(_every_value(sample_study))  # the test sees them before the redaction

    names = [Replacement(TITLE, m, m + len(n), "[daughter]" if n == "Kirsten" else "[ex-partner]")
             for n in NAMES for m in [TEXT.index(n)]]
    redact(sample_study, LEAD_CLI, names)

    values = _every_value(sample_study)
    assert not derived & set(values)
    for name in NAMES:
        assert not any(name.encode() in (v if isinstance(v, bytes) else v.encode()) for v in values), name
    with sample_study.session() as session:
        answers = session.scalars(select(SuggestionDecision).where(
            SuggestionDecision.transcript_id == select(Transcript.id).where(Transcript.title == TITLE)
            .scalar_subquery())).all()
        assert answers == []  # the answer was about the old sentence
    model = embedder()
    old_vectors = model.encode(old)
    stored = np.vstack([np.frombuffer(v, dtype=np.float32) for v in values
                        if isinstance(v, bytes) and len(v) == 4 * old_vectors.shape[1]])
    assert (stored @ old_vectors.T).max() < 0.999  # no stored vector is an old text's


def test_a_correction_keeps_the_answers_and_vectors_of_sentences_it_did_not_touch(sample_study):
    start, end = _prepare(sample_study)
    later = TEXT.index("We rang")
    correct_text(sample_study, LEAD_CLI, TITLE, later, later + 2, "I", expected="We")
    with sample_study.session() as session:
        answer = session.scalars(select(SuggestionDecision).where(SuggestionDecision.start == start)).one()
        assert (answer.start, answer.end, answer.decision) == (start, end, "rejected")
    assert embed_study(sample_study) <= 4  # only the corrected sentence, its windows and turn


def test_withdrawing_a_participant_leaves_no_vector_of_their_deleted_interview(sample_study):
    from workbench.privacy.revisions import withdraw_participant
    from workbench.store.models import Embedding

    with sample_study.session() as session:
        corpus = read_units(session)
        leo = session.scalar(select(Transcript.id).where(Transcript.title == "C01_Leo"))
        theirs = {u.text_hash for u in corpus.units if u.transcript_id == leo}
        others = {u.text_hash for u in corpus.units if u.transcript_id != leo}
        assert theirs - others <= set(session.scalars(select(Embedding.text_hash)))  # embedded before
    withdraw_participant(sample_study, LEAD_CLI, "Leo")  # a one-to-one interview: the transcript goes
    with sample_study.session() as session:
        assert not (theirs - others) & set(session.scalars(select(Embedding.text_hash)))
