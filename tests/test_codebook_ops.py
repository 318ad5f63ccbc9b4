"""Codebook operations on the populated sample study: codings follow, nothing is lost or
duplicated, history is recorded, and each operation is undone by its inverse where one exists."""

import json
from collections import Counter

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from tests.test_cli import documented_keys, ok, sample_url
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.audit import audit_rows
from workbench.cli import cli
from workbench.codebook.ops import (
    accept_proposal,
    draft_frames,
    merge_codes,
    move_code,
    reject_proposal,
    retire_code,
    split_code,
    split_suggestions,
)
from workbench.codebook.spec import MAX_DEPTH
from workbench.codebook.study import CodeIndex, edit_code, export_codebook, import_codebook, list_codes, propose_code
from workbench.codebook.versions import create_version, diff_versions, export_version, list_versions
from workbench.coding.codings import add_coding, list_codings
from workbench.coding.memos import add_memo, list_memos
from workbench.errors import ValidationError
from workbench.store.models import Code, Coding
from workbench.users import add_user

TRUST = "Trust, confidentiality and reliability"
RELIABLE = f"{TRUST}/Reliability and being rung back"
BELIEVED = f"{TRUST}/Being believed and listened to"
ENDINGS = "Endings and ongoing risk"
IN_PROGRESS = "S03_CO01"  # tom may still code it in the sample study


def lead(study):
    with study.session() as session:
        return actor_for(session, "morgan")


def tom(study):
    with study.session() as session:
        return actor_for(session, "tom")


def snapshot(study):
    """Every coding as (coder, transcript, start, end, code path)."""
    return Counter((r.coder, r.transcript, r.start, r.end, r.code) for r in list_codings(study, LEAD_CLI))


def by_code(study, path):
    return Counter((c, t, s, e) for (c, t, s, e, p), n in snapshot(study).items() for _ in range(n) if p == path)


def paths(study):
    return {c["path"] for c in list_codes(study, LEAD_CLI)}


def actions(study, name):
    return [e for e in audit_rows(study, LEAD_CLI) if e["action"] == name]


def test_move_carries_sub_codes_and_codings_and_moving_back_restores_everything(sample_study):
    before = snapshot(sample_study)
    reliable = by_code(sample_study, RELIABLE)
    assert move_code(sample_study, LEAD_CLI, TRUST, ENDINGS) == f"{ENDINGS}/{TRUST}"
    moved = f"{ENDINGS}/{RELIABLE}"
    assert by_code(sample_study, moved) == reliable and moved in paths(sample_study)
    assert sum(snapshot(sample_study).values()) == sum(before.values())
    move_code(sample_study, LEAD_CLI, f"{ENDINGS}/{TRUST}", None)
    assert snapshot(sample_study) == before
    assert [e["detail"]["to"] for e in actions(sample_study, "code.move")] == [TRUST, f"{ENDINGS}/{TRUST}"]


def test_move_refuses_cycles_and_name_clashes_and_writes_nothing(sample_study):
    before = paths(sample_study)
    with pytest.raises(ValidationError, match="under itself"):
        move_code(sample_study, LEAD_CLI, TRUST, RELIABLE)
    edit_code(sample_study, LEAD_CLI, _guid(sample_study, BELIEVED), name="Waiting for support")
    with pytest.raises(ValidationError, match="already exists"):
        move_code(sample_study, LEAD_CLI, "Support below the threshold/Waiting for support", TRUST)
    assert paths(sample_study) - {f"{TRUST}/Waiting for support"} == before - {BELIEVED}


def _guid(study, path):
    with study.session() as session:
        return CodeIndex(session).resolve(path).guid


