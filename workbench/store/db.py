"""Engines, sessions and schema migrations. The only module that knows how to reach a database.

The URL comes from `--db`, else `WORKBENCH_DATABASE_URL`, else the SQLite file `workbench.db`
in the working directory. SQLite runs with foreign keys on, WAL journal and a busy timeout.

Schema upgrades: a new database is created at the Alembic head. An existing SQLite file is first
copied beside itself as `<file>.before-<head>` (SQLite's online backup API, so a WAL database is
copied consistently); an existing server database behind the head is refused until someone has
backed it up and runs `workbench migrate`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import WorkbenchError

DEFAULT_URL = "sqlite:///workbench.db"
ENV_VAR = "WORKBENCH_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")

log = logging.getLogger(__name__)


class MigrationRequired(WorkbenchError):
    """An existing server database's schema is behind this version of workbench: it is upgraded
    only by `workbench migrate`, after a backup."""


def database_url(explicit: str | None = None) -> str:
    """The database URL to use: explicit, then the environment, then ./workbench.db.
    A bare file path is accepted and read as an SQLite file."""
    url = explicit or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


PRIVATE = 0o600  # the study file, its -wal/-shm and backups: the owner's only


def _open_private(path: Path) -> int:
    """Create `path` (it must not exist) readable and writable by its owner only, whatever the
    umask, and return the open descriptor."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _create_private(path: Path) -> None:
    """A new SQLite file is created empty, owner only, before SQLite opens it: SQLite then gives
    its -wal and -shm files the same permissions. An existing file is left as it is."""
    try:
        os.close(_open_private(path))
    except FileExistsError:
        pass
    except OSError as exc:
        raise WorkbenchError(f"cannot create database file {path}: {exc.strerror}") from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # We issue BEGIN ourselves (see _sqlite_begin), so the driver must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted or replaced content is overwritten, not left in free pages: after a redaction the
    # original words are gone from the file (see workbench.privacy.revisions).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise WorkbenchError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).parent.exists():
            raise WorkbenchError(f"folder for database file does not exist: {database}")
        if database and database != ":memory:" and not parsed.query.get("uri"):
            _create_private(Path(database))
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise WorkbenchError(f"unknown kind of database {parsed.drivername!r} in the URL") from None
    except ModuleNotFoundError as exc:
        raise WorkbenchError(f"no database driver for {parsed.drivername}: {exc.name}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


WRITE = {"workbench_write": True}


def _sqlite_begin(connection) -> None:
    """Write transactions take SQLite's write lock up front (BEGIN IMMEDIATE), so two writers
    wait for each other (busy timeout) instead of failing when a read turns into a write."""
    immediate = connection.get_execution_options().get("workbench_write")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def _known_revision(revision: str) -> bool:
    scripts = ScriptDirectory.from_config(alembic_config(None))
    return any(script.revision == revision for script in scripts.walk_revisions())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic; batch mode on SQLite)."""
    command.upgrade(alembic_config(engine), revision)


def is_empty(engine: Engine) -> bool:
    """True when the database has no tables of ours (a new file or a fresh server database)."""
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    return not names


def sqlite_file(engine: Engine) -> Path | None:
    """The file of an SQLite database (None: another database, or SQLite in memory)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(engine.url.database)


def _reserve(path: Path) -> Path:
    """Create `path` empty (owner only), or `path.1`, `path.2`, ... if taken: never overwrites a
    file, even one another process creates at the same moment."""
    candidate, number = path, 0
    while True:
        try:
            os.close(_open_private(candidate))
            return candidate
        except FileExistsError:
            number += 1
            candidate = path.with_name(f"{path.name}.{number}")


def backup_sqlite(engine: Engine, label: str) -> Path:
    """Copy the SQLite database beside itself as `<file>.before-<label>` (`.1`, `.2`, ... when
    that exists) and return the copy's path.

    The copy is made with SQLite's online backup API in one step, i.e. inside one read
    transaction: a consistent snapshot including what is still in the write-ahead log, even
    with other connections open. The copy is a single file (rollback journal, not WAL) readable
    by its owner only (0600): it holds everything the study does, password hashes included."""
    source = sqlite_file(engine)
    if source is None:
        raise WorkbenchError("only an SQLite database file can be copied this way")
    try:
        target = _reserve(source.with_name(f"{source.name}.before-{label}"))
    except OSError as exc:
        raise WorkbenchError(f"cannot back up {source}: {exc.strerror}") from None
    raw = engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    except (sqlite3.Error, OSError) as exc:
        target.unlink(missing_ok=True)
        raise WorkbenchError(f"cannot back up {source} to {target}: {exc}") from None
    finally:
        raw.close()
    return target


