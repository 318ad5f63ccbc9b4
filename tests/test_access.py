"""The access policy on its own: the promises it keeps, and that nothing else decides by role."""

import ast
import re
from pathlib import Path

import pytest

from workbench.access import (
    PAGES,
    POLICY,
    ROLES,
    AccessDenied,
    Actor,
    allowed,
    home_page,
    refusal,
    require,
    visible_pages,
)
from workbench.store.models import Transcript

ROOT = Path(__file__).resolve().parents[1]
LEAD, CODER, VIEWER = Actor("morgan", "lead", 1), Actor("priya", "coder", 2), Actor("jo", "viewer", 3)

# The product's promises, written independently of the table: blindness, release, the lead's work.
NEVER_FOR_CODERS = ("read_all_codings", "read_unreleased", "read_all_memos", "read_others_proposals", "unblind",
                    "reconcile", "compute_agreement", "edit_codebook", "assign", "release", "review_anonymisation",
                    "manage_accounts", "manage_transcripts", "manage_participants", "read_audit", "backup",
                    "act_for_other_coders", "seed_with_consensus", "exchange_projects", "write_summaries")
NEVER_FOR_VIEWERS = NEVER_FOR_CODERS + ("code_transcript", "propose_code", "write_memo", "suggest", "analyse")


@pytest.mark.parametrize("action", NEVER_FOR_CODERS)
def test_a_coder_may_not(action):
    assert not allowed(CODER, action)
    with pytest.raises(AccessDenied, match="only a lead can"):
        require(CODER, action)


@pytest.mark.parametrize("action", NEVER_FOR_VIEWERS)
def test_a_viewer_may_not(action):
    assert not allowed(VIEWER, action)


def test_a_lead_may_do_everything_and_nobody_else_is_anyone():
    assert all(allowed(LEAD, action) for action in POLICY)
    for nobody in (None, Actor("consensus", "consensus", 4), Actor("x", "admin")):
        assert not any(allowed(nobody, action) for action in POLICY)


def test_every_signed_in_role_may_read_and_export():
    for actor in (LEAD, CODER, VIEWER):
        assert all(allowed(actor, a) for a in ("read_study", "read_transcript", "read_codings", "search", "export"))


def test_the_table_is_well_formed():
    for action, rule in POLICY.items():
        assert re.fullmatch(r"[a-z_]+(:[a-z]+)?", action), action
        assert rule.roles and rule.roles <= set(ROLES) and rule.does.strip(), action
    scripts = {p.stem for p in (ROOT / "workbench/ui/pages").glob("*.py")}
    assert set(PAGES) == scripts == {a.split(":")[1] for a in POLICY if a.startswith("see_page:")}


def test_unknown_actions_are_a_programming_error_not_a_refusal():
    with pytest.raises(KeyError, match="no action 'fly'"):
        allowed(LEAD, "fly")


def test_an_unreleased_transcript_is_refused_to_everyone_but_a_lead():
    waiting, released = Transcript(title="M09_Kim"), Transcript(title="M01_Amy")
    released.reviewed_at = object()  # any value: released
    assert allowed(LEAD, "read_transcript", waiting)
    for actor in (CODER, VIEWER):
        assert "not released yet" in refusal(actor, "read_transcript", waiting)
        assert allowed(actor, "read_transcript", released)
    assert "only a lead or a coder can code" in refusal(VIEWER, "code_transcript", released)


def test_pages_and_landing_page_follow_the_table():
    assert visible_pages(LEAD) == list(PAGES)
    assert home_page(CODER) == "code" and home_page(LEAD) == home_page(VIEWER) == "overview"
    for actor in (CODER, VIEWER):
        assert "audit" not in visible_pages(actor) and "overview" in visible_pages(actor)
        assert home_page(actor) in visible_pages(actor)


# --- nothing else decides by role ------------------------------------------------------------

def _sources(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")
            if "migrations" not in p.parts] if folders else []