def test_merge_repoints_codings_removes_duplicates_and_keeps_the_merged_code_for_history(sample_study):
    before = snapshot(sample_study)
    source, target = by_code(sample_study, BELIEVED), by_code(sample_study, RELIABLE)
    overlap = sum((source & target).values())
    # make sure there is at least one duplicate: priya codes a Reliability passage as Being believed too
    if not overlap:
        row = next(r for r in list_codings(sample_study, LEAD_CLI, coder="tom") if r.code == RELIABLE
                   and r.transcript not in ("S01_KW01", "S02_KW02", "S03_CO01", "S04_SM01"))
        from workbench.coding.assignments import reopen
        reopen(sample_study, LEAD_CLI, row.transcript, "tom")
        add_coding(sample_study, tom(sample_study), row.transcript, BELIEVED, row.start, row.end)
        before, source = snapshot(sample_study), by_code(sample_study, BELIEVED)
        overlap = sum((source & target).values())
    assert overlap >= 1
    memo = add_memo(sample_study, lead(sample_study), "Is believing about trust or reliability?", code=BELIEVED)
    report = merge_codes(sample_study, LEAD_CLI, [BELIEVED], RELIABLE)
    assert report.duplicates_removed == overlap and report.repointed == sum(source.values()) - overlap
    after = snapshot(sample_study)
    assert sum(after.values()) == sum(before.values()) - overlap
    assert by_code(sample_study, RELIABLE) == target | source  # union: each span once per coder
    assert not by_code(sample_study, BELIEVED)
    merged = next(c for c in list_codes(sample_study, LEAD_CLI) if c["path"] == BELIEVED)
    assert merged["retired"]
    assert BELIEVED.split("/")[-1] not in export_codebook(sample_study, "yaml").decode()
    assert next(m for m in list_memos(sample_study, LEAD_CLI) if m.id == memo).code == RELIABLE
    entry = actions(sample_study, "code.merge")[0]["detail"]
    assert entry["codes"] == [BELIEVED] and entry["into"] == RELIABLE and entry["duplicates_removed"] == overlap
    with pytest.raises(ValidationError, match="retired"):
        add_coding(sample_study, tom(sample_study), IN_PROGRESS, BELIEVED, 0, 5)


def test_merge_moves_sub_codes_and_refuses_merging_into_a_descendant(sample_study):
    children = {p for p in paths(sample_study) if p.startswith(f"{ENDINGS}/")}
    with pytest.raises(ValidationError, match="its own sub-code"):
        merge_codes(sample_study, LEAD_CLI, [ENDINGS], f"{ENDINGS}/The 12-week limit")
    assert children <= paths(sample_study)
    report = merge_codes(sample_study, LEAD_CLI, [ENDINGS], TRUST)
    assert report.children_moved == len([p for p in children if p.count("/") == 1])
    assert {f"{TRUST}/{p.split('/', 1)[1]}" for p in children} <= paths(sample_study)


def test_split_sends_each_coding_to_its_new_code_and_merging_back_undoes_it(sample_study):
    before = snapshot(sample_study)
    original = by_code(sample_study, RELIABLE)
    into = {"Being rung back": "Workers ring back when they say they will, or do not.",
            "Consistency of worker": "Seeing the same worker; cover staff; being passed around."}
    suggested = split_suggestions(sample_study, LEAD_CLI, RELIABLE, into)
    with sample_study.session() as session:
        ids = set(session.scalars(select(Coding.id).join(Code).where(Code.guid == _guid(sample_study, RELIABLE))))
    assert set(suggested) == ids and set(suggested.values()) <= set(into)
    partial = dict(list(suggested.items())[:-1])
    with pytest.raises(ValidationError, match="not assigned"):
        split_code(sample_study, LEAD_CLI, RELIABLE, into, partial)
    assert snapshot(sample_study) == before  # nothing written
    new_paths = split_code(sample_study, LEAD_CLI, RELIABLE, into, suggested)
    assert new_paths == [f"{TRUST}/{name}" for name in into]
    moved = Counter()
    for path in new_paths:
        moved += by_code(sample_study, path)
    assert moved == original and not by_code(sample_study, RELIABLE)
    counts = actions(sample_study, "code.split")[0]["detail"]["codings"]
    assert sum(counts.values()) == sum(original.values())
    retire_code(sample_study, LEAD_CLI, RELIABLE, retired=False)
    merge_codes(sample_study, LEAD_CLI, new_paths, RELIABLE)
    assert snapshot(sample_study) == before


