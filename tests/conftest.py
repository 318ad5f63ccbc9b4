"""Shared fixtures: real SQLite files in tmp_path, a real PostgreSQL database when
WORKBENCH_TEST_POSTGRES_URL is set, and the sample study built once per test session."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workbench.sample import load_sample_study
from workbench.store import Study
from workbench.suggest.corpus import embed_study

PG_ENV = "WORKBENCH_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")
SAMPLE_PASSWORDS = {"morgan": "lead-password-1", "priya": "coder-password-1",
                    "tom": "coder-password-2", "jo": "viewer-password-1"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true) a test skipped for a missing dependency fails instead."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run everything: {report.longrepr}"


class PostgresServer:
    """Creates and drops throwaway databases on the server named by WORKBENCH_TEST_POSTGRES_URL."""

    def __init__(self, url: str):
        self.url = make_url(url)
        if self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        name = f"wb_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return PostgresServer(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """An empty database URL, on SQLite and (for every test using it) on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'study.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture
def study(sqlite_url) -> Study:
    """An empty study on SQLite (most logic is dialect-independent; storage tests use db_url)."""
    opened = Study.open(sqlite_url)
    yield opened
    opened.close()


@pytest.fixture
def any_study(db_url) -> Study:
    opened = Study.open(db_url)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The sample study, built once per session into an SQLite file (copy it before changing),
    with the embeddings suggestions need (the real model, computed once)."""
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    built = Study.open(f"sqlite:///{path}")
    load_sample_study(built, passwords=SAMPLE_PASSWORDS)
    embed_study(built)
    with built.engine.connect() as connection:  # fold the WAL into the file so a copy is whole
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    built.close()
    return path


@pytest.fixture
def sample_study(sample_db, tmp_path) -> Study:
    """A private copy of the sample study on SQLite."""
    copy = tmp_path / "sample.db"
    shutil.copy(sample_db, copy)
    opened = Study.open(f"sqlite:///{copy}")
    yield opened
    opened.close()
