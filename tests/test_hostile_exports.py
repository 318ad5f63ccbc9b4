"""Hardening: what the product writes to disk.

- Spreadsheet formula injection: every CSV and Excel file the product writes, re-opened with
  csv / openpyxl, holds no formula and no cell a spreadsheet would run as one; hostile text
  (tests/hostile/formula_cells.json) survives with a leading `'`, numbers stay numbers, and
  the CSV files the product reads back (codings, participant key, codebook, private key) read
  back unchanged.
- `--out` never overwrites the study's database (nor its -wal/-shm/.before-* files), nor any
  existing file without `--force`; default dated names get a numeric suffix.
- The database, its WAL and SHM, the migration copy, backups and every file written with
  `--out` are readable by their owner only (0600), whatever the umask.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import stat
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from workbench.access import CODER, LEAD_CLI, actor_for
from workbench.cli import cli
from workbench.codebook.study import import_codebook, list_codes
from workbench.coding.assignments import assign
from workbench.coding.codings import add_coding, list_codings
from workbench.coding.workspace import transcript_view
from workbench.csvio import read_rows, safe_cell, unescape_cell, write_rows
from workbench.exports import to_bytes, write_xlsx
from workbench.privacy.anonymisation import release
from workbench.privacy.private_key import load_private_key
from workbench.store import Study
from workbench.store.db import head_revision
from workbench.transcripts.participants import import_participants, list_participants
from workbench.transcripts.study import FileInput, import_transcripts
from workbench.users import add_user

HOSTILE = json.loads((Path(__file__).with_name("hostile") / "formula_cells.json").read_text(encoding="utf-8"))
# What Excel, LibreOffice and Google Sheets read as the start of a formula (OWASP), written out
# here rather than taken from workbench.csvio, so the tests do not trust the code they test.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
SUBCODE = f"{HOSTILE['theme']}/{HOSTILE['subcode']}"
ATTRIBUTION = "{group}, {pseudonym}"
MEMOS = {("priya", "quote"): HOSTILE["memo"], ("priya", "second_quote"): HOSTILE["memo_tab"],
         ("priya", "middle"): HOSTILE["memo_inner_cr"], ("tom", "quote"): HOSTILE["memo_cr"],
         ("tom", "second_quote"): HOSTILE["memo_quoted"], ("tom", "middle"): HOSTILE["memo_fullwidth"]}
MIDDLE = "I didn't know what to do."


def live(value) -> bool:
    """A text cell a spreadsheet would run as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value)


def neutralised(text: str) -> str:
    return "'" + text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask():
    """The common default umask (files 0644 unless the product says otherwise), restored after."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def key_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["pseudonym", "role", "group", "age", "linked_to", HOSTILE["attribute_column"]])
    writer.writerow(["Amy", HOSTILE["role"], HOSTILE["group"], 34, "", HOSTILE["attribute_value"]])
    return out.getvalue().encode("utf-8")


def codebook_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["path", "definition"])
    writer.writerows([[HOSTILE["code"], HOSTILE["definition"]], [HOSTILE["theme"], ""], [SUBCODE, ""]])
    return out.getvalue().encode("utf-8")


def build_hostile_study(study: Study) -> Study:
    """A study whose transcript title, code names, definition, participant attributes (a key
    column's name included), attribution, quotes and memos all start like formulas. Memos go in
    through the coding screen's own function, so tabs and carriage returns stay in them."""
    for name in ("priya", "tom"):
        add_user(study, LEAD_CLI, name, CODER)
    import_participants(study, LEAD_CLI, key_csv(), "key.csv")
    talk = f"I: What happened then?\nAmy: {HOSTILE['talk']}\nI: Thank you.\n"
    title = HOSTILE["title"]
    import_transcripts(study, LEAD_CLI, [FileInput("amy.txt", talk.encode("utf-8"))], title=title)
    import_codebook(study, LEAD_CLI, codebook_csv(), "codebook.csv")
    assign(study, LEAD_CLI, [title], ["priya", "tom"])
    release(study, LEAD_CLI, [title], override="synthetic test transcript: no identifiers")
    text = transcript_view(study, title).text
    spans = {name: (text.index(words), text.index(words) + len(words))
             for name, words in (("quote", HOSTILE["quote"]), ("second_quote", HOSTILE["second_quote"]),
                                 ("middle", MIDDLE))}
    codes = {"quote": HOSTILE["code"], "second_quote": SUBCODE, "middle": HOSTILE["code"]}
    for (coder, span), memo in MEMOS.items():
        with study.session() as session:
            actor = actor_for(session, coder)
        add_coding(study, actor, title, codes[span], *spans[span], memo=memo)
    return study


@pytest.fixture
def hostile(study) -> tuple[Study, str]:
    build_hostile_study(study)
    return study, study.engine.url.render_as_string(hide_password=False)


def cli_run(url: str, *args: str):
    return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)


