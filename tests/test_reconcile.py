"""Reconciliation on a populated database: decisions produce the expected consensus coding,
deciding again replaces, codebook changes flag decisions, blindness and roles hold."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.test_cli import documented_keys, ok, sample_url
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.agreement.study import report_json, study_agreement
from workbench.audit import audit_rows
from workbench.cli import cli
from workbench.codebook.ops import merge_codes
from workbench.coding.assignments import unblind
from workbench.coding.codings import list_codings
from workbench.csvio import read_rows
from workbench.errors import NotFound, ValidationError
from workbench.reconcile.study import carry_agreed, decide_item, reconcile_agreement, reconcile_queue, reconcile_status
from workbench.sample import RECONCILE_DECISIONS
from workbench.store.models import ReconcileDecision

DONE, STARTED, BLIND = "S01_KW01", "S02_KW02", "M01_Amy"


def people(study):
    with study.session() as session:
        return {name: actor_for(session, name) for name in ("morgan", "priya", "tom", "jo")}


def consensus_set(study, title):
    return {(r.code, r.start, r.end) for r in list_codings(study, LEAD_CLI, transcript=title, coder="consensus")}


def test_the_sample_decisions_produce_exactly_the_consensus_they_describe(sample_study):
    queue = reconcile_queue(sample_study, LEAD_CLI, DONE)
    expected = set()
    for entry in queue.items:
        if entry.item.kind == "agreed":
            expected |= {(c.code, c.start, c.end) for c in entry.item.codings}
    for _n, row in read_rows(RECONCILE_DECISIONS.read_bytes(), "decisions", ("transcript",)):
        entry = next(q for q in queue.items if q.item.kind == row["kind"] and q.item.start == int(row["start"])
                     and q.item.end == int(row["end"]) and row["code"] in q.item.codes)
        how, _, what = row["decision"].partition(":")
        if how == "keep":
            expected |= {(c.code, c.start, c.end) for c in entry.item.codings if c.coder == what}
        elif how == "both":
            expected |= {(c.code, c.start, c.end) for c in entry.item.codings}
        elif how == "edit":
            code, _, where = what.rpartition("@")
            expected.add((code, *map(int, where.split("-"))))
        assert entry.status == "decided" and entry.decision["rationale"] == row["rationale"]
    assert consensus_set(sample_study, DONE) == expected
    status = {r["transcript"]: r for r in reconcile_status(sample_study, LEAD_CLI)}
    assert status[DONE]["complete"] and status[DONE]["open"] == 0
    assert status[STARTED]["agreed_carried"] == status[STARTED]["agreed"] > 0 and status[STARTED]["open"] > 0
    assert status[BLIND]["items"] is None and status[BLIND]["consensus_codings"] == 0


def test_keep_a_keep_b_both_and_neither(sample_study):
    queue = reconcile_queue(sample_study, LEAD_CLI, STARTED)
    a, b = queue.coders
    boundary = next(q.item for q in queue.items if q.item.kind == "boundary" and q.status == "open")
    outside = consensus_set(sample_study, STARTED)

    def spans_of(*coders):
        return {(c.code, c.start, c.end) for c in boundary.codings if c.coder in coders}

    # keeping both coders' passages of one code keeps the passage either marked: one span, not two nested
    both = {(boundary.codes[0], boundary.start, boundary.end)}
    for keep, expected in (([a], spans_of(a)), ([b], spans_of(b)), ([a, b], both), ([], set())):
        decide_item(sample_study, LEAD_CLI, STARTED, boundary.key, keep=keep, rationale="because")
        assert consensus_set(sample_study, STARTED) == outside | expected  # the earlier decision is replaced
    with sample_study.session() as session:
        decisions = session.scalars(select(ReconcileDecision).where(ReconcileDecision.item_key == boundary.key)).all()
    assert [(d.choice, d.kept, d.rationale) for d in decisions] == [("neither", [], "because")]
    entry = reconcile_queue(sample_study, LEAD_CLI, STARTED).find(boundary.key)
    assert entry.status == "decided" and entry.decision["decided_by"] == "cli"
    actions = [e for e in audit_rows(sample_study, LEAD_CLI) if e["action"] == "reconcile.decide"
               and e["detail"]["item"] == boundary.key]
    assert len(actions) == 4 and all(e["detail"]["transcript"] == STARTED for e in actions)


def test_an_edited_decision_stores_the_leads_spans(sample_study):
    queue = reconcile_queue(sample_study, LEAD_CLI, STARTED)
    item = next(q.item for q in queue.items if q.status == "open")
    code = item.codes[0]
    decide_item(sample_study, LEAD_CLI, STARTED, item.key, spans=[(code, item.start + 1, item.end)])
    assert (code, item.start + 1, item.end) in consensus_set(sample_study, STARTED)
    with pytest.raises(ValidationError, match="outside"):
        decide_item(sample_study, LEAD_CLI, STARTED, item.key, spans=[(code, 0, 10 ** 7)])
    assert (code, item.start + 1, item.end) in consensus_set(sample_study, STARTED)  # nothing written


def test_carrying_agreed_spans_is_idempotent(sample_study):
    unblind(sample_study, LEAD_CLI, BLIND)
    first = carry_agreed(sample_study, LEAD_CLI, BLIND)
    assert first > 0 and carry_agreed(sample_study, LEAD_CLI, BLIND) == 0
    assert len(consensus_set(sample_study, BLIND)) == first


def test_a_codebook_merge_after_a_decision_flags_it_and_deciding_again_clears_the_flag(sample_study):
    queue = reconcile_queue(sample_study, LEAD_CLI, DONE)
    entry = next(q for q in queue.items if q.item.kind == "boundary")
    code = entry.item.codes[0]
    target = next(c.code for q in queue.items for c in q.item.codings if c.code != code)
    merge_codes(sample_study, LEAD_CLI, [code], target)
    after = reconcile_queue(sample_study, LEAD_CLI, DONE)
    flagged = [q for q in after.items if q.status == "flagged"]
    assert flagged and after.counts()["flagged"] >= 1
    assert not reconcile_status(sample_study, LEAD_CLI, [DONE])[0]["complete"]
    for q in flagged:
        decide_item(sample_study, LEAD_CLI, DONE, q.key, keep=[])
    assert reconcile_queue(sample_study, LEAD_CLI, DONE).counts()["flagged"] == 0


def test_only_leads_reconcile_and_only_unblinded_transcripts(sample_study):
    who = people(sample_study)
    for name in ("priya", "jo"):
        with pytest.raises(AccessDenied):
            reconcile_queue(sample_study, who[name], DONE)
        with pytest.raises(AccessDenied):
            reconcile_status(sample_study, who[name])
    with pytest.raises(ValidationError, match="still blind"):
        carry_agreed(sample_study, LEAD_CLI, BLIND)
    with pytest.raises(NotFound, match="reload"):
        decide_item(sample_study, LEAD_CLI, DONE, "no-such-key", keep=[])
    with pytest.raises(ValidationError, match="not one of"):
        decide_item(sample_study, LEAD_CLI, DONE, reconcile_queue(sample_study, LEAD_CLI, DONE).items[0].key,
                    keep=["jo"])


def test_viewers_read_the_consensus_and_no_coder(sample_study):
    who = people(sample_study)
    seen = list_codings(sample_study, who["jo"])
    assert seen and {r.coder for r in seen} == {"consensus"}
    assert {r.transcript for r in seen} == {DONE, STARTED}
    assert {r.coder for r in list_codings(sample_study, who["priya"], transcript=BLIND)} == {"priya"}
    assert "consensus" in {r.coder for r in list_codings(sample_study, who["priya"], transcript=DONE)}
    with pytest.raises(AccessDenied):
        list_codings(sample_study, who["jo"], coder="priya")


def test_agreement_before_and_after_uses_the_agreement_module(sample_study):
    rows = {r.comparison: r for r in reconcile_agreement(sample_study, LEAD_CLI)}
    before = rows["priya vs tom (before)"]
    direct = report_json(study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], [DONE], draws=0))["overall"]
    assert before.transcripts == [DONE]
    assert before.kappa == direct["coefficients"]["cohen_kappa"]["value"]
    for coder in ("priya", "tom"):
        after = rows[f"{coder} vs consensus (after)"]
        assert after.coders == [coder, "consensus"] and after.kappa is not None


def test_reconcile_commands_print_the_documented_keys(sample_study):
    url = sample_url(sample_study)
    status = json.loads(ok(url, "reconcile", "status", "--json").stdout)
    assert set(status[0]) == documented_keys("reconcile status")
    items = json.loads(ok(url, "reconcile", "items", STARTED, "--open", "--json").stdout)
    assert items and set(items[0]) == documented_keys("reconcile items")
    assert all(i["status"] != "decided" for i in items)
    agreement = json.loads(ok(url, "reconcile", "agreement", "--json").stdout)
    assert set(agreement[0]) == documented_keys("reconcile agreement")
    matched = json.loads(ok(url, "matched", "Amy", "Leo", "--coder", "priya", "--json").stdout)
    assert set(matched[0]) - {"Amy", "Leo"} == documented_keys("matched")


def test_deciding_from_the_command_line(sample_study):
    url = sample_url(sample_study)
    items = json.loads(ok(url, "reconcile", "items", STARTED, "--open", "--json").stdout)
    item = items[0]
    coder = item["codings"][0]["coder"]
    ok(url, "reconcile", "decide", STARTED, item["key"], "--keep", coder, "--rationale", "clearer")
    decided = {i["key"]: i for i in json.loads(ok(url, "reconcile", "items", STARTED, "--json").stdout)}
    assert decided[item["key"]]["decision"]["kept"] == [coder]
    code = item["codings"][0]["code"]
    ok(url, "reconcile", "decide", STARTED, item["key"], "--span", f"{code}:{item['start']}-{item['end']}")
    assert (code, item["start"], item["end"]) in consensus_set(sample_study, STARTED)
    result = CliRunner().invoke(cli, ["--db", url, "reconcile", "decide", STARTED, item["key"], "--neither",
                                      "--keep", coder])
    assert result.exit_code == 1 and "give --keep" in result.stderr
    result = CliRunner().invoke(cli, ["--db", url, "--as", "priya", "reconcile", "status"])
    assert result.exit_code == 1 and "only a lead" in result.stderr
