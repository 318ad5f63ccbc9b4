"""The `workbench` command end to end: real files, real databases, real processes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.sample import CODEBOOK, PARTICIPANT_KEY, sample_files

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def run(url, *args, input=None):
    result = CliRunner().invoke(cli, ["--db", url, *args], input=input, catch_exceptions=False)
    return result


def ok(url, *args, input=None):
    result = run(url, *args, input=input)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def sample_url(sample_study):
    return sample_study.engine.url.render_as_string(hide_password=False)


def command_paths(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_is_in_help_and_documented():
    help_text = CliRunner().invoke(cli, ["--help"]).output
    for path in command_paths(cli):
        assert path[0] in help_text
        assert f"`workbench {' '.join(path)}" in DOCS, f"docs/cli.md lacks workbench {' '.join(path)}"


def documented_keys(command: str) -> set[str]:
    """Backticked names at the head of each bullet in the first bullet list of the section."""
    section = DOCS.split(f"### `{command} --json`", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    keys, started = set(), False
    for line in section.splitlines():
        if not line.startswith("- "):
            if started and line.strip():
                break
            continue
        started = True
        line = re.sub(r"\([^)]*\)", "", line[2:])
        for part in line.split(";"):
            keys.update(re.findall(r"`([a-z_]+)`", part.split(":", 1)[0]))
    return keys


def test_every_json_output_has_exactly_the_documented_keys(sample_study, tmp_path):
    url = sample_url(sample_study)
    listing = {
        "status": ["status"],
        "transcripts list": ["transcripts", "list"],
        "participants list": ["participants", "list"],
        "codebook list": ["codebook", "list"],
        "users list": ["users", "list"],
        "codings list": ["codings", "list"],
        "assignments list": ["assignments", "list"],
        "audit": ["audit"],
        "participants import": ["participants", "import", str(PARTICIPANT_KEY)],
        "codebook import": ["codebook", "import", str(CODEBOOK)],
    }
    documented = set(re.findall(r"### `(.+?) --json`", DOCS))
    for command, args in listing.items():
        data = json.loads(ok(url, *args, "--json").stdout)
        item = data[0] if isinstance(data, list) else data
        assert set(item) == documented_keys(command), command
    new = tmp_path / "new.txt"
    new.write_text("Interviewer: Hello.\nAmy: Hi.\n", encoding="utf-8")
    data = json.loads(ok(url, "import", str(new), "--json").stdout)
    assert set(data[0]) == documented_keys("import")
    codings = tmp_path / "c.csv"
    codings.write_text("transcript,coder,code,quote\nnew,newcoder,Changes noticed,Hi.\n", encoding="utf-8")
    assert set(json.loads(ok(url, "codings", "import", str(codings), "--json").stdout)) == documented_keys("codings import")
    demo = json.loads(ok(f"sqlite:///{tmp_path / 'demo.db'}", "demo", "--json").stdout)
    assert set(demo) == documented_keys("demo")
    elsewhere = {"agreement": "test_intercoder", "search": "test_search", "memos list": "test_search",
                 "report frequencies": "test_search", "report cooccurrence": "test_search",
                 "report presence": "test_search", "reconcile status": "test_reconcile",
                 "reconcile items": "test_reconcile", "reconcile agreement": "test_reconcile",
                 "matched": "test_reconcile", "codebook merge": "test_codebook_ops",
                 "codebook drafts": "test_codebook_ops", "codebook versions": "test_codebook_ops",
                 "codebook diff": "test_codebook_ops", "scan": "test_anonymisation",
                 "redact": "test_anonymisation", "withdraw": "test_anonymisation",
                 "import-refi": "test_refi_project", "suggest": "test_suggestions",
                 "embed": "test_suggestions", "suggest-eval": "test_suggestions",
                 "retrieve": "test_retrieval"}  # checked in those modules
    assert documented == set(listing) | {"import", "codings import", "demo"} | set(elsewhere)


def test_demo_then_status_shows_the_sample_study_with_both_coders(sample_db, tmp_path):
    """The Done-when check, through the installed console script in a fresh process."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    exe = Path(sys.executable).with_name("workbench")
    env = dict(os.environ)
    env.pop("WORKBENCH_DATABASE_URL", None)
    built = subprocess.run([str(exe), "--db", url, "demo"], capture_output=True, text=True, env=env, timeout=600)
    assert built.returncode == 0, built.stderr
    assert "priya" in built.stdout and "morgan" in built.stdout
    status = subprocess.run([str(exe), "--db", url, "status", "--json"], capture_output=True, text=True, env=env)
    data = json.loads(status.stdout)
    assert data["transcripts"] == len(sample_files()) >= 10
    assert data["participants"] == 15 and data["coders"] == 2
    assert data["codes"] >= 20 and data["segments"] > data["turns"] > 0
    assert data["codings"]["priya"] > 100 and data["codings"]["tom"] > 100
    again = subprocess.run([str(exe), "--db", url, "demo"], capture_output=True, text=True, env=env)
    assert again.returncode == 1 and "already holds a study" in again.stderr
    quiet = subprocess.run([str(exe), "--db", url, "demo", "--if-empty"], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0


def test_default_database_is_workbench_db_in_the_working_directory(tmp_path):
    exe = Path(sys.executable).with_name("workbench")
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_DATABASE_URL"}
    result = subprocess.run([str(exe), "users", "add", "ana", "--role", "lead"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "workbench.db").exists()
    env["WORKBENCH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'other.db'}"
    subprocess.run([str(exe), "status"], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert (tmp_path / "other.db").exists()


@pytest.mark.postgres
def test_cli_on_postgresql(db_url, tmp_path):
    """Import, key, codebook, codings, export and status on both databases."""
    ok(db_url, "participants", "import", str(PARTICIPANT_KEY))
    ok(db_url, "codebook", "import", str(CODEBOOK))
    transcript = tmp_path / "Amy 2.txt"
    transcript.write_text("Interviewer: What helped?\nAmy: Being rung back. Every time.\n", encoding="utf-8")
    out = ok(db_url, "import", str(transcript), "--title", "Amy second", "--meta", "site=Service 4").output
    assert "imported Amy second: 2 turns, 3 segments" in out
    codings = tmp_path / "codings.csv"
    codings.write_text("transcript,coder,code,quote\nAmy second,priya,Reliability and being rung back,Being rung back.\n",
                       encoding="utf-8")
    ok(db_url, "codings", "import", str(codings))
    status = json.loads(ok(db_url, "status", "--json").stdout)
    assert (status["transcripts"], status["participants"], status["codings"]) == (1, 15, {"priya": 1})
    ok(db_url, "users", "add", "morgan", "--role", "lead", "--password-stdin", input="a long password\n")
    users = {u["name"]: u for u in json.loads(ok(db_url, "users", "list", "--json").stdout)}
    assert users["morgan"]["has_password"] and not users["priya"]["has_password"]
    ok(db_url, "users", "password", "priya", "--password-stdin", input="priya's password\n")
    assert json.loads(ok(db_url, "users", "list", "--json").stdout)[1]["has_password"]
    denied = run(db_url, "--as", "priya", "users", "password", "morgan", "--password-stdin", input="takeover!!\n")
    assert denied.exit_code == 1 and "only a lead" in denied.stderr
    for fmt in ("yaml", "csv", "qdc"):
        target = tmp_path / f"codebook.{fmt}"
        ok(db_url, "codebook", "export", "--format", fmt, "--out", str(target))
        assert target.stat().st_size > 1000
    key = tmp_path / "key.csv"
    ok(db_url, "participants", "export", "--out", str(key))
    assert key.read_text(encoding="utf-8").splitlines()[0].startswith("pseudonym,role,group,age,linked_to")
    backup = tmp_path / "study.wbk.gz"
    ok(db_url, "backup", "--out", str(backup))
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    ok(restored, "restore", str(backup))
    assert json.loads(ok(restored, "status", "--json").stdout)["codings"] == {"priya": 1}


def test_out_defaults_to_a_dated_file_under_exports(study, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = study.engine.url.render_as_string(hide_password=False)
    ok(url, "codebook", "import", str(CODEBOOK))
    first = ok(url, "codebook", "export", "--format", "csv").output
    second = ok(url, "codebook", "export", "--format", "csv").output
    assert re.search(r"wrote exports/codebook-\d{4}-\d\d-\d\d\.csv", first)
    assert first != second and len(list((tmp_path / "exports").iterdir())) == 2


@pytest.mark.parametrize("args, message", [
    (["import", "missing.txt"], "error: missing.txt: no such file"),
    (["participants", "import", "missing.csv"], "error: missing.csv: no such file"),
    (["import", "{bad}"], "error: bad.xyz: unknown extension '.xyz'"),
    (["import", "{empty}"], "error: empty.txt: the file is empty"),
    (["import", "{good}", "--participant", "Nobody"], "error: no participant 'Nobody'"),
    (["import", "{good}", "--meta", "novalue"], "error: --meta takes KEY=VALUE"),
    (["codings", "import", "{badcodings}"], "error: codings.csv, row 2: no transcript titled 'nope'"),
    (["users", "add", "x", "--role", "lead", "--password-stdin"], "error: the password must have at least 8"),
    (["restore", "{good}"], "error: good.txt: not a workbench backup file"),
])
def test_errors_are_one_line_on_stderr_with_exit_status_1(study, tmp_path, args, message):
    files = {"bad": tmp_path / "bad.xyz", "empty": tmp_path / "empty.txt", "good": tmp_path / "good.txt",
             "badcodings": tmp_path / "codings.csv"}
    files["bad"].write_text("x")
    files["empty"].write_text("")
    files["good"].write_text("Amy: hi.\n")
    files["badcodings"].write_text("transcript,coder,code,quote\nnope,a,b,c\n")
    args = [a.format(**files) if a.startswith("{") else a for a in args]
    url = f"sqlite:///{tmp_path / 'empty-study.db'}" if args[0] == "restore" else \
        study.engine.url.render_as_string(hide_password=False)
    result = run(url, *args, input="short\n")
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "--debug", "import", "missing.txt"])
    assert result.exit_code == 1 and "Traceback" in result.stderr


def test_a_bad_database_url_is_one_line(tmp_path):
    result = run("nosuchdialect://x/y", "status")
    assert result.exit_code == 1 and result.stderr.startswith("error:") and result.stderr.count("\n") == 1
    result = run(f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}", "status")
    assert result.exit_code == 1 and "folder" in result.stderr
