"""Blind independent double coding, enforced in the data layer: a coder reaches another coder's
codings through no public function or command before the lead unblinds the transcript."""

import json

import pytest
from click.testing import CliRunner

from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.audit import audit_rows
from workbench.cli import cli
from workbench.codebook.study import CodeIndex, import_codebook, list_codes, propose_code
from workbench.coding.assignments import assign, list_assignments, reopen, submit, unassign, unblind
from workbench.coding.codings import (
    add_coding,
    coding_rows,
    delete_coding,
    import_codings,
    list_codings,
    update_coding,
    visible_codings,
)
from workbench.errors import NotFound, ValidationError
from workbench.privacy.anonymisation import release
from workbench.sample import UNBLINDED
from workbench.status import study_status
from workbench.transcripts.participants import import_participants
from workbench.transcripts.study import FileInput, import_transcripts
from workbench.users import add_user

OPEN = "S03_CO01"  # tom has not submitted it in the sample study


def blind(rows):
    """Codings on transcripts the sample study has not unblinded."""
    return [r for r in rows if r.transcript not in UNBLINDED]


def actors(study):
    with study.session() as session:
        return {name: actor_for(session, name) for name in ("morgan", "priya", "tom", "jo")}


@pytest.fixture
def people(sample_study):
    return actors(sample_study)


def test_coders_read_only_their_own_codings_before_unblinding(sample_study, people):
    priya, tom, jo, lead = people["priya"], people["tom"], people["jo"], people["morgan"]
    everything = list_codings(sample_study, lead)
    assert {r.coder for r in everything} == {"priya", "tom", "consensus"}
    assert {r.coder for r in blind(list_codings(sample_study, priya))} == {"priya"}
    assert {r.coder for r in list_codings(sample_study, tom, transcript="M01_Amy")} == {"tom"}
    with sample_study.session() as session:
        assert {r["coder"] for r in coding_rows(session, priya) if r["transcript"] not in UNBLINDED} == {"priya"}
        assert {r.coder for r in blind(visible_codings(session, tom))} == {"tom"}
    # a viewer reads only the consensus, which exists only where the lead unblinded and reconciled
    assert {(r.coder, r.transcript in UNBLINDED) for r in list_codings(sample_study, jo)} == {("consensus", True)}
    from workbench.coding.codings import own_coding_counts

    counts = own_coding_counts(sample_study, priya)
    own = [r for r in list_codings(sample_study, priya) if r.coder == "priya"]
    assert sum(counts.values()) == len(own) and own_coding_counts(sample_study, jo) == {}
    for reader, other in ((priya, "tom"), (tom, "priya"), (jo, "priya")):
        with pytest.raises(AccessDenied):
            list_codings(sample_study, reader, coder=other)
        with pytest.raises(AccessDenied):
            list_codings(sample_study, reader, transcript="M01_Amy", coder=other)
    assert set(study_status(sample_study, priya)["codings"]) == {"priya"}
    # a colleague's proposed code is not even counted
    assert study_status(sample_study, priya)["codes"] == study_status(sample_study, lead)["codes"] - 1
    assert study_status(sample_study, jo)["codings"] == {}
    assert {a.coder for a in list_assignments(sample_study, priya)} == {"priya"}
    assert list_assignments(sample_study, jo) == []
    with pytest.raises(AccessDenied):
        audit_rows(sample_study, priya)


def test_proposed_codes_are_seen_by_their_author_and_leads_only(sample_study, people):
    priya, tom, lead = people["priya"], people["tom"], people["morgan"]
    tom_proposal = next(c["path"] for c in list_codes(sample_study, lead) if c["proposed_by"] == "tom")
    assert tom_proposal not in {c["path"] for c in list_codes(sample_study, priya)}
    assert tom_proposal in {c["path"] for c in list_codes(sample_study, tom)}
    with sample_study.session() as session, pytest.raises(NotFound):
        CodeIndex(session, priya).resolve(tom_proposal)
    path = propose_code(sample_study, tom, "Grandparents", "Support below the threshold", "Wider family.")
    coding = add_coding(sample_study, tom, OPEN, path, 0, 10)  # usable at once by its author
    assert coding and path not in {c["path"] for c in list_codes(sample_study, priya)}


def test_unblinding_opens_one_transcript_to_the_other_coder(sample_study, people):
    priya, lead = people["priya"], people["morgan"]
    with pytest.raises(ValidationError, match="waiting for tom to submit"):
        unblind(sample_study, lead, OPEN)
    with pytest.raises(AccessDenied):
        unblind(sample_study, priya, "M01_Amy")
    unblind(sample_study, lead, "M01_Amy")
    amy = list_codings(sample_study, priya, transcript="M01_Amy")
    assert {r.coder for r in amy} == {"priya", "tom"}
    assert {r.coder for r in list_codings(sample_study, priya, transcript="M01_Amy", coder="tom")} == {"tom"}
    assert {r.coder for r in list_codings(sample_study, priya, transcript="M02_Bethan")} == {"priya"}
    with pytest.raises(AccessDenied):  # still blind elsewhere
        list_codings(sample_study, priya, coder="tom")
    unblind(sample_study, lead, OPEN, force=True)
    assert any(e["action"] == "transcript.unblind" and e["detail"]["forced"] for e in audit_rows(sample_study, lead))


