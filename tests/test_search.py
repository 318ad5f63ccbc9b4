"""Search, analysis views and memos on the sample study, with blindness."""

import json

import pytest
from click.testing import CliRunner

from tests.test_cli import documented_keys
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.analysis.crosstabs import report
from workbench.analysis.search import Filters, search
from workbench.cli import cli
from workbench.coding.assignments import unblind
from workbench.coding.codings import list_codings
from workbench.coding.memos import add_memo, delete_memo, edit_memo, list_memos
from workbench.errors import ValidationError
from workbench.sample import UNBLINDED
from workbench.transcripts.study import FileInput, import_transcripts


def people(study):
    with study.session() as session:
        return {name: actor_for(session, name) for name in ("morgan", "priya", "tom", "jo")}


def test_lemma_search_finds_every_form_of_the_word(sample_study):
    hits = search(sample_study, LEAD_CLI, "ring back").hits
    forms = {" ".join(h.match.lower().split()) for h in hits}
    assert {"rang back", "rung back"} <= forms
    assert all(" ".join(h.match.split()) in h.text for h in hits)  # the KWIC line shows the match
    with sample_study.session() as session:
        from sqlalchemy import select

        from workbench.store.models import Transcript

        texts = dict(session.execute(select(Transcript.title, Transcript.text)).all())
    for h in hits:
        assert texts[h.transcript][h.start:h.end] == h.match
    phrase = search(sample_study, LEAD_CLI, "rang back", "phrase").hits
    assert phrase and {" ".join(h.match.lower().split()) for h in phrase} == {"rang back"}
    assert len(phrase) < len(hits)


def test_interviewer_turns_and_labels_are_not_searched_by_default(sample_study):
    import_transcripts(sample_study, LEAD_CLI, [FileInput("x.txt", b"Interviewer: Did they ring you?\nAmy: No. Never.\n")])
    assert search(sample_study, LEAD_CLI, "ring", filters=Filters(transcripts=("x",))).hits == []
    asked = search(sample_study, LEAD_CLI, "ring", filters=Filters(transcripts=("x",), include_interviewer=True)).hits
    assert [h.speaker for h in asked] == ["Interviewer"]
    assert search(sample_study, LEAD_CLI, "Amy", "phrase", Filters(transcripts=("x",))).hits == []  # a label


def test_filters_by_role_age_speaker_and_code(sample_study):
    mothers = search(sample_study, LEAD_CLI, "school", filters=Filters(roles=("mother",))).hits
    assert mothers and {h.role for h in mothers} == {"mother"}
    young = search(sample_study, LEAD_CLI, "school", filters=Filters(min_age=12, max_age=18)).hits
    assert young and all(h.pseudonym in {"Maisie", "Jack", "Holly", "Isla"} for h in young)
    leo = search(sample_study, LEAD_CLI, "group", filters=Filters(speakers=("Leo",))).hits
    assert leo and {h.pseudonym for h in leo} == {"Leo"}
    coded = search(sample_study, LEAD_CLI, "believe", filters=Filters(code="Trust, confidentiality and reliability")).hits
    everywhere = search(sample_study, LEAD_CLI, "believe").hits
    assert 0 < len(coded) < len(everywhere)
    result = search(sample_study, LEAD_CLI, "school")
    assert sum(result.by_participant.values()) == len(result.hits)
    assert sum(v["hits"] for v in result.by_role.values()) == len(result.hits)


def test_code_filter_respects_blindness(sample_study):
    actors = people(sample_study)
    tom_only = Filters(code="Trust, confidentiality and reliability", coder="tom")
    with pytest.raises(AccessDenied):
        search(sample_study, actors["priya"], "believe", filters=tom_only)
    own = search(sample_study, actors["priya"], "believe", filters=Filters(code="Trust, confidentiality and reliability"))
    lead = search(sample_study, LEAD_CLI, "believe", filters=Filters(code="Trust, confidentiality and reliability",
                                                                      coder="priya"))
    assert [(h.transcript, h.start) for h in own.hits] == [(h.transcript, h.start) for h in lead.hits]


def test_bad_searches_are_clear_errors(sample_study):
    with pytest.raises(ValidationError, match="regular expression"):
        search(sample_study, LEAD_CLI, "(unclosed", "regex")
    with pytest.raises(ValidationError, match="empty"):
        search(sample_study, LEAD_CLI, "   ", "phrase")
    with pytest.raises(ValidationError, match="empty text"):
        search(sample_study, LEAD_CLI, "a*", "regex")