def test_retire_and_bring_back(sample_study):
    with pytest.raises(ValidationError, match="current sub-codes"):
        retire_code(sample_study, LEAD_CLI, TRUST)
    before = snapshot(sample_study)
    retire_code(sample_study, LEAD_CLI, RELIABLE)
    assert snapshot(sample_study) == before  # codings kept for history
    with pytest.raises(ValidationError, match="retired"):
        add_coding(sample_study, tom(sample_study), IN_PROGRESS, RELIABLE, 0, 5)
    retire_code(sample_study, LEAD_CLI, RELIABLE, retired=False)
    assert not next(c for c in list_codes(sample_study, LEAD_CLI) if c["path"] == RELIABLE)["retired"]
    assert [e["action"] for e in audit_rows(sample_study, LEAD_CLI)][:2] == ["code.unretire", "code.retire"]


def test_rename_and_rename_back(sample_study):
    before = snapshot(sample_study)
    guid = _guid(sample_study, RELIABLE)
    edit_code(sample_study, LEAD_CLI, guid, name="Being rung back")
    assert not by_code(sample_study, RELIABLE)
    assert sum(by_code(sample_study, f"{TRUST}/Being rung back").values()) == sum(
        n for k, n in before.items() if k[4] == RELIABLE)
    edit_code(sample_study, LEAD_CLI, guid, name="Reliability and being rung back")
    assert snapshot(sample_study) == before


def test_draft_frames_accept_map_and_reject(sample_study):
    frames = draft_frames(sample_study, LEAD_CLI)
    proposals = {row["proposed_by"]: row for row in frames["proposed"]}
    assert set(proposals) == {"priya", "tom"}
    assert all(len(row["codings"]) == 1 for row in frames["single_coder"])
    assert "consensus" not in {c for row in frames["single_coder"] for c in row["codings"]}
    priya_path, tom_path = proposals["priya"]["path"], proposals["tom"]["path"]
    priya_codings = by_code(sample_study, priya_path)
    accepted = accept_proposal(sample_study, LEAD_CLI, priya_path, None)
    assert accepted == priya_path.split("/")[-1] and by_code(sample_study, accepted) == priya_codings
    assert accepted in {c["path"] for c in list_codes(sample_study, tom(sample_study))}  # no longer priya's alone
    tom_codings = by_code(sample_study, tom_path)
    merge_codes(sample_study, LEAD_CLI, [tom_path], ENDINGS)  # "map to an existing code"
    assert tom_codings <= by_code(sample_study, ENDINGS)
    assert draft_frames(sample_study, LEAD_CLI)["proposed"] == []
    with pytest.raises(ValidationError, match="not a proposed code"):
        reject_proposal(sample_study, LEAD_CLI, accepted)
    with sample_study.session() as session:
        priya = actor_for(session, "priya")
    with pytest.raises(AccessDenied):
        accept_proposal(sample_study, priya, tom_path)


def test_rejecting_a_proposal_keeps_its_codings_out_of_the_codebook(sample_study):
    tom_path = next(r["path"] for r in draft_frames(sample_study, LEAD_CLI)["proposed"] if r["proposed_by"] == "tom")
    kept = by_code(sample_study, tom_path)
    reject_proposal(sample_study, LEAD_CLI, tom_path)
    assert by_code(sample_study, tom_path) == kept and kept
    assert tom_path.split("/")[-1] not in export_codebook(sample_study, "yaml").decode()