FACES_AND_CORE = _sources("workbench") + [ROOT / "app.py"]
ROLE_NAMES = set(ROLES)  # "consensus" is also a seed's name: the pseudo-user is checked by is_consensus
ACCOUNT_ROLE = re.compile(r"\brole\s*(==|!=)|\.role\s+(not\s+)?in\b|\bis_lead\b|require_lead|require_role")


def test_the_policy_is_the_only_place_a_role_is_compared():
    offenders = []
    for source in FACES_AND_CORE:
        if source.name == "access.py":
            continue
        text = source.read_text()
        offenders += [f"{source.relative_to(ROOT)}: {line.strip()}" for line in text.splitlines()
                      if ACCOUNT_ROLE.search(line) and "person.role" not in line]
        for node in ast.walk(ast.parse(text)):  # comparisons with a role's name in any spelling
            if isinstance(node, ast.Compare):
                values = [node.left, *node.comparators]
                literals = {v.value for v in values if isinstance(v, ast.Constant)}
                literals |= {e.value for v in values if isinstance(v, (ast.Tuple, ast.List, ast.Set))
                             for e in v.elts if isinstance(e, ast.Constant)}
                if literals & ROLE_NAMES:
                    offenders.append(f"{source.relative_to(ROOT)}:{node.lineno} compares with {literals & ROLE_NAMES}")
    assert offenders == []


def test_the_faces_write_no_queries():
    """The store owns engines and models, domain modules write queries, the faces write none."""
    faces = _sources("workbench/ui") + [ROOT / "workbench/cli.py", ROOT / "app.py"]
    offenders = []
    for source in faces:
        for node in ast.walk(ast.parse(source.read_text())):
            where = f"{source.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "select":
                offenders.append(f"{where} select(...)")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "session":
                offenders.append(f"{where} session.{node.attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy") \
                    and node.module != "sqlalchemy.exc":
                offenders.append(f"{where} imports {node.module}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith("store.models") \
                    and any(a.name[0].isupper() and a.name.upper() != a.name for a in node.names):
                offenders.append(f"{where} imports models from {node.module}")
    assert offenders == []


def test_no_domain_function_defaults_its_actor():
    offenders = []
    for source in _sources("workbench"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.FunctionDef):
                arguments = node.args.args + node.args.kwonlyargs
                defaults = dict(zip([a.arg for a in node.args.args][::-1], node.args.defaults[::-1]))
                defaults |= {a.arg: d for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None}
                if any(a.arg == "actor" and a.arg in defaults and not (
                        isinstance(defaults["actor"], ast.Constant) and defaults["actor"].value is None)
                       for a in arguments):
                    offenders.append(f"{source.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert offenders == []


# --- every face, as every role, against the table ---------------------------------------------

def _leaf_commands(group, path=()):
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, path + (name,))
        else:
            yield path + (name,), command


def test_every_cli_command_names_an_action_of_the_policy():
    from workbench.cli import PolicyCommand, cli

    commands = dict(_leaf_commands(cli))
    assert len(commands) > 60
    for path, command in commands.items():
        assert isinstance(command, PolicyCommand) and command.action in POLICY, path


@pytest.mark.parametrize("name", ["morgan", "priya", "jo"])
def test_every_cli_command_as_every_role_is_allowed_exactly_as_the_table_says(sample_study, name):
    """The walk stops every command at its arguments (an option no command has), so nothing runs:
    a refused command says why (exit 1), an allowed one complains about the option (exit 2)."""
    from click.testing import CliRunner

    from workbench.access import actor_for
    from workbench.cli import cli

    url = sample_study.engine.url.render_as_string(hide_password=False)
    with sample_study.session() as session:
        actor = actor_for(session, name)
    runner = CliRunner()
    for path, command in _leaf_commands(cli):
        result = runner.invoke(cli, ["--db", url, "--as", name, *path, "--no-such-option-for-this-walk"])
        if allowed(actor, command.action):
            assert result.exit_code == 2 and "No such option" in result.output, (path, result.output)
        else:
            assert result.exit_code == 1, (path, result.output)
            assert result.stderr.startswith("error: only a lead") and "\n" == result.stderr[-1], (path, result.stderr)
