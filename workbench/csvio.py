"""Reading and writing the CSV files users bring: one place for decoding, header checks and
row numbers in messages."""

from __future__ import annotations

import csv
import io
from typing import Iterator

from .canonical import decode_bytes
from .errors import InputError


def read_rows(data: bytes, filename: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number as a spreadsheet shows it, row) with stripped values; header names
    are matched case-insensitively. Unknown extra columns are kept (callers ignore them)."""
    text = decode_bytes(data, filename).text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty", filename) from None
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file ({exc})", filename) from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise InputError(f"missing column(s): {', '.join(missing)}", filename)
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(names):
                raise InputError(f"row {number} has more cells than the header", filename)
            row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(names)}
            yield number, row
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file ({exc})", filename) from None


def write_rows(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return out.getvalue()
