"""Storage on real SQLite and PostgreSQL: migrations, transactions, kill safety, backup."""

import io
import json
import os
import signal
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from workbench.access import LEAD_CLI
from workbench.errors import InputError, ValidationError, WorkbenchError
from workbench.status import study_status
from workbench.store import Study, make_engine, upgrade
from workbench.store.backup import backup, restore
from workbench.store.db import MigrationRequired, alembic_config, current_revision, head_revision
from workbench.store.models import Base, Coding, Transcript
from workbench.transcripts.study import FileInput, import_transcripts


def test_migrations_upgrade_an_empty_database_to_head(db_url):
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"transcripts", "turns", "segments", "codes", "codings", "participants", "users",
            "audit_log"} <= tables
    with engine.connect() as connection:  # the migrations create exactly what the models say
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    engine.dispose()


def test_sqlite_enforces_foreign_keys(study):
    with pytest.raises(IntegrityError), study.transaction() as session:
        session.add(Coding(coder_id=99, code_id=99, transcript_id=99, start=0, end=1))


def test_nested_transactions_commit_together_or_not_at_all(any_study):
    with pytest.raises(ValidationError), any_study.transaction():
        import_transcripts(any_study, LEAD_CLI, [FileInput("a.txt", b"Amy: one.\n")])
        import_transcripts(any_study, LEAD_CLI, [FileInput("a.txt", b"Amy: two.\n")])
    with any_study.session() as session:
        assert session.scalar(select(func.count()).select_from(Transcript)) == 0


def _batch(tmp_path, count=10, lines=400):
    paths = []
    for n in range(count):
        body = "".join(f"{'Interviewer' if i % 2 else 'Amy'}: Line {i} of file {n}. It was fine, really. "
                       f"We talked about the group.\n" for i in range(lines))
        path = tmp_path / f"t{n:02d}.txt"
        path.write_text(body, encoding="utf-8")
        paths.append(str(path))
    return paths


def test_a_process_killed_during_an_import_leaves_the_database_as_it_was(db_url, tmp_path):
    study = Study.open(db_url)
    import_transcripts(study, LEAD_CLI, [FileInput("before.txt", b"Amy: already here.\n")])
    before = study_status(study, LEAD_CLI)
    study.close()
    env = dict(os.environ, WORKBENCH_DATABASE_URL=db_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "import", *_batch(tmp_path)],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("[3/10]"):  # three transcripts written, transaction still open
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, seen
    study = Study.open(db_url)
    assert study_status(study, LEAD_CLI) == before
    if study.engine.dialect.name == "sqlite":
        with study.engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    import_transcripts(study, LEAD_CLI, [FileInput("after.txt", b"Amy: still works.\n")])
    study.close()


def _table_rows(study):
    with study.engine.connect() as connection:
        names = [t for t in inspect(study.engine).get_table_names() if t != "alembic_version"]
        return {name: sorted(map(tuple, connection.execute(text(f'SELECT * FROM "{name}"')).all()), key=repr)
                for name in names}


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_backup_restores_every_table_into_an_empty_database(sample_study, target, tmp_path, request):
    # codes that refer to codes created after them (a parent, a merge target) restore too
    from workbench.codebook.ops import accept_proposal, merge_codes, move_code

    newest = accept_proposal(sample_study, LEAD_CLI, "Court and family proceedings")
    move_code(sample_study, LEAD_CLI, "Waiting for support", newest)
    merge_codes(sample_study, LEAD_CLI, ["The 12-week limit"], newest)
    buffer = io.BytesIO()
    counts = backup(sample_study, buffer)
    assert counts["codings"] > 0 and counts["segments"] > 0
    if target == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        server = request.getfixturevalue("postgres")
        url = server.create()
    try:
        restored_counts = restore(url, io.BytesIO(buffer.getvalue()))
        assert restored_counts == counts
        restored = Study.open(url)
        assert study_status(restored, LEAD_CLI) | {"database": None} == study_status(sample_study, LEAD_CLI) | {"database": None}
        if target == "sqlite":
            assert _table_rows(restored) == _table_rows(sample_study)
        # ids keep counting after a restore (PostgreSQL sequences moved past the restored rows)
        import_transcripts(restored, LEAD_CLI, [FileInput("new.txt", b"Amy: a new one.\n")])
        with restored.session() as session:
            total = session.scalar(select(func.count()).select_from(Transcript))
        assert total == study_status(sample_study, LEAD_CLI)["transcripts"] + 1
        restored.close()
        with pytest.raises(ValidationError, match="not empty"):
            restore(url, io.BytesIO(buffer.getvalue()))
    finally:
        if target == "postgresql":
            server.drop(url)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    with pytest.raises(InputError, match="not a workbench backup"):
        restore(f"sqlite:///{tmp_path / 'x.db'}", io.BytesIO(b"hello"), "hello.txt")