@dataclass(frozen=True)
class Migration:
    """What `upgrade_to_head` did: the revision before (None: none yet) and after, whether the
    database was new (nothing to keep), and where an SQLite file was copied first."""

    before: str | None
    after: str
    new: bool
    backup: Path | None = None


def check_not_newer(revision: str | None) -> None:
    if revision is not None and not _known_revision(revision):
        raise WorkbenchError(
            f"the database's schema (revision {revision}) is newer than this "
            "version of workbench; upgrade workbench")


def upgrade_to_head(engine: Engine, backed_up: bool = False) -> Migration | None:
    """Bring the schema to the Alembic head; None when it is there already.

    A new, empty database is simply created at the head. An existing one (tables of ours, or
    an older revision) is on SQLite first copied with `backup_sqlite` (labelled with the head
    revision); a server database is upgraded only when the caller says it is backed up
    (`backed_up`, i.e. `workbench migrate`), else `MigrationRequired`."""
    head = head_revision()
    revision = current_revision(engine)
    if revision == head:
        return None
    check_not_newer(revision)
    if revision is None and is_empty(engine):
        upgrade(engine)
        return Migration(None, head, new=True)
    copy = None
    if engine.dialect.name == "sqlite":
        if sqlite_file(engine) is not None:
            copy = backup_sqlite(engine, head)
            log.info("backed up %s (schema %s) to %s before upgrading it to %s",
                     sqlite_file(engine), revision, copy, head)
    elif not backed_up:
        raise MigrationRequired(
            f"the database's schema ({f'revision {revision}' if revision else 'no revision'}) is older than this version of "
            f"workbench ({head}): back it up (`workbench backup --out FILE`), then run `workbench migrate`")
    upgrade(engine)
    return Migration(revision, head, new=False, backup=copy)


class _Borrowed:
    """The open transaction's session, lent to a `with study.session()` block without
    closing it at the block's end."""

    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc) -> None:
        return None


AFTER_COMMIT = "workbench.after_commit"

class Study:
    """An open study database: an engine plus a session factory.

    `Study.open(url)` brings the schema to head (`upgrade_to_head`), so any command works on a
    new file; `migration` says what it did (None: nothing).
    """

    def __init__(self, engine: Engine, migration: Migration | None = None):
        self.engine = engine
        self.migration = migration
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._current: ContextVar[Session | None] = ContextVar(f"study-{id(self)}", default=None)

    @classmethod
    def open(cls, url: str | None = None, migrate: bool = True) -> "Study":
        """Open the study at `url`. With `migrate` (the default) a new database is created at
        the schema head, an older SQLite file is copied (`<file>.before-<head>`) and upgraded,
        and an older server database raises `MigrationRequired` (see `upgrade_to_head`)."""
        engine = make_engine(url)
        try:
            migration = upgrade_to_head(engine) if migrate else None
        except OperationalError as exc:
            engine.dispose()
            raise WorkbenchError(f"cannot open database {engine.url!r}: {exc.orig}") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, migration)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        """A session for reading (inside an open transaction: that transaction's session)."""
        current = self._current.get()
        return _Borrowed(current) if current is not None else self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: everything inside commits together or not at all.

        Transactions nest: inside an open one, `transaction()` yields the same session, so a
        composite operation (the sample study, a restore) is still all or nothing."""
        current = self._current.get()
        if current is not None:
            yield current
            return
        with self._sessions() as session:
            with session.begin():
                session.connection(execution_options=WRITE)
                token = self._current.set(session)
                try:
                    yield session
                finally:
                    self._current.reset(token)
            for action in session.info.pop(AFTER_COMMIT, []):
                action()

    def after_commit(self, action) -> None:
        """Run `action` once the open transaction has committed (at once if none is open): work
        that must not run inside it, such as checkpointing SQLite's log, which waits for every
        open transaction — this one included — to end."""
        current = self._current.get()
        if current is None:
            action()
        else:
            current.info.setdefault(AFTER_COMMIT, []).append(action)

    def close(self) -> None:
        self.engine.dispose()
