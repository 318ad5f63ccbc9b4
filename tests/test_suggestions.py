"""Suggestions on the sample study with the real model: blindness, answers, exclusions, the
stored embeddings, the evaluation protocol and the CLI."""

from __future__ import annotations

import hashlib
import hmac
import json

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from workbench.access import LEAD_CLI, AccessDenied, Actor, actor_for
from workbench.cli import cli
from workbench.coding.codings import list_codings
from workbench.errors import WorkbenchError
from workbench.privacy.revisions import correct_text
from workbench.store.models import AuditEntry, Coding, Segment, SuggestionDecision, Transcript, User
from workbench.store.secrets import text_key
from workbench.suggest.corpus import embed_study, load_corpus, missing_count, read_units
from workbench.suggest.embeddings import embedder, load_vectors
from workbench.suggest.evaluate import evaluate
from workbench.suggest.model import model_choice
from workbench.suggest.study import accept, forget, reject, suggest, turn_of

CODE = "Endings and ongoing risk/The 12-week limit"
OPEN = "S03_CO01"  # tom has not submitted it in the sample study


def _actor(study, name) -> Actor:
    with study.session() as session:
        return actor_for(session, name)


def _covered_by(study, coder: str, code: str, transcript: str, start: int, end: int) -> float:
    """Share of [start, end) covered by the union of coder's spans of code."""
    rows = [c for c in list_codings(study, LEAD_CLI, transcript=transcript, coder=coder) if c.code == code]
    covered = np.zeros(end - start, dtype=bool)
    for c in rows:
        covered[max(c.start, start) - start:max(min(c.end, end) - start, 0)] = True
    return covered.mean()


def test_suggestions_leave_out_what_the_coder_coded_and_come_best_first(sample_study):
    ranking = suggest(sample_study, LEAD_CLI, CODE, "priya", 25)
    found = ranking.suggestions
    assert len(found) == 25
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert ranking.positives > 20 and ranking.negatives > 100
    for s in found:
        assert _covered_by(sample_study, "priya", CODE, s.transcript, s.start, s.end) < 0.5
        with sample_study.session() as session:
            text = session.scalar(select(Transcript.text).where(Transcript.title == s.transcript))
        assert text[s.start:s.end] == s.text
        assert s.why.startswith(("closest to ", "only loosely like "))


def test_suggestions_are_useful_on_the_sample(sample_study):
    """Among the first ten, one is a sentence the other coder coded with this code (the ranking
    never saw those codings), and most speak of the code's subject, the twelve weeks."""
    found = suggest(sample_study, LEAD_CLI, CODE, "priya", 10).suggestions
    hits = [s for s in found if _covered_by(sample_study, "tom", CODE, s.transcript, s.start, s.end) >= 0.5]
    assert len(hits) >= 1
    assert sum("twelve weeks" in s.text.lower() or "limit" in s.text.lower() for s in found) >= 7


def test_another_coders_work_never_changes_a_coders_suggestions(sample_study):
    before = [(s.transcript, s.start, s.score) for s in suggest(sample_study, LEAD_CLI, CODE, "tom", 30).suggestions]
    with sample_study.transaction() as session:  # priya and the consensus code everything else with CODE
        priya = session.scalar(select(User.id).where(User.name == "priya"))
        code_id = session.scalar(select(Coding.code_id).join(User).where(User.name == "tom").limit(1))
        session.execute(delete(Coding).where(Coding.coder_id != session.scalar(
            select(User.id).where(User.name == "tom"))))
        for segment in session.scalars(select(Segment).limit(300)):
            session.add(Coding(coder_id=priya, code_id=code_id, transcript_id=segment.transcript_id,
                               start=segment.start, end=segment.end))
    after = [(s.transcript, s.start, s.score) for s in suggest(sample_study, LEAD_CLI, CODE, "tom", 30).suggestions]
    assert after == before