def test_a_database_from_a_newer_version_is_refused_clearly(sqlite_url):
    Study.open(sqlite_url).close()
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(WorkbenchError, match="newer than this version"):
        Study.open(sqlite_url)


def test_upgrading_an_older_database_backfills_the_lemma_index(tmp_path, sample_study):
    """A study imported before the lemma index existed gets the same index a fresh import writes."""
    from sqlalchemy import MetaData

    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(old_url)
    upgrade(old, "0002")
    source, target = MetaData(), MetaData()
    source.reflect(sample_study.engine)
    target.reflect(old)
    with sample_study.engine.connect() as read, old.begin() as write:
        # the consensus coder came with reconciliation (0004): an older study has none
        consensus = read.execute(text("SELECT id FROM users WHERE role = 'consensus'")).scalar()
        for table in target.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in read.execute(select(source.tables[table.name]))]
            rows = [r for r in rows if r.get("role") != "consensus" and r.get("coder_id") != consensus]
            columns = set(table.columns.keys())
            if rows:
                write.execute(table.insert(), [{k: v for k, v in r.items() if k in columns} for r in rows])
    upgrade(old)
    query = text('SELECT segment_id, transcript_id, position, start, "end", lemma FROM tokens ORDER BY id')
    with old.connect() as a, sample_study.engine.connect() as b:
        backfilled, imported = a.execute(query).all(), b.execute(query).all()
    assert len(backfilled) > 20000 and backfilled == imported
    with old.connect() as a:  # transcripts coders already had stay released, and say why
        notes = set(a.execute(text("SELECT review_note FROM transcripts WHERE reviewed_at IS NOT NULL")).scalars())
        assert notes == {"released before the anonymisation check existed"}
        assert a.execute(text("SELECT count(*) FROM transcripts WHERE reviewed_at IS NULL")).scalar() == 0
    old.dispose()


def test_deleting_a_transcript_removes_everything_attached_in_one_go(sample_study):
    from workbench.access import LEAD_CLI
    from workbench.coding.codings import list_codings
    from workbench.transcripts.study import delete_transcript

    before = study_status(sample_study, LEAD_CLI)
    amy = len(list_codings(sample_study, LEAD_CLI, transcript="M01_Amy"))
    counts = delete_transcript(sample_study, LEAD_CLI, "M01_Amy")
    assert counts["codings"] == amy > 0 and counts["assignments"] == 2
    after = study_status(sample_study, LEAD_CLI)
    assert after["transcripts"] == before["transcripts"] - 1
    assert sum(after["codings"].values()) == sum(before["codings"].values()) - amy
    with sample_study.engine.connect() as connection:
        for table in ("turns", "segments", "tokens", "entities", "codings", "assignments", "memos"):
            orphans = connection.execute(text(
                f"SELECT count(*) FROM {table} WHERE transcript_id NOT IN (SELECT id FROM transcripts)")).scalar()
            assert orphans == 0, table


# --- upgrading an existing database: a backup first ------------------------------------------

