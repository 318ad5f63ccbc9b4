"""The docs match the code: README quick start, architecture, CI, the command reference."""

import difflib
import importlib.util
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quick_start_has_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./run.sh", "./test.sh"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\n./test.sh" in ci and "WORKBENCH_TEST_POSTGRES_URL" in ci


def test_setup_installs_cpu_torch_before_anything_else():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert setup.index('"torch==2.13.0"') < setup.index("-e \".[test]\"")


def test_architecture_names_every_module():
    architecture = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for path in (ROOT / "workbench").glob("*.py"):
        if path.stem not in ("__init__", "cli"):
            assert f"{path.stem}.py" in architecture, path.name


def test_streamlit_configuration_keeps_everything_on_the_machine():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 200


def cli_reference():
    """scripts/cli_reference.py, imported in this process (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_in_docs_is_what_the_commands_print():
    reference = cli_reference()
    current = reference.DOC.read_text(encoding="utf-8")
    wanted = reference.updated_document(current)
    if current != wanted:
        diff = difflib.unified_diff(current.splitlines(keepends=True), wanted.splitlines(keepends=True),
                                    "docs/cli.md", "generated", n=1)
        pytest.fail("docs/cli.md is stale: run python scripts/cli_reference.py\n" + "".join(list(diff)[:40]))


def test_cli_reference_names_every_command_once_in_tree_order():
    reference = cli_reference()
    paths = [ctx.command_path for ctx in reference.walk()]
    assert paths[0] == "workbench" and len(paths) == len(set(paths)) > 50
    text = reference.DOC.read_text(encoding="utf-8")
    generated = text.split(reference.BEGIN, 1)[1].split(reference.END, 1)[0]
    headings = [line[4:] for line in generated.splitlines() if line.startswith("### ")]
    assert headings == paths
    for path in paths[1:]:
        assert f"[`{path}`]" in generated, f"the index lacks {path}"
    # the hand-written contracts stay outside the generated part
    assert "## JSON output" in text.split(reference.END, 1)[1]
    assert "## File formats" in text.split(reference.END, 1)[1]


def test_every_command_option_and_argument_has_help():
    problems = []
    for ctx in cli_reference().walk():
        command = ctx.command
        if not (command.help or command.short_help or "").strip():
            problems.append(f"{ctx.command_path}: no help text")
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip():
                problems.append(f"{ctx.command_path} {param.opts[0]}: no help text")
            if isinstance(param, click.Argument) and param.human_readable_name not in (command.help or ""):
                problems.append(f"{ctx.command_path}: the help does not say what {param.human_readable_name} is")
    assert not problems, "\n".join(problems)


def test_cli_reference_check_fails_on_a_stale_file_and_rewriting_fixes_it(tmp_path, monkeypatch, capsys):
    reference = cli_reference()
    doc = tmp_path / "cli.md"
    doc.write_text(f"# Intro\n\n{reference.BEGIN}\nold text\n{reference.END}\n\n## JSON output\n", encoding="utf-8")
    monkeypatch.setattr(reference, "DOC", doc)
    assert reference.main(["--check"]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0  # one line
    assert reference.main([]) == 0
    assert reference.main(["--check"]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Intro\n\n") and text.endswith(f"{reference.END}\n\n## JSON output\n")
    assert "old text" not in text and "### workbench codebook import\n" in text
    doc.write_text("no markers\n", encoding="utf-8")
    assert reference.main(["--check"]) == 2