def test_who_may_ask_for_whose_suggestions(sample_study):
    priya, jo = _actor(sample_study, "priya"), _actor(sample_study, "jo")
    assert suggest(sample_study, priya, CODE, top_k=3).coder == "priya"
    with pytest.raises(AccessDenied, match="another coder's coding"):
        suggest(sample_study, priya, CODE, "tom")
    with pytest.raises(AccessDenied, match="viewer"):
        suggest(sample_study, jo, CODE)
    with pytest.raises(AccessDenied, match="only a lead"):
        suggest(sample_study, priya, CODE, seed="consensus")
    consensus = suggest(sample_study, LEAD_CLI, CODE, seed="consensus", top_k=None)
    assert consensus.coder == "consensus"
    assert {s.transcript for s in consensus.suggestions} <= {"S01_KW01", "S02_KW02"}  # unblinded only


def test_a_coder_gets_suggestions_only_in_their_released_assigned_transcripts(sample_study):
    tom = _actor(sample_study, "tom")
    everywhere = suggest(sample_study, tom, CODE, top_k=None)
    open_only = suggest(sample_study, tom, CODE, top_k=None, only_open=True)
    assert {s.transcript for s in open_only.suggestions} == {"S03_CO01", "S04_SM01"}
    assert all(s.open for s in open_only.suggestions)
    assert {s.transcript for s in everywhere.suggestions} > {"S03_CO01", "S04_SM01"}
    with sample_study.transaction() as session:
        session.get(Transcript, session.scalar(select(Transcript.id).where(Transcript.title == OPEN))).reviewed_at = None
    assert OPEN not in {s.transcript for s in suggest(sample_study, tom, CODE, top_k=None).suggestions}


def test_accepting_codes_the_sentence_and_reranks_without_it(sample_study):
    tom = _actor(sample_study, "tom")
    first = suggest(sample_study, tom, CODE, transcript=OPEN, top_k=5)
    chosen = first.suggestions[0]
    coding_id = accept(sample_study, tom, CODE, chosen.transcript, chosen.start, chosen.end)
    coding = next(c for c in list_codings(sample_study, tom, transcript=OPEN) if c.id == coding_id)
    assert (coding.start, coding.end, coding.code, coding.origin) == (chosen.start, chosen.end, CODE, "suggestion")
    second = suggest(sample_study, tom, CODE, transcript=OPEN, top_k=5)
    assert (chosen.transcript, chosen.start) not in {(s.transcript, s.start) for s in second.suggestions}
    assert second.positives == first.positives + 1
    with sample_study.session() as session:
        assert session.scalar(select(SuggestionDecision.decision).order_by(SuggestionDecision.id.desc())) == "accepted"
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "suggestion.accept")) == 1


def test_accepting_a_whole_turn(sample_study):
    tom = _actor(sample_study, "tom")
    chosen = next(s for s in suggest(sample_study, tom, CODE, transcript=OPEN, top_k=50).suggestions
                  if s.turn_end > s.end or s.turn_start < s.start)
    assert turn_of(sample_study, OPEN, chosen.start, chosen.end) == (chosen.turn_start, chosen.turn_end)
    coding_id = accept(sample_study, tom, CODE, OPEN, chosen.start, chosen.end, "turn", (chosen.turn_start, chosen.turn_end))
    coding = next(c for c in list_codings(sample_study, tom, transcript=OPEN) if c.id == coding_id)
    assert coding.start <= chosen.turn_start and coding.end >= chosen.turn_end