def test_analysis_views_count_consistently_and_stay_blind(sample_study):
    actors = people(sample_study)
    frequencies = report(sample_study, LEAD_CLI, "frequencies", "priya")
    assert {r["role"] for r in frequencies} <= {"mother", "child", "young person", "staff"}
    assert all(r["participants"] <= r["passages"] or r["participants"] >= 1 for r in frequencies)
    codes = {r.code for r in list_codings(sample_study, LEAD_CLI, coder="priya")}
    assert {r["code"] for r in frequencies} <= codes
    presence = report(sample_study, LEAD_CLI, "presence", "priya")
    for row in frequencies:
        present = next(p for p in presence if p["code"] == row["code"])
        assert sum(v for k, v in present.items() if k != "code") >= row["participants"]
    pairs = report(sample_study, LEAD_CLI, "cooccurrence", "tom")
    assert all(r["code"] != r["with"] for r in pairs)
    with pytest.raises(AccessDenied):
        report(sample_study, actors["priya"], "frequencies", "tom")
    with pytest.raises(AccessDenied):
        report(sample_study, actors["jo"], "presence", "priya")
    assert report(sample_study, actors["priya"], "frequencies") == frequencies


def test_memos_are_blind_like_codings(sample_study):
    a = people(sample_study)
    project = add_memo(sample_study, a["morgan"], "Round 1 closes Friday.", title="Plan")
    private = add_memo(sample_study, a["priya"], "Trust = speed of reply?", code="Reliability and being rung back")
    on_amy = add_memo(sample_study, a["tom"], "Amy contrasts the cover worker.", transcript="M01_Amy")
    ours = {project, private, on_amy}
    seen = {who: {m.id for m in list_memos(sample_study, actor, include_codings=False)} & ours
            for who, actor in a.items()}
    assert seen["morgan"] == {project, private, on_amy}
    assert seen["priya"] == {project, private} and seen["tom"] == {project, on_amy} and seen["jo"] == {project}
    unblind(sample_study, LEAD_CLI, "M01_Amy")
    assert on_amy in {m.id for m in list_memos(sample_study, a["priya"], include_codings=False)}
    coding_memos = [m for m in list_memos(sample_study, a["priya"]) if m.kind == "coding"]
    assert coding_memos and {m.author for m in coding_memos} <= {"priya", "tom", "consensus"}
    assert {m.author for m in coding_memos if m.transcript not in {"M01_Amy", *UNBLINDED}} == {"priya"}
    assert [m.id for m in list_memos(sample_study, a["morgan"], search="closes FRIDAY")] == [project]
    with pytest.raises(AccessDenied):
        edit_memo(sample_study, a["priya"], on_amy, "changed")
    edit_memo(sample_study, a["tom"], on_amy, "Amy contrasts the cover worker with her key worker.")
    delete_memo(sample_study, a["morgan"], on_amy)
    with pytest.raises(AccessDenied):
        add_memo(sample_study, LEAD_CLI, "no author")


def test_cli_search_report_and_memos_have_documented_keys(sample_study):
    url = sample_study.engine.url.render_as_string(hide_password=False)

    def run(*args):
        result = CliRunner().invoke(cli, ["--db", url, *args])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    hits = run("search", "rung back", "--role", "mother", "--json")
    assert hits and set(hits[0]) == documented_keys("search") and {h["role"] for h in hits} == {"mother"}
    assert set(run("report", "frequencies", "--coder", "priya", "--json")[0]) == documented_keys("report frequencies") | {"role"}
    assert set(run("report", "cooccurrence", "--coder", "tom", "--json")[0]) == documented_keys("report cooccurrence")
    assert "code" in run("report", "presence", "--coder", "tom", "--json")[0]
    CliRunner().invoke(cli, ["--db", url, "--as", "priya", "memos", "add", "a thought", "--transcript", "M01_Amy"])
    memos = run("--as", "priya", "memos", "list", "--json")
    assert set(memos[0]) == documented_keys("memos list") and "a thought" in [m["text"] for m in memos]
    blind = CliRunner().invoke(cli, ["--db", url, "--as", "tom", "memos", "list", "--search", "thought", "--json"])
    assert json.loads(blind.stdout) == []