def cli_ok(url: str, *args: str):
    result = cli_run(url, *args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def xlsx_cells(path: Path) -> list:
    """Every cell of every sheet, checked: none is a formula or formula-like text."""
    book = load_workbook(path)
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert not live(cell.value), (sheet.title, cell.coordinate, cell.value)
                cells.append(cell)
    return cells


def csv_rows(path: Path) -> list[list[str]]:
    """Every row of a CSV file the product wrote, checked: no cell a spreadsheet would run."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    for row in rows:
        for value in row:
            assert not live(value), (path.name, value)
    return rows


# --- formula injection ---------------------------------------------------------------------

def test_safe_cell_prefixes_formula_text_and_leaves_numbers_alone():
    for text in [v for k, v in HOSTILE.items() if k != "about" and live(v)]:
        assert safe_cell(text) == neutralised(text) and unescape_cell(safe_cell(text)) == text
    assert safe_cell("-1 point") == "'-1 point"
    assert safe_cell("'=already quoted") == "''=already quoted"  # so reading back gives it exactly
    for value in (-3, 2.5, 0, None, "-2", "+44", "1e5", "-.5", "plain text", "'cause he said", "#N/A", ""):
        assert safe_cell(value) == value
    assert all(unescape_cell(safe_cell(v)) == v for v in ("'-1", "''", "'", "''=x", "'cause", "-"))


def test_every_spreadsheet_the_cli_writes_holds_text_not_formulas(hostile, tmp_path, permissive_umask):
    _study, url = hostile
    out = {name: tmp_path / name for name in ("quotes.xlsx", "matrix.xlsx", "counts.xlsx", "agreement.xlsx")}
    cli_ok(url, "export", "quotes", "--format", "xlsx", "--coder", "priya", "--attribution", ATTRIBUTION,
           "--out", str(out["quotes.xlsx"]))
    cli_ok(url, "export", "matrix", "--coder", "priya", "--level", "code", "--out", str(out["matrix.xlsx"]))
    cli_ok(url, "export", "matrix", "--coder", "priya", "--counts", "--out", str(out["counts.xlsx"]))
    from workbench.coding.assignments import submit

    for coder in ("priya", "tom"):  # agreement compares transcripts both coders submitted
        submit(_study, LEAD_CLI, HOSTILE["title"], coder=coder)
    cli_ok(url, "export", "agreement", "--coders", "priya,tom", "--format", "xlsx", "--bootstrap", "0",
           "--out", str(out["agreement.xlsx"]))
    quotes = load_workbook(out["quotes.xlsx"])["Quotes"]
    header = [c.value for c in quotes[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in quotes.iter_rows(min_row=2)]
    strings = {c.value for c in xlsx_cells(out["quotes.xlsx"]) if isinstance(c.value, str)}
    assert neutralised(HOSTILE["attribute_column"]) in header  # a header cell from a key column's name
    for text in ("title", "code", "subcode", "quote", "second_quote", "memo", "memo_tab", "role", "group",
                 "attribute_value"):
        assert neutralised(HOSTILE[text]) in strings, text
    assert neutralised(SUBCODE) in strings and neutralised(f"{HOSTILE['group']}, Amy") in strings
    neutral = [c for c in xlsx_cells(out["quotes.xlsx"]) if isinstance(c.value, str) and c.value.startswith("'")]
    assert neutral and all(c.data_type == "s" and c.quotePrefix for c in neutral)
    for row in rows:  # numbers stay numbers
        assert isinstance(row["start"], int) and isinstance(row["end"], int) and row["age"] == 34

    matrix = {c.value for c in xlsx_cells(out["matrix.xlsx"])}
    assert {neutralised(HOSTILE["code"]), neutralised(SUBCODE), neutralised(HOSTILE["role"])} <= matrix
    counts = load_workbook(out["counts.xlsx"])["Framework"]
    assert neutralised(HOSTILE["code"]) in [c.value for c in counts[1]] and counts["C2"].value == 2
    xlsx_cells(out["counts.xlsx"])

    agreement = xlsx_cells(out["agreement.xlsx"])
    values = {c.value for c in agreement}
    assert {neutralised(HOSTILE["code"]), neutralised(SUBCODE), neutralised(HOSTILE["title"])} <= values
    assert any(isinstance(c.value, int) and c.data_type == "n" for c in agreement)
    assert all(mode(path) == 0o600 for path in out.values())


def test_error_codes_and_control_characters_are_written_as_text(tmp_path):
    path = tmp_path / "odd.xlsx"
    path.write_bytes(to_bytes(write_xlsx, {"Odd": (["memo", "n"], [
        {"memo": HOSTILE["memo_error"], "n": -4}, {"memo": "bell\x07here", "n": 1.5}, {"memo": HOSTILE["memo_cr"]}])}))
    cells = {c.coordinate: c for c in xlsx_cells(path)}
    assert (cells["A2"].value, cells["A2"].data_type) == ("#N/A", "s")  # not an error cell
    assert cells["A3"].value == "bell\ufffdhere"  # openpyxl refuses the raw control character
    assert cells["A4"].value == neutralised(HOSTILE["memo_cr"])
    assert (cells["B2"].value, cells["B2"].data_type, cells["B3"].value) == (-4, "n", 1.5)


def test_every_csv_the_cli_writes_is_neutralised_and_reads_back_unchanged(hostile, tmp_path, permissive_umask):
    study, url = hostile
    files = {name: tmp_path / f"{name}.csv" for name in ("quotes", "codings", "participants", "codebook")}
    cli_ok(url, "export", "quotes", "--format", "csv", "--coder", "tom", "--attribution", ATTRIBUTION,
           "--out", str(files["quotes"]))
    cli_ok(url, "export", "codings", "--out", str(files["codings"]))
    cli_ok(url, "participants", "export", "--out", str(files["participants"]))
    cli_ok(url, "codebook", "export", "--format", "csv", "--out", str(files["codebook"]))
    quotes = csv_rows(files["quotes"])
    cells = {v for row in quotes for v in row}
    assert neutralised(HOSTILE["attribute_column"]) in quotes[0]
    for text in ("title", "code", "quote", "second_quote", "memo_cr", "memo_quoted", "memo_fullwidth", "role",
                 "group", "attribute_value"):
        assert neutralised(HOSTILE[text]) in cells, text
    assert neutralised(f"{HOSTILE['group']}, Amy") in cells

    codings = csv_rows(files["codings"])
    assert codings[0] == ["transcript", "coder", "code", "start", "end", "quote", "memo"]  # the contract
    assert all(row[3].isdigit() and row[4].isdigit() for row in codings[1:])  # offsets stay plain numbers
    assert {row[6] for row in codings[1:]} == {HOSTILE["memo_inner_cr"]} | {  # a \r inside stays inside
        neutralised(HOSTILE[k]) for k in ("memo", "memo_tab", "memo_cr", "memo_quoted", "memo_fullwidth")}
    # Read back by the codings import: the same spans, codes and memos for a new coder.
    again = tmp_path / "again.csv"
    exported = [row for _n, row in read_rows(files["codings"].read_bytes(), "codings.csv", ("coder",))]
    again.write_text(write_rows(codings[0], [dict(row, coder="priya2") for row in exported if row["coder"] == "priya"]),
                     encoding="utf-8")
    cli_ok(url, "codings", "import", str(again))
    mine = {(r.transcript, r.code, r.start, r.end, r.memo.strip())  # CSV imports strip cells
            for r in list_codings(study, LEAD_CLI, coder="priya")}
    copied = {(r.transcript, r.code, r.start, r.end, r.memo) for r in list_codings(study, LEAD_CLI, coder="priya2")}
    assert copied == mine and len(copied) == 3

    # The participant key and the codebook read back into a new study exactly.
    fresh = Study.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        import_participants(fresh, LEAD_CLI, files["participants"].read_bytes(), "participants.csv")
        import_codebook(fresh, LEAD_CLI, files["codebook"].read_bytes(), "codebook.csv")
        assert list_participants(fresh) == list_participants(study)
        assert list_participants(fresh)[0]["attributes"] == {HOSTILE["attribute_column"]: HOSTILE["attribute_value"]}
        fields = ("path", "definition")
        assert [{k: c[k] for k in fields} for c in list_codes(fresh, LEAD_CLI)] == \
               [{k: c[k] for k in fields} for c in list_codes(study, LEAD_CLI)]
    finally:
        fresh.close()
    csv_rows(files["participants"])
    assert {neutralised(HOSTILE["code"]), neutralised(HOSTILE["definition"])} <= {
        v for row in csv_rows(files["codebook"]) for v in row}
    assert all(mode(path) == 0o600 for path in files.values())


def test_the_private_key_file_keeps_a_formula_like_name(tmp_path):
    path = tmp_path / "private-key.csv"
    key = load_private_key(path)
    key.remember("=Smith", "[Name 1]")
    key.remember("-Jones", "[Name 2]")
    key.save()
    assert all(not live(v) for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))) for v in row)
    again = load_private_key(path)
    assert again.lookup("=Smith") == "[Name 1]" and again.lookup("-Jones") == "[Name 2]"


def test_write_rows_and_read_rows_are_inverse_for_any_text():
    texts = [v for k, v in HOSTILE.items() if k != "about"] + ["'-1", "''=x", "-2", "'cause", "plain"]
    data = write_rows(["=text"], [{"=text": t.strip()} for t in texts]).encode("utf-8")
    assert all(not live(v) for row in csv.reader(io.StringIO(data.decode("utf-8"))) for v in row)
    assert [row["=text"] for _n, row in read_rows(data, "t.csv", ("=text",))] == [t.strip() for t in texts]


# --- --out ---------------------------------------------------------------------------------

def command_paths(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_every_command_with_out_has_force():
    with_out = [path for path, command in command_paths(cli) if any("--out" in p.opts for p in command.params)]
    assert len(with_out) >= 9
    for path, command in command_paths(cli):
        if path in with_out:
            assert any("--force" in p.opts for p in command.params), " ".join(path)


def test_out_never_writes_over_the_study_database(study, tmp_path):
    url = study.engine.url.render_as_string(hide_password=False)
    db = Path(study.engine.url.database)
    import_participants(study, LEAD_CLI, key_csv(), "key.csv")
    (tmp_path / "sub").mkdir()
    (tmp_path / "alias.db").symlink_to(db)
    os.link(db, tmp_path / "hardlink.db")
    targets = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.before-{head_revision()}"),
               tmp_path / "sub" / ".." / db.name, tmp_path / "alias.db", tmp_path / "hardlink.db"]
    before = {p.name for p in tmp_path.iterdir()} - {"study.db-wal", "study.db-shm"}
    for target in targets:
        for force in ([], ["--force"]):
            for args in (["backup"], ["participants", "export"], ["export", "codings"]):
                result = cli_run(url, *args, "--out", str(target), *force)
                assert result.exit_code == 1, (target, args, force)
                assert result.stderr == f"error: {target}: is the study's database (or one of its files): " \
                                        "choose another --out file\n"
                assert result.stdout == ""
    assert not Path(f"{db}.before-{head_revision()}").exists()
    assert {p.name for p in tmp_path.iterdir()} - {"study.db-wal", "study.db-shm"} == before
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [p["pseudonym"] for p in list_participants(study)] == ["Amy"]


def test_out_refuses_an_existing_file_unless_forced(study, tmp_path, permissive_umask):
    url = study.engine.url.render_as_string(hide_password=False)
    import_participants(study, LEAD_CLI, key_csv(), "key.csv")
    target = tmp_path / "key.csv"
    target.write_text("an earlier file\n", encoding="utf-8")
    target.chmod(0o644)
    refused = cli_run(url, "participants", "export", "--out", str(target))
    assert refused.exit_code == 1
    assert refused.stderr == f"error: {target}: exists already: give --force to overwrite it\n"
    assert target.read_text(encoding="utf-8") == "an earlier file\n"
    cli_ok(url, "participants", "export", "--out", str(target), "--force")
    assert target.read_text(encoding="utf-8").startswith("pseudonym,role,group,age,linked_to")
    assert mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".key.csv")) == []  # no temporary left
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere" / "x.csv")
    assert cli_run(url, "backup", "--out", str(dangling)).exit_code == 1
    assert not (tmp_path / "nowhere").exists()


def test_default_dated_names_get_a_numeric_suffix(study, tmp_path, monkeypatch, permissive_umask):
    monkeypatch.chdir(tmp_path)
    url = study.engine.url.render_as_string(hide_password=False)
    day = date.today().isoformat()
    (tmp_path / "exports").mkdir()
    earlier = tmp_path / "exports" / f"codebook-{day}.csv"
    earlier.write_text("an earlier export\n", encoding="utf-8")
    wrote = [cli_ok(url, "codebook", "export", "--format", "csv").stdout for _ in range(2)]
    assert wrote == [f"wrote exports/codebook-{day}-2.csv\n", f"wrote exports/codebook-{day}-3.csv\n"]
    assert earlier.read_text(encoding="utf-8") == "an earlier export\n"
    backups = [cli_ok(url, "backup").stdout.split(" (")[0] for _ in range(2)]
    assert backups == [f"wrote exports/backup-{day}.wbk.gz", f"wrote exports/backup-{day}-2.wbk.gz"]
    assert all(mode(p) == 0o600 for p in (tmp_path / "exports").iterdir() if p != earlier)


# --- file modes ----------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_a_new_database_and_its_wal_and_shm_are_owner_only(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = tmp_path / "study.db"
        study = Study.open(f"sqlite:///{path}")
        try:
            import_participants(study, LEAD_CLI, key_csv(), "key.csv")
            with study.session() as session:  # an open connection keeps the WAL and SHM in place
                session.connection()
                for suffix in ("", "-wal", "-shm"):
                    assert Path(f"{path}{suffix}").exists(), suffix
                    assert mode(Path(f"{path}{suffix}")) == 0o600, suffix
        finally:
            study.close()
    finally:
        os.umask(previous)


def test_the_migration_copy_is_owner_only_whatever_the_original(tmp_path, permissive_umask):
    from tests.test_storage import _older_database

    path = tmp_path / "study.db"
    _older_database(f"sqlite:///{path}")
    path.chmod(0o644)  # a study made by an earlier version
    study = Study.open(f"sqlite:///{path}")
    try:
        assert study.migration.backup is not None and mode(study.migration.backup) == 0o600
    finally:
        study.close()


def test_backups_and_restored_databases_are_owner_only(hostile, tmp_path, monkeypatch, permissive_umask):
    _study, url = hostile
    saved = tmp_path / "study.wbk.gz"
    cli_ok(url, "backup", "--out", str(saved))
    assert mode(saved) == 0o600
    monkeypatch.chdir(tmp_path)
    cli_ok(url, "backup")
    assert mode(tmp_path / "exports") == 0o700
    assert [mode(p) for p in (tmp_path / "exports").iterdir()] == [0o600]
    restored = tmp_path / "restored.db"
    cli_ok(f"sqlite:///{restored}", "restore", str(saved))
    assert mode(restored) == 0o600