def test_coding_rules_assignment_submission_and_rounds(sample_study, people):
    priya, tom, jo, lead = people["priya"], people["tom"], people["jo"], people["morgan"]
    code = "Endings and ongoing risk/The 12-week limit"
    new = add_coding(sample_study, tom, OPEN, code, 100, 180, memo="first pass")
    update_coding(sample_study, tom, new, start=90, memo="widened")
    (row,) = [r for r in list_codings(sample_study, tom, transcript=OPEN) if r.id == new]
    assert (row.start, row.end, row.memo, row.round) == (90, 180, "widened", 1)
    with pytest.raises(ValidationError, match="already applied"):
        add_coding(sample_study, tom, OPEN, code, 90, 180)
    with pytest.raises(NotFound):  # another coder's coding is not yours to change
        delete_coding(sample_study, priya, new)
    with pytest.raises(AccessDenied, match="submitted"):
        add_coding(sample_study, priya, OPEN, code, 0, 5)
    with pytest.raises(AccessDenied):
        add_coding(sample_study, jo, OPEN, code, 0, 5)
    with pytest.raises(ValidationError, match="outside"):
        add_coding(sample_study, tom, OPEN, code, 5, 10**7)
    submit(sample_study, tom, OPEN)
    with pytest.raises(AccessDenied, match="frozen"):
        update_coding(sample_study, tom, new, memo="late change")
    with pytest.raises(AccessDenied):
        reopen(sample_study, tom, OPEN, "tom")
    unblind(sample_study, lead, OPEN)
    reopen(sample_study, lead, OPEN, "tom")
    with pytest.raises(AccessDenied, match="made blind"):
        delete_coding(sample_study, tom, new)
    later = add_coding(sample_study, tom, OPEN, code, 300, 350)
    assert [r.round for r in list_codings(sample_study, tom, transcript=OPEN) if r.id == later] == [2]
    delete_coding(sample_study, tom, later)
    actions = [e["action"] for e in audit_rows(sample_study, lead, limit=20)]
    for action in ("coding.add", "coding.change", "coding.delete", "assignment.submit",
                   "transcript.unblind", "assignment.reopen"):
        assert action in actions


def test_unassigned_transcripts_cannot_be_coded(study):
    import_participants(study, LEAD_CLI, b"pseudonym\nAmy\n")
    import_codebook(study, LEAD_CLI, b"path\nTrust\n", "c.csv")
    import_transcripts(study, LEAD_CLI, [FileInput("a.txt", b"Interviewer: Hi.\nAmy: Hello there.\n")])
    release(study, LEAD_CLI, ["a"])
    add_user(study, LEAD_CLI, "priya", "coder")
    priya = actors_one(study, "priya")
    with pytest.raises(AccessDenied, match="not assigned"):
        add_coding(study, priya, "a", "Trust", 17, 29)
    assign(study, LEAD_CLI, ["a"], ["priya"])
    assert add_coding(study, priya, "a", "Trust", 17, 29)
    unassign(study, LEAD_CLI, "a", "priya")
    with pytest.raises(AccessDenied, match="not assigned"):
        add_coding(study, priya, "a", "Trust", 17, 30)


def actors_one(study, name):
    with study.session() as session:
        return actor_for(session, name)


def test_a_coder_imports_only_their_own_codings(sample_study, people):
    own = f"transcript,coder,code,start,end\n{OPEN},tom,Trust, confidentiality and reliability,0,12\n"
    own = own.replace("Trust, confidentiality and reliability", '"Trust, confidentiality and reliability"')
    assert import_codings(sample_study, people["tom"], own.encode(), "own.csv").added == 1
    other = own.replace(",tom,", ",priya,")
    with pytest.raises(AccessDenied, match="only their own"):
        import_codings(sample_study, people["tom"], other.encode(), "other.csv")
    with pytest.raises(AccessDenied, match="submitted"):
        import_codings(sample_study, people["priya"], other.encode(), "other.csv")


@pytest.mark.parametrize("who", ["priya", "jo"])
def test_no_command_shows_another_coders_codings_before_unblinding(sample_study, who):
    url = sample_study.engine.url.render_as_string(hide_password=False)

    def run(*args):
        return CliRunner().invoke(cli, ["--db", url, "--as", who, *args])

    listed = json.loads(run("codings", "list", "--json").stdout)
    assert {r["coder"] for r in listed if r["transcript"] not in UNBLINDED} <= {who}
    assert {r["coder"] for r in listed if r["transcript"] in UNBLINDED} == (
        {"consensus"} if who == "jo" else {"consensus", "priya", "tom"})
    assert json.loads(run("codings", "list", "--transcript", "M01_Amy", "--json").stdout) == [
        r for r in listed if r["transcript"] == "M01_Amy"]
    status = json.loads(run("status", "--json").stdout)
    assert set(status["codings"]) <= {who}
    assignments = json.loads(run("assignments", "list", "--json").stdout)
    assert {a["coder"] for a in assignments} <= {who}
    for args in (("codings", "list", "--coder", "tom"), ("audit",), ("backup",), ("unblind", "M01_Amy"),
                 ("assign", OPEN, "--coders", who), ("reopen", "M01_Amy", "--coder", "tom"),
                 ("participants", "import", "x.csv"), ("import", "x.txt")):
        result = run(*args)
        assert result.exit_code == 1, args
        assert "tom" not in result.stdout
    lead = json.loads(CliRunner().invoke(cli, ["--db", url, "codings", "list", "--json"]).stdout)
    assert {r["coder"] for r in lead} == {"priya", "tom", "consensus"}
    unknown = CliRunner().invoke(cli, ["--db", url, "--as", "nobody", "codings", "list"])
    assert unknown.exit_code == 1 and "no user named 'nobody'" in unknown.stderr