def test_accepting_joins_the_coders_overlapping_spans_of_the_code(sample_study):
    tom = _actor(sample_study, "tom")
    chosen = next(s for s in suggest(sample_study, tom, CODE, transcript=OPEN, top_k=50).suggestions
                  if s.turn_end > s.end)
    sentence = accept(sample_study, tom, CODE, OPEN, chosen.start, chosen.end)
    following = next(s for s in suggest(sample_study, tom, CODE, transcript=OPEN, top_k=None).suggestions
                     if s.turn_start == chosen.turn_start) if chosen.turn_end > chosen.end else None
    assert following is not None
    turn = accept(sample_study, tom, CODE, OPEN, following.start, following.end, "turn",
                  (following.turn_start, following.turn_end))
    assert turn == sentence  # the sentence's coding grew to the turn: one span, not two overlapping
    spans = sorted((c.start, c.end) for c in list_codings(sample_study, tom, transcript=OPEN) if c.code == CODE)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert any(a <= following.turn_start and b >= following.turn_end for a, b in spans)


def test_answers_concern_one_sentence_even_when_its_words_recur(sample_study):
    tom = _actor(sample_study, "tom")
    everything = suggest(sample_study, tom, CODE, top_k=None)
    seen = {}
    for s in everything.suggestions:
        seen.setdefault((s.transcript, s.text), []).append(s)
    twice = next(v for v in seen.values() if len(v) > 1)  # e.g. "Yes." said twice in one interview
    reject(sample_study, tom, CODE, twice[0].transcript, twice[0].start, twice[0].end)
    after = {(s.transcript, s.start) for s in suggest(sample_study, tom, CODE, top_k=None).suggestions}
    assert (twice[0].transcript, twice[0].start) not in after
    assert (twice[1].transcript, twice[1].start) in after


def test_answers_must_name_a_participants_sentence(sample_study):
    tom = _actor(sample_study, "tom")
    chosen = suggest(sample_study, tom, CODE, transcript=OPEN, top_k=1).suggestions[0]
    with pytest.raises(WorkbenchError, match="not a participant's sentence"):
        reject(sample_study, tom, CODE, OPEN, chosen.start, chosen.end - 1)
    with pytest.raises(WorkbenchError, match="not a participant's sentence"):
        accept(sample_study, tom, CODE, OPEN, 0, 5)


def test_a_rejection_is_remembered_teaches_the_ranking_and_can_be_undone(sample_study):
    tom = _actor(sample_study, "tom")
    first = suggest(sample_study, tom, CODE, top_k=None)
    chosen = first.suggestions[0]
    reject(sample_study, tom, CODE, chosen.transcript, chosen.start, chosen.end)
    second = suggest(sample_study, tom, CODE, top_k=None)
    assert (chosen.transcript, chosen.start) not in {(s.transcript, s.start) for s in second.suggestions}
    assert first.rejected == 2  # the sample study's (transcripts/suggestion_answers.csv)
    assert second.rejected == 3 and second.negatives == first.negatives + 1
    assert second.candidates == first.candidates - 1
    forget(sample_study, tom, CODE, chosen.transcript, chosen.start, chosen.end)
    third = suggest(sample_study, tom, CODE, top_k=3)
    assert (third.suggestions[0].transcript, third.suggestions[0].start) == (chosen.transcript, chosen.start)
    with pytest.raises(WorkbenchError, match="no rejection"):
        forget(sample_study, tom, CODE, chosen.transcript, chosen.start, chosen.end)


def test_accepting_in_a_submitted_transcript_writes_nothing(sample_study):
    priya = _actor(sample_study, "priya")
    chosen = suggest(sample_study, priya, CODE, top_k=1).suggestions[0]
    assert not chosen.open
    before = len(list_codings(sample_study, priya))
    with pytest.raises(AccessDenied, match="submitted"):
        accept(sample_study, priya, CODE, chosen.transcript, chosen.start, chosen.end)
    assert len(list_codings(sample_study, priya)) == before
    with sample_study.session() as session:
        assert session.scalar(select(func.count()).select_from(SuggestionDecision)
                              .join(User).where(User.name == "priya")) == 0


