"""The anonymisation check end to end: findings, consistent replacement across the study,
offsets of existing codings, release to coders, the private key kept out of the database,
corrections and withdrawal — on real SQLite files (PostgreSQL too where marked)."""

import io
import json
import sys
from pathlib import Path

import pytest

from tests.test_cli import documented_keys, ok, sample_url
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.analysis.search import search
from workbench.audit import audit_rows
from workbench.coding.assignments import assign, list_assignments
from workbench.coding.codings import add_coding, list_codings
from workbench.coding.workspace import check_readable, transcript_view
from workbench.errors import ValidationError
from workbench.privacy.anonymisation import (
    Decision,
    allow_term,
    apply_decisions,
    ignore_finding,
    release,
    review_status,
)
from workbench.privacy.private_key import load_private_key
from workbench.privacy.redaction import Replacement, redact
from workbench.privacy.revisions import correct_text, withdraw_participant
from workbench.privacy.scan import scan_transcripts
from workbench.store import Study
from workbench.store.backup import backup
from workbench.transcripts.study import FileInput, import_transcripts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

STRAY = """Interviewer: Can you tell me about the support?
Amy: Yeah. My son Kyle, he's nine, he was struggling at Ashgrove Primary. Kyle's teacher rang me.
Amy: If anything happens they ring me on 07700 900871, that's my new number.
Interviewer: And how is he now?
Amy: Kyle is calmer. He's back at football on Saturdays.
"""
SECOND = """Interviewer: What did the key worker do?
Dionne: She talked to Kyle's school, and she rang me back every time.
"""


def people(study):
    with study.session() as session:
        return {name: actor_for(session, name) for name in ("morgan", "priya", "tom", "jo")}


def text_of(study, title):
    return transcript_view(study, title).text


@pytest.fixture
def stray(sample_study):
    import_transcripts(sample_study, LEAD_CLI, [FileInput("M05_Amy_followup.txt", STRAY.encode()),
                                      FileInput("M06_Dionne_followup.txt", SECOND.encode())])
    return sample_study


def test_the_check_shows_a_stray_name_school_and_phone_number(stray):
    findings = scan_transcripts(stray, LEAD_CLI, ["M05_Amy_followup"])
    found = {(f.text, f.type) for f in findings}
    assert {("Kyle", "name"), ("Ashgrove Primary", "school"), ("07700 900871", "phone")} <= found
    assert all(f.text != "Amy" for f in findings)  # a pseudonym of the key is not a finding
    kyle = [f for f in findings if f.text == "Kyle"]
    assert len(kyle) == 3 and all("⟦Kyle⟧" in f.context for f in kyle)  # "Kyle's" too, without the 's