def _previous_revision() -> str:
    """The revision just before the head: what a study made by the previous version is at."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None)).get_revision(head_revision()).down_revision


def _older_database(url: str, keep_wal: bool = False):
    """A database at the previous revision holding one participant, made with the store's own
    upgrade helper. With `keep_wal` (SQLite) a connection stays open with automatic checkpoints
    off, so the participant is still only in the write-ahead log: returned, to close later."""
    engine = make_engine(url)
    upgrade(engine, _previous_revision())
    raw = None
    if keep_wal:
        raw = engine.raw_connection()
        raw.driver_connection.execute("PRAGMA wal_autocheckpoint=0")
        raw.driver_connection.execute(
            "INSERT INTO participants (pseudonym, role, attributes, guid) VALUES ('Amy', 'mother', '{}', 'guid-amy')")
    else:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO participants (pseudonym, role, attributes, guid) VALUES ('Amy', 'mother', '{}', 'guid-amy')"))
        engine.dispose()
    return raw


def _pseudonyms(study) -> list[str]:
    from workbench.store.models import Participant

    with study.session() as session:
        return list(session.scalars(select(Participant.pseudonym)))


def test_opening_an_older_sqlite_file_backs_it_up_then_upgrades_it(tmp_path, caplog):
    import logging
    import sqlite3

    path = tmp_path / "study.db"
    url = f"sqlite:///{path}"
    previous, head = _previous_revision(), head_revision()
    holder = _older_database(url, keep_wal=True)
    try:
        assert (tmp_path / "study.db-wal").stat().st_size > 0  # a copy of the main file alone lacks Amy
        with caplog.at_level(logging.INFO, logger="workbench.store.db"):
            study = Study.open(url)
    finally:
        holder.close()
    expected = tmp_path / f"study.db.before-{head}"
    assert study.migration.backup == expected and expected.is_file()
    assert (study.migration.before, study.migration.after, study.migration.new) == (previous, head, False)
    assert any(str(expected) in record.getMessage() for record in caplog.records)
    assert current_revision(study.engine) == head and _pseudonyms(study) == ["Amy"]
    study.close()
    copy = sqlite3.connect(expected)  # the file as it was: old revision, the data, whole
    try:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(previous,)]
        assert copy.execute("SELECT pseudonym FROM participants").fetchall() == [("Amy",)]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, no -wal
    finally:
        copy.close()
    again = Study.open(url)  # at head now: no second backup
    assert again.migration is None
    again.close()
    assert sorted(p.name for p in tmp_path.glob("study.db.before-*")) == [expected.name]


def test_an_existing_backup_file_is_never_overwritten(tmp_path):
    path = tmp_path / "study.db"
    _older_database(f"sqlite:///{path}")
    taken = tmp_path / f"study.db.before-{head_revision()}"
    taken.write_bytes(b"an earlier backup")
    study = Study.open(f"sqlite:///{path}")
    assert study.migration.backup == tmp_path / f"{taken.name}.1"
    assert taken.read_bytes() == b"an earlier backup"
    assert study.migration.backup.stat().st_size > 0
    study.close()


def test_a_new_database_is_created_at_head_without_a_backup(db_url, tmp_path):
    study = Study.open(db_url)
    assert study.migration.new and study.migration.backup is None
    assert current_revision(study.engine) == head_revision()
    study.close()
    assert not list(tmp_path.glob("*.before-*"))


def test_workbench_migrate_on_sqlite_backs_up_and_says_so(tmp_path):
    from click.testing import CliRunner

    from workbench.cli import cli

    path = tmp_path / "study.db"
    url = f"sqlite:///{path}"
    previous, head = _previous_revision(), head_revision()
    _older_database(url)
    result = CliRunner().invoke(cli, ["--db", url, "migrate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    backup_file = tmp_path / f"study.db.before-{head}"
    assert f"to {backup_file} before upgrading it to {head}" in result.stdout
    assert f"schema upgraded from revision {previous} to {head}" in result.stdout
    assert backup_file.is_file()
    result = CliRunner().invoke(cli, ["--db", url, "migrate"], catch_exceptions=False)
    assert result.exit_code == 0 and "nothing to do" in result.stdout
    assert len(list(tmp_path.glob("study.db.before-*"))) == 1
    # any other command upgrades an older file too, saying on stderr where the copy went
    other = tmp_path / "other.db"
    _older_database(f"sqlite:///{other}")
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{other}", "status", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("\n") == 1 and f"{other}.before-{head}" in result.stderr
    assert json.loads(result.stdout)["schema_revision"] == head


@pytest.mark.postgres
def test_postgresql_behind_head_is_refused_until_workbench_migrate(postgres, tmp_path):
    from click.testing import CliRunner

    from workbench.cli import cli

    def run(*args, input=None):
        return CliRunner().invoke(cli, ["--db", url, *args], input=input, catch_exceptions=False)

    previous, head = _previous_revision(), head_revision()
    url = postgres.create()
    try:
        _older_database(url)
        with pytest.raises(MigrationRequired) as refused:
            Study.open(url)
        message = str(refused.value)
        assert "\n" not in message and previous in message
        assert "`workbench backup --out FILE`" in message and "`workbench migrate`" in message
        engine = make_engine(url)
        assert current_revision(engine) == previous  # untouched
        engine.dispose()
        status = run("status")
        assert status.exit_code == 1 and status.stderr == f"error: {message}\n"
        saved = tmp_path / "before-migrate.wbk.gz"
        assert run("backup", "--out", str(saved)).exit_code == 0  # read as it is, not refused
        declined = run("migrate", input="n\n")
        assert declined.exit_code == 1 and "nothing upgraded" in declined.stderr
        engine = make_engine(url)
        assert current_revision(engine) == previous
        engine.dispose()
        migrated = run("migrate", "--yes")
        assert migrated.exit_code == 0, migrated.stderr
        assert f"schema upgraded from revision {previous} to {head}" in migrated.stdout
        assert "backed up" not in migrated.stdout  # nothing copied on a server
        study = Study.open(url)
        assert current_revision(study.engine) == head and _pseudonyms(study) == ["Amy"]
        study.close()
        assert "nothing to do" in run("migrate").stdout
        # the backup taken before migrating restores (into a newer schema) with the data
        restore(f"sqlite:///{tmp_path / 'restored.db'}", io.BytesIO(saved.read_bytes()))
        restored = Study.open(f"sqlite:///{tmp_path / 'restored.db'}")
        assert _pseudonyms(restored) == ["Amy"]
        restored.close()
    finally:
        postgres.drop(url)
