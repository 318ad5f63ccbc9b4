"""Backup and restore of a whole study: every table, every row, into a single file.

The file is gzip-compressed JSON lines: a header with the schema revision, then one line per
table with its rows. Restore needs an empty database (SQLite or PostgreSQL): it creates the
schema at the backup's revision, inserts every row in one transaction, then migrates to the
current head — so a backup taken by an older version restores into a newer one.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import date, datetime
from typing import IO

from sqlalchemy import MetaData, func, select, text

from .. import __version__
from ..errors import InputError, ValidationError
from .db import Study, current_revision, is_empty, make_engine, upgrade

FORMAT = "workbench-backup"
FORMAT_VERSION = 1


def _encode(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, (bytes, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _decode(value):
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key == "$datetime":
            return datetime.fromisoformat(inner)
        if key == "$date":
            return date.fromisoformat(inner)
        if key == "$bytes":
            return base64.b64decode(inner)
    return value


def _tables(engine) -> MetaData:
    metadata = MetaData()
    metadata.reflect(engine)
    return metadata


def backup(study: Study, out: IO[bytes]) -> dict:
    """Write the whole study to `out`. Returns the number of rows per table."""
    counts = {}
    metadata = _tables(study.engine)
    with study.engine.connect() as connection, connection.begin(), \
            gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as archive:
        header = {"format": FORMAT, "version": FORMAT_VERSION, "workbench": __version__,
                  "revision": current_revision(study.engine), "dialect": study.engine.dialect.name}
        archive.write((json.dumps(header) + "\n").encode("utf-8"))
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*order)).mappings().all()
            line = {"table": table.name, "columns": [c.name for c in table.columns],
                    "rows": [[_encode(row[c.name]) for c in table.columns] for row in rows]}
            archive.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
            counts[table.name] = len(rows)
    return counts


def _read(data: IO[bytes], filename: str) -> tuple[dict, list[dict]]:
    try:
        with gzip.GzipFile(fileobj=data, mode="rb") as archive:
            lines = archive.read().decode("utf-8").splitlines()
        header = json.loads(lines[0])
        tables = [json.loads(line) for line in lines[1:]]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, IndexError):
        raise InputError("not a workbench backup file", filename) from None
    if header.get("format") != FORMAT:
        raise InputError("not a workbench backup file", filename)
    if header.get("version") != FORMAT_VERSION:
        raise InputError(f"backup format version {header.get('version')} is not supported", filename)
    return header, tables


def restore(url: str | None, data: IO[bytes], filename: str = "backup") -> dict:
    """Restore a backup into the empty database at `url`. Returns rows per table."""
    header, tables = _read(data, filename)
    engine = make_engine(url)
    try:
        if not is_empty(engine):
            raise ValidationError("the target database is not empty; restore needs an empty database")
        if header["revision"]:
            upgrade(engine, header["revision"])
        metadata = _tables(engine)
        counts = {}
        with engine.begin() as connection:
            for entry in tables:
                table = metadata.tables.get(entry["table"])
                if table is None:
                    raise InputError(f"backup has a table {entry['table']!r} the schema lacks", filename)
                rows = [dict(zip(entry["columns"], map(_decode, row))) for row in entry["rows"]]
                if rows:
                    _insert(connection, table, rows)
                counts[entry["table"]] = len(rows)
            if engine.dialect.name == "postgresql":
                _reset_sequences(connection, metadata)
        upgrade(engine)
        return counts
    finally:
        engine.dispose()


def _insert(connection, table, rows: list[dict]) -> None:
    """Insert rows; a column referring to the same table (a code's parent, the code it was
    merged into) is filled in afterwards, so row order cannot break the foreign key."""
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if not own:
        connection.execute(table.insert(), rows)
        return
    connection.execute(table.insert(), [{**row, **{name: None for name in own}} for row in rows])
    for row in rows:
        values = {name: row[name] for name in own if row.get(name) is not None}
        if values:
            connection.execute(table.update().where(table.c.id == row["id"]).values(**values))


def _reset_sequences(connection, metadata: MetaData) -> None:
    """After inserting explicit ids, move each serial sequence past the largest id."""
    for table in metadata.sorted_tables:
        if "id" not in table.columns or table.name == "alembic_version":
            continue
        highest = connection.execute(select(func.max(table.c.id))).scalar()
        if highest is not None:
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :value)"
            ), {"value": highest})