def test_versions_changelog_and_export(sample_study):
    assert [v["name"] for v in list_versions(sample_study)] == ["Initial codebook"]
    move_code(sample_study, LEAD_CLI, "Waiting for support", ENDINGS)
    edit_code(sample_study, LEAD_CLI, _guid(sample_study, RELIABLE), name="Being rung back",
              definition="Workers ring back when they say they will.")
    merge_codes(sample_study, LEAD_CLI, [BELIEVED], f"{TRUST}/Being rung back")
    retire_code(sample_study, LEAD_CLI, "Mixing ages in groups")
    accept_proposal(sample_study, LEAD_CLI, "Texting and informal contact")
    create_version(sample_study, LEAD_CLI, "after round 1", "S01 reconciled")
    with pytest.raises(ValidationError, match="already named"):
        create_version(sample_study, LEAD_CLI, "after round 1")
    changes = {(c.kind, c.path.split("/")[-1]) for c in diff_versions(sample_study, "Initial codebook", "after round 1")}
    assert changes == {("moved", "Waiting for support"), ("renamed", "Being rung back"), ("edited", "Being rung back"),
                       ("merged", "Being believed and listened to"), ("retired", "Mixing ages in groups"),
                       ("added", "Texting and informal contact")}
    assert diff_versions(sample_study, "after round 1", "current") == []
    lines = [c.line() for c in diff_versions(sample_study, "Initial codebook", "after round 1")]
    assert "Renamed: ‘Reliability and being rung back’ → ‘Being rung back’" in lines
    old = yaml.safe_load(export_version(sample_study, "Initial codebook", "yaml"))
    names = {c["name"] for theme in old for c in [theme, *theme.get("children", [])]}
    assert "Reliability and being rung back" in names and "Texting and informal contact" not in names
    assert export_version(sample_study, "after round 1", "yaml") == export_codebook(sample_study, "yaml")


def test_codebook_commands_print_the_documented_keys_and_act(sample_study):
    url = sample_url(sample_study)
    drafts = json.loads(ok(url, "codebook", "drafts", "--json").stdout)
    assert set(drafts) == {"proposed", "single_coder"}
    assert set(drafts["proposed"][0]) == documented_keys("codebook drafts") - {"coder"}
    assert set(drafts["single_coder"][0]) == documented_keys("codebook drafts") - {"proposed_by"}
    merged = json.loads(ok(url, "codebook", "merge", BELIEVED, "--into", RELIABLE, "--json").stdout)
    assert set(merged) == documented_keys("codebook merge")
    ok(url, "codebook", "move", RELIABLE, "--top")
    ok(url, "codebook", "rename", "Reliability and being rung back", "Reliability")
    ok(url, "codebook", "snapshot", "v2")
    versions = json.loads(ok(url, "codebook", "versions", "--json").stdout)
    assert set(versions[0]) == documented_keys("codebook versions") and len(versions) == 2
    diff = json.loads(ok(url, "codebook", "diff", "Initial codebook", "v2", "--json").stdout)
    assert set(diff[0]) == documented_keys("codebook diff")
    assert {d["kind"] for d in diff} == {"merged", "moved", "renamed"}
    ok(url, "codebook", "retire", "Reliability")
    ok(url, "codebook", "retire", "Reliability", "--undo")
    for args in (("codebook", "move", "Reliability"), ("codebook", "diff", "nope"),
                 ("--as", "priya", "codebook", "merge", "Reliability", "--into", TRUST)):
        result = CliRunner().invoke(cli, ["--db", url, *args])
        assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, args


def test_split_from_the_command_line_with_an_assignment_file(sample_study, tmp_path):
    url = sample_url(sample_study)
    suggested = ok(url, "codebook", "split", RELIABLE, "--into", "Rung back", "--into", "Same worker", "--suggest").stdout
    assert suggested.startswith("coding,code")
    rows = suggested.strip().splitlines()[1:]
    plan = tmp_path / "plan.csv"
    plan.write_text("coding,code\n" + "\n".join(f"{r.split(',')[0]},Same worker" for r in rows) + "\n")
    before = sum(by_code(sample_study, RELIABLE).values())
    ok(url, "codebook", "split", RELIABLE, "--into", "Rung back", "--into", "Same worker", "--assign", str(plan))
    assert sum(by_code(sample_study, f"{TRUST}/Same worker").values()) == before


