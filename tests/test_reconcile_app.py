"""Reconciliation in the app (AppTest on the sample study): a lead goes from two coders'
independent coding to a consensus coding and a revised codebook version, every step audited."""

from tests.test_app import (
    PAGE_SCRIPTS,
    app,  # noqa: F401  (the fixture)
    sign_in,
)
from workbench.access import LEAD_CLI, actor_for
from workbench.analysis.matched import matched_view
from workbench.audit import audit_rows
from workbench.codebook.versions import diff_versions, list_versions
from workbench.reconcile.study import reconcile_queue, reconcile_status


def button(at, label):
    return next(b for b in at.button if b.label == label)


def status_of(study, title):
    return next(r for r in reconcile_status(study, LEAD_CLI) if r["transcript"] == title)


def test_a_lead_goes_from_two_codings_to_a_consensus_and_a_codebook_version(app, sample_study):  # noqa: F811
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["assignments"]).run()
    at.selectbox[0].select("M01_Amy").run()
    button(at, "Unblind").click().run()
    assert not at.error
    at.switch_page(PAGE_SCRIPTS["reconcile"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="reconcile-transcript").value == "M01_Amy"  # the first ready transcript
    assert any("identical codings carried" in t.value for t in at.toast)
    carried = status_of(sample_study, "M01_Amy")
    assert carried["agreed_carried"] == carried["agreed"] > 0
    names = {b.label for b in at.button}
    assert "priya" not in " ".join(names) and any(label.startswith("Keep Coder") for label in names)
    for step in range(carried["items"]):
        labels = [b.label for b in at.button]
        choice = "Keep both" if "Keep both" in labels and step % 2 else next(
            label for label in labels if label.startswith("Keep Coder") or label == "Neither")
        at.text_input(key=f"why-{at.selectbox(key='reconcile-item-M01_Amy-To decide (open and flagged)').value}") \
            .input(f"decision {step}")
        button(at, choice).click().run()
        assert not at.exception and not at.error, (step, at.exception, at.error)
    done = status_of(sample_study, "M01_Amy")
    assert done["complete"] and done["decided"] == done["items"] and done["consensus_codings"] > carried["agreed"]
    assert any("Nothing left to decide" in s.value for s in at.success)
    queue = reconcile_queue(sample_study, LEAD_CLI, "M01_Amy")
    assert {q.decision["rationale"] for q in queue.items if q.item.kind != "agreed"} == {
        f"decision {k}" for k in range(done["items"])}

    at.switch_page(PAGE_SCRIPTS["codebook"]).run()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["Codes", "Draft frames", "Reorganise", "Versions"]
    proposal = next(c for c in at.radio if c.key and c.key.startswith("draft-action-"))
    guid = proposal.key.removeprefix("draft-action-")
    at.button(key=f"draft-apply-{guid}").click().run()
    assert any(t.value.startswith("Accepted") for t in at.toast)
    at.multiselect(key="merge-sources").select("Taking part in group work/Mixing ages in groups")
    at.selectbox(key="merge-target").select("Taking part in group work/Group timing and practicalities")
    at.checkbox(key="merge-sure").check().run()
    at.button(key="merge-apply").click().run()
    assert any(t.value.startswith("Merged into") for t in at.toast), [t.value for t in at.toast]
    at.text_input(key="version-name").input("after round 1")
    button(at, "Save version").click().run()
    assert not at.exception, at.exception
    assert [v["name"] for v in list_versions(sample_study)] == ["Initial codebook", "after round 1"]
    kinds = {c.kind for c in diff_versions(sample_study, "Initial codebook", "after round 1")}
    assert kinds == {"added", "merged"}
    assert any("Merged" in m.value for m in at.markdown)

    trail = [(e["actor"], e["action"]) for e in audit_rows(sample_study, LEAD_CLI)]
    for action in ("transcript.unblind", "reconcile.carry", "reconcile.decide", "code.accept", "code.merge",
                   "codebook.version"):
        assert ("morgan", action) in trail, action
    assert trail.count(("morgan", "reconcile.decide")) == done["items"]


def test_names_can_be_shown_and_a_flag_appears_after_a_merge(app, sample_study):  # noqa: F811
    from workbench.codebook.ops import merge_codes

    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["reconcile"]).run()
    at.selectbox(key="reconcile-transcript").select("S01_KW01").run()
    assert any("Nothing left to decide" in s.value for s in at.success)
    queue = reconcile_queue(sample_study, LEAD_CLI, "S01_KW01")
    entry = next(q for q in queue.items if q.item.kind == "boundary")
    code = entry.item.codes[0]
    other = next(c.code for q in queue.items for c in q.item.codings if c.code != code)
    merge_codes(sample_study, LEAD_CLI, [code], other)
    at.run()
    assert any("flagged for review" in w.value or "changed after" in w.value for w in at.warning)
    at.toggle(key="reconcile-hide").set_value(False).run()
    assert any(b.label in ("Keep priya's", "Keep tom's") for b in at.button)


def test_viewers_and_coders_see_matched_transcripts_within_blindness(app, sample_study):  # noqa: F811
    at = sign_in(app(), "priya")
    at.switch_page(PAGE_SCRIPTS["matched"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="matched-coder").options == ["priya"]
    with sample_study.session() as session:
        priya = actor_for(session, "priya")
    view = matched_view(sample_study, priya, "Amy", "Leo")
    assert at.metric[0].value == str(view.summary()["both"]) and view.summary()["both"] > 0
    assert at.expander and all("Amy" in e.label or "Leo" in e.label or "both" in e.label for e in at.expander)
    jo = sign_in(app(), "jo")
    jo.switch_page(PAGE_SCRIPTS["matched"]).run()
    assert not jo.exception, jo.exception
    assert jo.selectbox(key="matched-coder").options == ["consensus"]


def test_coders_get_no_reorganising_on_the_codebook_page(app):  # noqa: F811
    at = sign_in(app(), "priya")
    at.switch_page(PAGE_SCRIPTS["codebook"]).run()
    assert not at.exception and not at.tabs
    assert not [b for b in at.button if b.key and b.key.endswith("-apply")]


def test_a_lead_splits_a_code_on_the_page_one_row_per_passage(app, sample_study):  # noqa: F811
    from workbench.coding.codings import list_codings

    code = "Trust, confidentiality and reliability/Reliability and being rung back"
    before = [r for r in list_codings(sample_study, LEAD_CLI) if r.code == code]
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["codebook"]).run()
    at.selectbox(key="split-code").select(code).run()
    at.text_area(key="split-names").input("Being rung back: rung back when promised\n"
                                          "Same worker: seeing one worker, not cover staff").run()
    table = next(t.value for t in at.dataframe if "new code" in t.value.columns)
    assert len(table) == len({(r.transcript, r.start, r.end) for r in before}) < len(before)
    at.button(key="split-apply").click().run()
    assert not at.exception and any(t.value.startswith("Split into") for t in at.toast)
    after = [r for r in list_codings(sample_study, LEAD_CLI) if r.code.startswith(
        "Trust, confidentiality and reliability/") and r.code.split("/")[-1] in ("Being rung back", "Same worker")]
    assert sorted((r.coder, r.transcript, r.start, r.end) for r in after) == sorted(
        (r.coder, r.transcript, r.start, r.end) for r in before)