def test_new_transcripts_wait_for_release_and_coders_never_see_the_originals(stray, tmp_path):
    who = people(stray)
    assign(stray, LEAD_CLI, ["M05_Amy_followup"], ["priya"])
    assert "M05_Amy_followup" not in {a.transcript for a in list_assignments(stray, who["priya"])}
    with pytest.raises(AccessDenied, match="not released"):
        check_readable(stray, who["priya"], "M05_Amy_followup")
    with pytest.raises(AccessDenied, match="not released"):
        add_coding(stray, who["priya"], "M05_Amy_followup", "Changes noticed", 0, 5)
    assert not [h for h in search(stray, who["priya"], "Kyle", mode="phrase").hits]
    assert not [h for h in search(stray, who["jo"], "Kyle", mode="phrase").hits]
    with pytest.raises(ValidationError, match="still"):
        release(stray, LEAD_CLI, ["M05_Amy_followup"])

    key_file = tmp_path / "private" / "key.csv"
    key = load_private_key(key_file)
    findings = scan_transcripts(stray, LEAD_CLI, ["M05_Amy_followup"], key)
    placeholders = {"name": "[child]", "school": "[school]", "phone": "[phone number]"}
    first = {f.type: f for f in reversed(findings)}  # one finding of each type: the rest follow
    apply_decisions(stray, LEAD_CLI, [Decision(f, "replace", placeholders[f.type]) for f in first.values()], key)
    # the log is checkpointed as soon as the decisions commit, not when the study closes (inside
    # their transaction the checkpoint waited 30 s for it and gave up, leaving the old words)
    wal = Path(f"{stray.engine.url.database}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    amy, dionne = text_of(stray, "M05_Amy_followup"), text_of(stray, "M06_Dionne_followup")
    assert "Kyle" not in amy and "Ashgrove" not in amy and "900871" not in amy
    assert amy.count("[child]") == 3 and "[child]'s teacher" in amy
    assert "talked to [child]'s school" in dionne  # the same name, the same placeholder, across the study
    release(stray, LEAD_CLI, ["M05_Amy_followup", "M06_Dionne_followup"])
    assert "[child] is calmer" in transcript_view(stray, "M05_Amy_followup").text
    check_readable(stray, who["priya"], "M05_Amy_followup")

    # the private key is in its own file only, and nothing of the original is left in the database
    stored = set(key_file.read_text(encoding="utf-8").splitlines()[1:])
    assert stored == {"Kyle,[child]", "Ashgrove Primary,[school]", "07700 900871,[phone number]"}
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    database = Path(stray.engine.url.database)
    stray.close()
    raw = database.read_bytes() + (Path(f"{database}-wal").read_bytes() if Path(f"{database}-wal").exists() else b"")
    for original in (b"Kyle", b"Ashgrove", b"900871"):
        assert original not in raw, original
    reopened = Study.open(f"sqlite:///{database}")
    out = io.BytesIO()
    backup(reopened, out)
    import gzip

    assert b"Kyle" not in gzip.decompress(out.getvalue())
    entries = [e for e in audit_rows(reopened, LEAD_CLI) if e["action"] == "transcript.redact"]
    assert entries and all("Kyle" not in json.dumps(e, default=str) for e in entries)
    assert {r["placeholder"] for e in entries for r in e["detail"]["replacements"]} >= {"[child]", "[school]"}
    reopened.close()


def test_replacing_after_codings_exist_shifts_their_offsets(stray):
    release(stray, LEAD_CLI, ["M05_Amy_followup"], override="coded before the check, for this test")
    assign(stray, LEAD_CLI, ["M05_Amy_followup"], ["priya"])
    priya = people(stray)["priya"]
    before = text_of(stray, "M05_Amy_followup")
    spans = {"whole": (before.index("My son"), before.index("rang me.") + 8),  # contains Kyle twice
             "after": (before.index("He's back at football"), before.index("on Saturdays.") + 13),
             "cut": (before.index("yle, he's nine"), before.index("he's nine") + 9)}  # starts inside "Kyle"
    ids = {name: add_coding(stray, priya, "M05_Amy_followup", "Changes noticed", a, b) for name, (a, b) in spans.items()}
    redact(stray, LEAD_CLI, [Replacement("M05_Amy_followup", before.index("Kyle"), before.index("Kyle") + 4,
                                         "[child]")])
    rows = {r.id: r for r in list_codings(stray, LEAD_CLI, transcript="M05_Amy_followup")}
    a, b = spans["whole"]
    assert rows[ids["whole"]].text == before[a:b].replace("Kyle", "[child]")
    a, b = spans["after"]
    assert rows[ids["after"]].text == before[a:b]
    assert rows[ids["cut"]].text == "[child], he's nine"
    with stray.session() as session:
        from workbench.store.models import Coding

        flags = {c.id: c.flag for c in session.query(Coding).filter(Coding.id.in_(ids.values()))}
    assert flags[ids["cut"]] and not flags[ids["whole"]] and not flags[ids["after"]]


def test_ignore_and_allow_remove_findings_and_need_reasons(stray):
    findings = scan_transcripts(stray, LEAD_CLI, ["M05_Amy_followup"])
    phone = next(f for f in findings if f.type == "phone")
    with pytest.raises(ValidationError, match="why"):
        ignore_finding(stray, LEAD_CLI, phone.transcript, phone.start, phone.end, phone.type, " ")
    ignore_finding(stray, LEAD_CLI, phone.transcript, phone.start, phone.end, phone.type, "the service's own line")
    allow_term(stray, LEAD_CLI, "Ashgrove Primary", "a fictional school in the brief")
    left = {f.text for f in scan_transcripts(stray, LEAD_CLI, ["M05_Amy_followup"])}
    assert "07700 900871" not in left and "Ashgrove Primary" not in left and "Kyle" in left


def test_a_conflicting_placeholder_for_the_same_name_is_refused(stray, tmp_path):
    key = load_private_key(tmp_path / "key.csv")
    kyle = next(f for f in scan_transcripts(stray, LEAD_CLI, ["M05_Amy_followup"], key) if f.text == "Kyle")
    redact(stray, LEAD_CLI, [Replacement(kyle.transcript, kyle.start, kyle.end, "[child]")], key, everywhere=False)
    later = load_private_key(tmp_path / "key.csv")  # another session, the same file
    again = next(f for f in scan_transcripts(stray, LEAD_CLI, ["M06_Dionne_followup"], later) if f.text == "Kyle")
    with pytest.raises(ValidationError, match="already replaced"):
        redact(stray, LEAD_CLI, [Replacement(again.transcript, again.start, again.end, "[son]")], later)
    assert "Kyle" in text_of(stray, "M06_Dionne_followup")  # nothing written


def test_a_correction_moves_codings_and_flags_the_one_it_cuts(sample_study):
    priya = people(sample_study)["priya"]
    rows = list_codings(sample_study, priya, transcript="M01_Amy", coder="priya")
    target = rows[len(rows) // 2]
    text = text_of(sample_study, "M01_Amy")
    at = target.start - 30
    word_end = at + len(text[at:].split(" ", 1)[0])
    done = correct_text(sample_study, LEAD_CLI, "M01_Amy", at, word_end, "CORRECTED", expected=text[at:word_end])
    after = {r.id: r for r in list_codings(sample_study, priya, transcript="M01_Amy", coder="priya")}
    shift = len("CORRECTED") - (word_end - at)
    assert after[target.id].start == target.start + shift and after[target.id].text == target.text
    assert all(after[r.id].text == r.text for r in rows if r.start >= word_end or r.end <= at)
    assert done.codings_moved >= 1
    with pytest.raises(ValidationError, match="not what you expected"):
        correct_text(sample_study, LEAD_CLI, "M01_Amy", at, word_end, "x", expected="something else")
    with pytest.raises(AccessDenied):
        correct_text(sample_study, priya, "M01_Amy", at, word_end, "x")


def test_withdrawing_a_participant_removes_them_everywhere_and_names_no_one(sample_study):
    before = {r.id: r for r in list_codings(sample_study, LEAD_CLI, transcript="FG01_Girls_Service5")}
    report = withdraw_participant(sample_study, LEAD_CLI, "Ellie")  # a girl in the focus group
    text = text_of(sample_study, "FG01_Girls_Service5")
    assert "Ellie:" not in text and "[participant withdrew]" in text
    assert report.turns_removed > 0 and report.transcripts_deleted == 0
    after = {r.id: r for r in list_codings(sample_study, LEAD_CLI, transcript="FG01_Girls_Service5")}
    assert len(after) == len(before) - report.codings_removed + 0
    assert all(after[i].text == before[i].text for i in after if "[participant withdrew]" not in after[i].text)
    leo = withdraw_participant(sample_study, LEAD_CLI, "Leo")  # a one-to-one interview: the transcript goes
    assert leo.transcripts_deleted == 1 and "C01_Leo" not in {r["transcript"] for r in review_status(sample_study)}
    entries = [e for e in audit_rows(sample_study, LEAD_CLI) if e["action"] == "participant.withdraw"]
    assert len(entries) == 2 and not any(n in json.dumps(e, default=str) for e in entries for n in ("Ellie", "Leo"))


def test_the_commands_print_the_documented_keys(stray, tmp_path):
    url = sample_url(stray)
    findings = json.loads(ok(url, "scan", "M05_Amy_followup", "--json").stdout)
    assert findings and set(findings[0]) == documented_keys("scan")
    data = json.loads(ok(url, "redact", "--replace", "Kyle=[child]", "--key", str(tmp_path / "k.csv"),
                         "--json").stdout)
    assert set(data) == documented_keys("redact") - {"transcript", "replacements", "codings_moved",
                                                      "codings_flagged"}
    assert {t["transcript"] for t in data["transcripts"]} == {"M05_Amy_followup", "M06_Dionne_followup"}
    assert set(data["transcripts"][0]) == {"transcript", "replacements", "codings_moved", "codings_flagged"}
    ok(url, "release", "M06_Dionne_followup")
    ok(url, "release", "M05_Amy_followup", "--override", "checked by hand")
    withdrawn = json.loads(ok(url, "withdraw", "Dionne", "--yes", "--json").stdout)
    assert set(withdrawn) == documented_keys("withdraw")


@pytest.mark.parametrize("corpus", ["development", "held-out"])
def test_recall_and_precision_meet_the_targets_on_the_evaluation_corpora(corpus):
    from anonymisation_eval import CORPORA, evaluate

    results = evaluate(CORPORA[corpus])
    for kind in ("name", "place", "school", "phone", "email", "postcode"):
        assert results[kind]["recall"] >= 0.95, (kind, results[kind])
    for kind, r in results.items():
        assert r["reported"] == 0 or r["precision"] >= 0.5, (kind, r)


def test_the_anonymisation_page_shows_findings_and_releases_with_a_reason(stray, monkeypatch):
    from tests.test_app import PAGE_SCRIPTS, new_app, sign_in

    at = sign_in(new_app(stray, monkeypatch), "morgan")
    at.switch_page(PAGE_SCRIPTS["anonymisation"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="anonymisation-transcript").value == "M05_Amy_followup"  # the first waiting
    shown = " ".join(m.value for m in at.markdown)  # the review: one row per distinct term
    for term in ("**Kyle**", "**Ashgrove Primary**", "**07700 900871**"):
        assert term in shown
    at.button(key="release").click().run()
    assert any("still has findings" in e.value for e in at.error)
    at.text_input(key="release-override-reason").input("read by the lead: fictional names")
    at.button(key="release-override").click().run()
    assert not at.exception and any("released" in t.value for t in at.toast)
    status = {r["transcript"]: r for r in review_status(stray)}
    assert status["M05_Amy_followup"]["released"] and status["M05_Amy_followup"]["note"].startswith("read by")
    coder = sign_in(new_app(stray, monkeypatch), "priya")
    with pytest.raises(ValueError):
        coder.switch_page(PAGE_SCRIPTS["anonymisation"])


def test_a_speaker_the_key_does_not_know_is_a_finding_label_and_all(sample_study):
    text = "Interviewer: Thanks for coming, Leanne.\nLeanne: That's alright.\nLeanne: Happy to help.\n"
    import_transcripts(sample_study, LEAD_CLI, [FileInput("M07_unknown.txt", text.encode())])
    findings = [f for f in scan_transcripts(sample_study, LEAD_CLI, ["M07_unknown"]) if f.text == "Leanne"]
    # the name in the talk, and the label once for the turn (the label repeated on the turn's
    # second line is not talk: it is not reported again, and the redaction below replaces it too)
    assert len(findings) == 2 and {f.rule for f in findings} >= {"speaker not in the participant key"}
    redact(sample_study, LEAD_CLI, [Replacement("M07_unknown", findings[0].start, findings[0].end, "[mother]")])
    view = transcript_view(sample_study, "M07_unknown")
    assert "Leanne" not in view.text and {t.speaker for t in view.turns} == {"Interviewer", "[mother]"}
    priya = people(sample_study)["priya"]
    from workbench.coding.memos import add_memo

    with pytest.raises(AccessDenied, match="not released"):
        add_memo(sample_study, priya, "a note", transcript="M07_unknown")