# --- the depth limit files are held to holds for operations too ------------------------------

def _chain(study, names: list[str], parent: str | None = None) -> list[str]:
    """Codes each under the one before (under `parent`); their paths."""
    out = []
    for name in names:
        parent = propose_code(study, LEAD_CLI, name, parent)
        out.append(parent)
    return out


@pytest.fixture
def deep(study):
    """L1/L2/.../L20 (the limit) and two top-level trees: one code, and a code with a sub-code."""
    levels = _chain(study, [f"L{k}" for k in range(1, MAX_DEPTH + 1)])
    _chain(study, ["Leaf"])
    _chain(study, ["Pair", "Inner"])
    return study, levels


@pytest.mark.parametrize("code, depth, allowed", [
    ("Leaf", MAX_DEPTH - 1, True),   # the leaf lands at the limit
    ("Leaf", MAX_DEPTH, False),
    ("Pair", MAX_DEPTH - 2, True),   # its sub-code lands at the limit
    ("Pair", MAX_DEPTH - 1, False),
    ("Pair", MAX_DEPTH, False),
])
def test_move_refuses_to_nest_codes_past_the_depth_limit_and_writes_nothing(deep, code, depth, allowed):
    study, levels = deep
    parent = levels[depth - 1]
    if allowed:
        assert move_code(study, LEAD_CLI, code, parent) == f"{parent}/{code}"
        assert max(p.count("/") + 1 for p in paths(study)) == MAX_DEPTH
        return
    before = paths(study)
    with pytest.raises(ValidationError, match=rf"^'{code}' under 'L{depth}' would nest codes "
                                              rf"{depth + (2 if code == 'Pair' else 1)} levels deep; "
                                              rf"the code tree has at most {MAX_DEPTH} levels$") as refused:
        move_code(study, LEAD_CLI, code, parent)
    assert "\n" not in str(refused.value)
    assert paths(study) == before and not actions(study, "code.move")


def test_a_deep_subtree_may_move_up_and_the_result_imports_again(deep):
    study, levels = deep
    assert move_code(study, LEAD_CLI, levels[1], None) == "L2"  # L2..L20: 19 levels, at the top
    deepest = levels[-1].removeprefix("L1/")
    assert move_code(study, LEAD_CLI, "Leaf", deepest) == f"{deepest}/Leaf"  # back at the limit
    report = import_codebook(study, LEAD_CLI, export_codebook(study, "yaml"), "codebook.yaml")
    assert report.added == 0


def test_merge_refuses_to_move_sub_codes_past_the_depth_limit_and_writes_nothing(deep):
    study, levels = deep
    before = paths(study)
    with pytest.raises(ValidationError, match=f"'Inner' under 'L{MAX_DEPTH}' would nest codes {MAX_DEPTH + 1} "
                                              "levels deep"):
        merge_codes(study, LEAD_CLI, ["Pair"], levels[-1])
    assert paths(study) == before
    assert not next(c for c in list_codes(study, LEAD_CLI) if c["path"] == "Pair")["retired"]
    merge_codes(study, LEAD_CLI, ["Pair"], levels[-2])  # Inner lands at the limit
    assert f"{levels[-2]}/Inner" in paths(study)


def test_accepting_or_adding_a_code_past_the_depth_limit_is_refused(deep):
    study, levels = deep
    add_user(study, LEAD_CLI, "priya", "coder")
    with study.session() as session:
        priya = actor_for(session, "priya")
    proposed = propose_code(study, priya, "Idea")
    with pytest.raises(ValidationError, match=f"'Idea' under 'L{MAX_DEPTH}' would nest codes {MAX_DEPTH + 1}"):
        accept_proposal(study, LEAD_CLI, proposed, levels[-1])
    assert accept_proposal(study, LEAD_CLI, proposed, levels[-2]) == f"{levels[-2]}/Idea"
    with pytest.raises(ValidationError, match=f"at most {MAX_DEPTH} levels"):
        propose_code(study, LEAD_CLI, "Too deep", levels[-1])