def test_only_missing_embeddings_are_computed_and_an_edit_adds_few(sample_study):
    model = embedder()
    assert missing_count(sample_study, model)[0] == 0  # the session's sample study is embedded
    with sample_study.session() as session:
        segment = session.scalars(select(Segment).where(Segment.transcript_id == session.scalar(
            select(Transcript.id).where(Transcript.title == OPEN))).offset(40).limit(1)).one()
        text = session.get(Transcript, segment.transcript_id).text
        word_end = text.index(" ", segment.start)
        original = text[segment.start:word_end]
    correct_text(sample_study, LEAD_CLI, OPEN, segment.start, word_end, "Honestly", expected=original)
    missing, total = missing_count(sample_study, model)
    assert 1 <= missing <= 5  # the sentence, up to three windows holding it, its turn
    assert embed_study(sample_study, model) == missing
    assert missing_count(sample_study, model) == (0, total)


def test_stored_vectors_are_the_models_and_keyed_by_text(sample_study):
    model = embedder()
    with sample_study.session() as session:
        corpus = read_units(session)
        texts = corpus.sentence_texts[:20]
        key = text_key(session)
        keyed = [hmac.new(key, t.encode("utf-8"), hashlib.sha256).hexdigest() for t in texts]
        assert [u.text_hash for u in corpus.units[:20]] == keyed  # HMAC under the study's key,
        assert keyed[0] != hashlib.sha256(texts[0].encode("utf-8")).hexdigest()  # not a bare hash
        stored = load_vectors(session, model.key, keyed)
    fresh = model.encode(texts)
    assert np.allclose(stored, fresh, atol=1e-5)
    assert np.allclose(np.linalg.norm(stored, axis=1), 1, atol=1e-5)
    loaded = load_corpus(sample_study, model)
    assert loaded.context.shape == loaded.sentence.shape == (len(corpus), fresh.shape[1])


def test_bad_model_settings_are_one_line_errors(tmp_path):
    with pytest.raises(WorkbenchError, match="unknown embedding backend"):
        model_choice(backend="gpu")
    with pytest.raises(WorkbenchError, match="neither a folder nor an installed package"):
        model_choice(model="no_such_model_package")
    with pytest.raises(WorkbenchError, match="not a sentence-transformers model folder"):
        model_choice(model=str(tmp_path))
    assert model_choice().key == "all-MiniLM-L6-v2"
    assert model_choice(backend="onnx").key == "all-MiniLM-L6-v2+onnx-int8-v2"


