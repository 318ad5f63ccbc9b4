"""Engines, sessions and schema migrations. The only module that knows how to reach a database.

The URL comes from `--db`, else `WORKBENCH_DATABASE_URL`, else the SQLite file `workbench.db`
in the working directory. SQLite runs with foreign keys on, WAL journal and a busy timeout.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
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


def database_url(explicit: str | None = None) -> str:
    """The database URL to use: explicit, then the environment, then ./workbench.db.
    A bare file path is accepted and read as an SQLite file."""
    url = explicit or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


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


class _Borrowed:
    """The open transaction's session, lent to a `with study.session()` block without
    closing it at the block's end."""

    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc) -> None:
        return None


class Study:
    """An open study database: an engine plus a session factory.

    `Study.open(url)` migrates the schema to head, so any command works on a new file.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._current: ContextVar[Session | None] = ContextVar(f"study-{id(self)}", default=None)

    @classmethod
    def open(cls, url: str | None = None, migrate: bool = True) -> "Study":
        engine = make_engine(url)
        try:
            revision = current_revision(engine)
            if migrate and revision != head_revision():
                if revision is not None and not _known_revision(revision):
                    raise WorkbenchError(
                        f"the database's schema (revision {revision}) is newer than this "
                        "version of workbench; upgrade workbench")
                upgrade(engine)
        except OperationalError as exc:
            raise WorkbenchError(f"cannot open database {engine.url!r}: {exc.orig}") from None
        return cls(engine)

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
        with self._sessions() as session, session.begin():
            session.connection(execution_options=WRITE)
            token = self._current.set(session)
            try:
                yield session
            finally:
                self._current.reset(token)

    def close(self) -> None:
        self.engine.dispose()
