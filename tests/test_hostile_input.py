"""Hostile input gets a sentence about the input, never `internal error: ...`, and writes
nothing: codebook files nested 1,500 deep, a DOCTYPE in a .qdc (XXE, billion laughs), YAML tags
and aliases; and the CLI shows terminal control sequences in study text as escapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.access import LEAD_CLI
from workbench.cli import cli, printable
from workbench.codebook.spec import MAX_DEPTH
from workbench.codebook.study import edit_code, import_codebook, list_codes, propose_code
from workbench.errors import WorkbenchError
from workbench.transcripts.study import FileInput, import_transcripts

HOSTILE = Path(__file__).with_name("hostile")

# file -> words the one-line message must hold
REFUSED = {
    "deep_codebook.yaml": f"nested more than {MAX_DEPTH} levels deep",
    "deep_codebook.csv": "nested 1,500 levels deep",
    "deep_tree_25.csv": "nested 21 levels deep",
    "deep_codebook.qdc": f"at most {MAX_DEPTH} levels",
    "deep_tree_25.qdc": "nested 21 levels deep",
    "doctype_billion_laughs.qdc": "declares a document type",
    "doctype_xxe.qdc": "declares a document type",
    "python_tag_codebook.yaml": "YAML tag not allowed",
    "unknown_tag_codebook.yaml": "YAML tag not allowed",
    "alias_bomb_codebook.yaml": "repeated through a YAML alias",
    "list_definition_codebook.yaml": "`definition` must be text",
}
LINES = {  # the line at fault, where a file has one
    "deep_tree_25.csv": "row 22",
    "deep_tree_25.qdc": "line 24",
    "doctype_xxe.qdc": "line 2",
    "python_tag_codebook.yaml": "line 6",
    "unknown_tag_codebook.yaml": "line 5",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_codebook_is_refused_with_a_sentence_and_nothing_written(study, name):
    with pytest.raises(WorkbenchError) as refused:
        import_codebook(study, LEAD_CLI, (HOSTILE / name).read_bytes(), name)
    message = str(refused.value)
    assert REFUSED[name] in message
    assert message.startswith(name) and "\n" not in message and len(message) < 300
    assert LINES.get(name, "") in message
    assert list_codes(study, LEAD_CLI) == []


def test_python_tag_is_never_run(study, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = (HOSTILE / "python_tag_codebook.yaml").read_bytes().replace(b"/tmp/workbench-pwned", b"pwned")
    with pytest.raises(WorkbenchError):
        import_codebook(study, LEAD_CLI, data, "codes.yaml")
    assert not (tmp_path / "pwned").exists()


def test_the_deepest_allowed_tree_imports_and_round_trips(study, tmp_path):
    lines = (HOSTILE / "deep_tree_25.csv").read_text().splitlines()[:MAX_DEPTH + 1]
    import_codebook(study, LEAD_CLI, "\n".join(lines).encode(), "deep.csv")
    codes = list_codes(study, LEAD_CLI)
    assert max(c["depth"] for c in codes) == MAX_DEPTH - 1
    from workbench.codebook.study import export_codebook
    from workbench.store import Study

    for fmt in ("yaml", "csv", "qdc"):
        other = Study.open(f"sqlite:///{tmp_path / (fmt + '.db')}")
        import_codebook(other, LEAD_CLI, export_codebook(study, fmt), f"deep.{fmt}")
        assert list_codes(other, LEAD_CLI) == codes
        other.close()


def test_a_code_proposed_below_the_deepest_level_is_refused(study):
    lines = (HOSTILE / "deep_tree_25.csv").read_text().splitlines()[:MAX_DEPTH + 1]
    import_codebook(study, LEAD_CLI, "\n".join(lines).encode(), "deep.csv")
    deepest = max(list_codes(study, LEAD_CLI), key=lambda c: c["depth"])["path"]
    with pytest.raises(WorkbenchError, match=f"nested {MAX_DEPTH + 1} levels deep"):
        propose_code(study, LEAD_CLI, "One more", parent=deepest)
    assert propose_code(study, LEAD_CLI, "Beside", parent=deepest.rsplit("/", 1)[0]).endswith("/Beside")


@pytest.mark.parametrize("name", ["Clear\x1b[2Jscreen", "Title\x1b]0;pwned\x07", "Two\nlines", "Tab\tbed"])
def test_control_characters_in_a_code_name_are_refused(study, name):
    with pytest.raises(WorkbenchError, match="control character"):
        import_codebook(study, LEAD_CLI, f'path\n"{name}"\n'.encode(), "codes.csv")
    with pytest.raises(WorkbenchError, match="control character"):
        propose_code(study, LEAD_CLI, name)
    import_codebook(study, LEAD_CLI, b"path\nTrust\n", "codes.csv")
    guid = list_codes(study, LEAD_CLI)[0]["guid"]
    with pytest.raises(WorkbenchError, match="control character"):
        edit_code(study, LEAD_CLI, guid, name=name)
    assert [c["name"] for c in list_codes(study, LEAD_CLI)] == ["Trust"]


# --- through the CLI -------------------------------------------------------------------------

def run(url: str, *args: str, **kwargs):
    return CliRunner().invoke(cli, ["--db", url, *args], **kwargs)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_cli_prints_one_error_line_for_a_hostile_codebook(sqlite_url, name):
    result = run(sqlite_url, "codebook", "import", str(HOSTILE / name))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "internal error" not in result.output


def test_printable_escapes_control_characters_and_keeps_other_text():
    assert printable("a\x1b]0;pwned\x07b\x1b[2J\r\x9b\x7f\x00") == r"a\x1b]0;pwned\x07b\x1b[2J\r\x9b\x7f\x00"
    text = "Zoë and Siobhán 🙂 said:\n\t“no”"
    assert printable(text) == text


@pytest.fixture
def hostile_study(sqlite_url, study):
    """A study with a transcript holding terminal control sequences, in its text and its title."""
    data = (HOSTILE / "escape_sequences.txt").read_bytes()
    import_transcripts(study, LEAD_CLI, [FileInput("escape_sequences.txt", data),
                                         FileInput("evil\x1b]0;owned\x07.txt", data + b"Interviewer: Thanks.\n")])
    return sqlite_url


RAW = ("\x1b", "\x07", "\x9b")


def test_cli_human_output_shows_control_characters_as_escapes(hostile_study):
    for color in (False, True):  # color=True: click leaves CSI sequences for the filter to escape
        result = run(hostile_study, "search", "--phrase", "she would", color=color)
        assert result.exit_code == 0, result.output
        assert not any(ch in result.output for ch in RAW), result.output
        assert r"\x1b]0;pwned\x07" in result.output and r"\x9b31m" in result.output
        assert "Zoë and Siobhán waited 🙂" in result.output
    assert r"\x1b[2J\x1b[H" in result.output
    listing = run(hostile_study, "transcripts", "list", color=True).output
    assert r"evil\x1b]0;owned\x07" in listing and not any(ch in listing for ch in RAW)


def test_cli_errors_and_progress_on_stderr_are_escaped_too(hostile_study, tmp_path):
    named = tmp_path / "again\x1b[2J.txt"
    named.write_bytes((HOSTILE / "escape_sequences.txt").read_bytes() + b"Interviewer: Again.\n")
    result = run(hostile_study, "import", str(named), color=True)
    assert r"again\x1b[2J" in result.stderr and "\x1b" not in result.stderr
    refused = run(hostile_study, "search", "ring", "--transcript", "nothing\x1b[2J", color=True)
    assert refused.exit_code == 1 and "\x1b" not in refused.stderr


def test_cli_json_output_stays_valid_json_with_the_text_as_it_is(hostile_study):
    result = run(hostile_study, "search", "--phrase", "she would", "--json", color=True)
    assert result.exit_code == 0
    assert not any(ch in result.output for ch in RAW)
    (hit, *_rest) = json.loads(result.output)
    assert "\x1b]0;pwned\x07" in hit["text"] and "\x9b31m" in hit["text"] and "Zoë" in hit["text"]