def test_the_onnx_backend_agrees_with_torch(sample_study, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    with sample_study.session() as session:
        texts = read_units(session).sentence_texts[::10][:200]
    torch_vectors = embedder(backend="torch").encode(texts)
    onnx_vectors = embedder(backend="onnx").encode(texts)
    cosine = (torch_vectors * onnx_vectors).sum(1)
    assert cosine.min() > 0.93 and cosine.mean() > 0.98  # short sentences drift most (measured min 0.95)


def test_evaluation_follows_the_protocol_and_beats_the_baselines(sample_study):
    rows = evaluate(sample_study, LEAD_CLI, ["tom"], ks=(1,), draws=3)
    by_method = {r.method: r for r in rows}
    assert set(by_method) == {"workbench", "tfidf", "random"}
    assert all(r.codes >= 20 and r.draws == 3 and r.k == 1 for r in rows)
    assert by_method["workbench"].map > by_method["tfidf"].map > 3 * by_method["random"].map
    assert by_method["tfidf"].vs_tfidf == 1.0
    again = evaluate(sample_study, LEAD_CLI, ["tom"], ks=(1,), draws=3)
    assert [r.as_json() for r in again] == [r.as_json() for r in rows]  # seeded draws


def test_the_sample_study_remembers_toms_rejections(sample_study):
    tom = _actor(sample_study, "tom")
    from workbench.suggest.study import answers

    remembered = answers(sample_study, tom, CODE)
    assert [a["decision"] for a in remembered] == ["rejected", "rejected"]
    shown = suggest(sample_study, tom, CODE, transcript=OPEN, top_k=None).suggestions
    assert not {a["text"] for a in remembered} & {s.text for s in shown}


def test_coverage_follows_the_agreement_rule(sample_study):
    with sample_study.session() as session:
        corpus = read_units(session)
    unit = corpus.units[5]
    half = (unit.end - unit.start + 1) // 2
    at_least_half = corpus.covered({unit.transcript_id: [(unit.start, unit.start + half)]})
    less = corpus.covered({unit.transcript_id: [(unit.start, unit.start + half - 1)]})
    assert at_least_half[5] and not less[5]


def _cli(study, *args, who=None):
    return CliRunner().invoke(cli, ["--db", study.url, *(["--as", who] if who else []), *args])


def test_cli_suggest_json_has_exactly_the_documented_keys(sample_study):
    result = _cli(sample_study, "suggest", "--code", CODE, "--coder", "priya", "--top", "7", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 7 and all(set(r) == {"transcript", "start", "end", "text", "score"} for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    human = _cli(sample_study, "suggest", "--code", CODE, "--top", "2", who="priya")
    assert "why: closest to" in human.stdout


def test_cli_refuses_what_blindness_forbids_in_one_line(sample_study):
    result = _cli(sample_study, "suggest", "--code", CODE, "--coder", "tom", who="priya")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "another coder's coding" in result.stderr
    assert "--coder" in _cli(sample_study, "suggest", "--code", CODE).stderr


def test_cli_answers_embed_and_eval(sample_study):
    top = json.loads(_cli(sample_study, "--as", "tom", "suggest", "--code", CODE, "--open-only", "--json").stdout)[0]
    span = ["--code", CODE, "--transcript", top["transcript"], "--start", str(top["start"]), "--end", str(top["end"])]
    assert _cli(sample_study, "suggestion", "reject", *span, who="tom").exit_code == 0
    after = json.loads(_cli(sample_study, "suggest", "--code", CODE, "--open-only", "--json", who="tom").stdout)
    assert (top["transcript"], top["start"]) not in {(r["transcript"], r["start"]) for r in after}
    accepted = _cli(sample_study, "suggestion", "accept", *span, "--turn", who="tom")
    assert accepted.exit_code == 0 and "coded" in accepted.stdout
    embedded = json.loads(_cli(sample_study, "embed", "--json").stdout)
    assert embedded == {"model": "all-MiniLM-L6-v2", "computed": 0, "texts": embedded["texts"]}
    rows = json.loads(_cli(sample_study, "suggest-eval", "--coder", "tom", "--k", "1", "--draws", "2", "--json").stdout)
    assert {r["method"] for r in rows} == {"workbench", "tfidf", "random"}
    assert set(rows[0]) == {"coder", "k", "method", "map", "map_sd", "p10", "p10_sd", "codes", "draws", "vs_tfidf"}


def test_answers_follow_a_code_merge(sample_study):
    from workbench.codebook.ops import merge_codes

    tom = _actor(sample_study, "tom")
    other = "Endings and ongoing risk/Anxiety about endings"
    chosen = suggest(sample_study, tom, other, top_k=1).suggestions[0]
    reject(sample_study, tom, other, chosen.transcript, chosen.start, chosen.end)
    merge_codes(sample_study, LEAD_CLI, [other], CODE)
    after = suggest(sample_study, tom, CODE, top_k=None)
    assert (chosen.transcript, chosen.start) not in {(s.transcript, s.start) for s in after.suggestions}
    assert after.rejected == 3  # the sample's two and this one


@pytest.mark.slow
def test_the_model_loads_and_embeds_with_the_network_cut_off(tmp_path):
    """No model hub at run time: any attempt to open a socket fails the run."""
    import subprocess
    import sys

    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise RuntimeError('network access attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from workbench.suggest.embeddings import embedder\n"
        "print(embedder().encode(['The twelve weeks went quickly.']).shape)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["HOME"] = str(tmp_path)  # no model cache to fall back on
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(1, 384)")
