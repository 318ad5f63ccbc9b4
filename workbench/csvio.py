"""Reading and writing the CSV files users bring: one place for decoding, header checks and
row numbers in messages — and for keeping spreadsheet formulas out of every cell we write.

Formula injection: a cell whose text starts with `=`, `+`, `-`, `@` (or their full-width
forms), a tab or a carriage return is run as a formula by Excel and LibreOffice when a CSV is
opened. `safe_cell` is the one place every writer (CSV here, Excel in `workbench.exports`)
neutralises such text, by the OWASP convention: a leading `'`. Numbers (and text that is just a
number, such as "-2") are left alone. `read_rows` takes the `'` off again, so what we export
imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Iterator

from .canonical import decode_bytes
from .errors import InputError

FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")  # OWASP's list, and full-width = + - @
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def _formula_like(text: str) -> bool:
    """Text a spreadsheet would read as a formula (apostrophes before it included, so that a
    text which really starts with `'=` survives the round trip through `unescape_cell`)."""
    core = text.lstrip("'")
    if not core or core[0] not in FORMULA_STARTS:
        return False
    return len(core) < len(text) or not _NUMBER.fullmatch(text)


def safe_cell(value):
    """A cell's value as it may be written to a CSV or Excel file: text that a spreadsheet would
    run as a formula gets a leading `'` (`=HYPERLINK(...)` → `'=HYPERLINK(...)`, "-1 point" →
    "'-1 point"); numbers, plain numeric text ("-2"), other text and None are returned as they are."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """The inverse of `safe_cell` for text read from a CSV file."""
    if text.startswith("'") and _formula_like(text[1:]):
        return text[1:]
    return text


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
    names = [unescape_cell(h.strip()).strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise InputError(f"missing column(s): {', '.join(missing)}", filename)
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(names):
                raise InputError(f"row {number} has more cells than the header", filename)
            row = {name: (unescape_cell(values[i].strip()).strip() if i < len(values) else "")
                   for i, name in enumerate(names)}
            yield number, row
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file ({exc})", filename) from None


def write_rows(columns: list[str], rows: list[dict]) -> str:
    """CSV text: the header, then one line per row (missing values empty); every cell, header
    included, through `safe_cell`. A row with a carriage return in a cell is written with every
    cell quoted: Python's csv module leaves a lone `\r` unquoted when lines end in `\n`, and a
    spreadsheet would start a new row there (with whatever text follows as its first cell)."""
    out = io.StringIO(newline="")
    minimal = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for values in [columns, *([("" if row.get(k) is None else row.get(k)) for k in columns] for row in rows)]:
        cells = [safe_cell(v) for v in values]
        (quoted if any(isinstance(v, str) and "\r" in v for v in cells) else minimal).writerow(cells)
    return out.getvalue()
