"""Files for reports and for other tools, written to file objects (pure of the database: they
take what `workbench.analysis.quotes`, `workbench.coding.codings` and `workbench.codebook.study` return).

- themed quote tables: Word (a heading per theme and sub-theme, the code's definition as the
  framing paragraph, counts, then a table — quote | attribution | source — or block quotes),
  Excel and CSV (one row per quote, every participant attribute a column);
- codings as CSV (`transcript`, `coder`, `code`, `start`, `end`, `quote`, `memo`), readable
  back by the codings import;
- the codebook as a Word appendix (hierarchy with definitions, criteria and examples);
- the agreement report (Word or Excel) from `workbench.agreement.study.report_json`, with the
  settings that produced it and the methods sentence.
Quotes use the house style: curly single quotes around the exact words, `‘…’ (Amy)`.

Every CSV and Excel cell goes through `workbench.csvio.safe_cell` (in `write_rows` and
`write_xlsx`): text a spreadsheet would run as a formula gets a leading `'`, and Excel cells
holding text are always text cells, never formulas.
"""

from __future__ import annotations

import io
from typing import IO

from .analysis.quotes import ELLIPSIS, QuoteSet
from .agreement.report import MAX_WIDTH, MIN_CODED, number as coefficient_text
from .csvio import safe_cell, write_rows

QUOTE_COLUMNS = ("theme", "code", "quote", "attribution", "pseudonym", "role", "group", "age", "transcript",
                 "start", "end", "coder", "memo")
CODING_COLUMNS = ("transcript", "coder", "code", "start", "end", "quote", "memo")
LAYOUTS = ("table", "blockquote")


def quoted(text: str) -> str:
    return f"‘{text}’"


def quote_rows(quotes: QuoteSet) -> tuple[list[str], list[dict]]:
    """Columns and rows of a quote table: one row per quote, every participant attribute a column."""
    extra = sorted({k for q in quotes.quotes for k in q.participant["attributes"]} - set(QUOTE_COLUMNS))
    rows = []
    for q in quotes.quotes:
        rows.append({"theme": q.theme, "code": q.code, "quote": q.text, "attribution": q.attribution,
                     "pseudonym": q.pseudonym, "role": q.participant["role"] or "",
                     "group": q.participant["group"] or "", "age": "" if q.participant["age"] is None else q.participant["age"],
                     **{k: q.participant["attributes"].get(k, "") for k in extra},
                     "transcript": q.transcript, "start": q.start, "end": q.end, "coder": q.coder, "memo": q.memo})
    columns = list(QUOTE_COLUMNS[:8]) + extra + list(QUOTE_COLUMNS[8:])
    return columns, rows


def write_csv(columns: list[str], rows: list[dict]) -> bytes:
    return write_rows(columns, rows).encode("utf-8-sig")  # with a BOM, so Excel reads UTF-8


def write_xlsx(sheets: dict[str, tuple[list[str], list[dict]]], out: IO[bytes]) -> None:
    """One sheet per entry: a bold header row, frozen, filtered, with sensible column widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for name, (columns, rows) in sheets.items():
        sheet = book.create_sheet(name[:31])
        for k, column in enumerate(columns, start=1):
            _set_cell(sheet.cell(row=1, column=k), column).font = Font(bold=True)
        for number, row in enumerate(rows, start=2):
            for k, column in enumerate(columns, start=1):
                _set_cell(sheet.cell(row=number, column=k), row.get(column, ""))
        sheet.freeze_panes = "A2"
        if rows:
            sheet.auto_filter.ref = sheet.dimensions
        for k, column in enumerate(columns, start=1):
            longest = max([len(str(column))] + [len(str(r.get(column, ""))) for r in rows[:200]])
            letter = sheet.cell(row=1, column=k).column_letter
            sheet.column_dimensions[letter].width = min(max(10, longest + 2), 80)
            if longest > 80:
                for cell in sheet[letter][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.save(out)


def _set_cell(cell, value):
    """Write one Excel cell: numbers as numbers; text through `safe_cell` and always as a text
    cell (openpyxl on its own makes "=..." a formula and "#N/A" an error), with characters XML
    cannot hold replaced by U+FFFD."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    safe = safe_cell(value)
    if isinstance(safe, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", safe)
        cell.data_type = "s"
        if safe is not value:
            cell.quotePrefix = True  # neutralised: Excel keeps it text even when someone edits it
    else:
        cell.value = safe
    return cell


def _counts_line(counts: dict) -> str:
    roles = ", ".join(f"{role} {n}" for role, n in sorted(counts["by_role"].items()))
    return (f"{counts['quotes']} quote{'s' * (counts['quotes'] != 1)} from {counts['participants']} "
            f"participant{'s' * (counts['participants'] != 1)}" + (f" ({roles})" if roles else "") + ".")


def quotes_docx(quotes: QuoteSet, out: IO[bytes], layout: str = "table", title: str = "Themes and quotes") -> None:
    """The themed quote table as a Word document."""
    from docx import Document
    from docx.shared import Pt

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    document = Document()
    document.add_heading(title, level=0)
    document.add_paragraph(f"Coding: {quotes.coder}. Quotes are the participants' exact words; "
                           f"{ELLIPSIS} marks sentences left out.")
    by_theme: dict[str, list] = {}
    for q in quotes.quotes:
        by_theme.setdefault(q.theme, []).append(q)
    for path, depth, definition in quotes.themes:
        document.add_heading(path.split("/")[-1], level=min(depth + 1, 9))
        if definition:
            document.add_paragraph(definition)
        document.add_paragraph(_counts_line(quotes.counts(path))).runs[0].italic = True
        mine = by_theme.get(path, [])
        if not mine:
            continue
        if layout == "table":
            table = document.add_table(rows=1, cols=3)
            table.style = "Table Grid"
            for cell, label in zip(table.rows[0].cells, ("Quote", "Attribution", "Source")):
                cell.text = label
                cell.paragraphs[0].runs[0].bold = True
            for q in mine:
                cells = table.add_row().cells
                cells[0].text = quoted(q.text)
                cells[1].text = f"({q.attribution})"
                cells[2].text = f"{q.transcript}, {q.start}–{q.end}"
                for paragraph in cells[2].paragraphs:
                    for run in paragraph.runs:
                        run.font.size = Pt(8)
        else:
            for q in mine:
                paragraph = document.add_paragraph(style="Quote")
                paragraph.add_run(quoted(q.text))
                paragraph.add_run(f" ({q.attribution})")
    document.save(out)


def codebook_docx(codes: list[dict], out: IO[bytes], title: str = "Appendix: coding frame") -> None:
    """The codebook as a Word appendix: each code under its theme with its definition,
    inclusion and exclusion criteria and example."""
    from docx import Document

    document = Document()
    document.add_heading(title, level=0)
    for code in codes:
        document.add_heading(code["name"], level=min(code["depth"] + 1, 9))
        for key, label in (("definition", "Definition"), ("inclusion", "Include"), ("exclusion", "Exclude"),
                           ("example", "Example")):
            if code.get(key):
                paragraph = document.add_paragraph()
                paragraph.add_run(f"{label}: ").bold = True
                paragraph.add_run(code[key])
    document.save(out)


def codings_csv(rows: list) -> bytes:
    """Codings (`workbench.codings.CodingRow`) as the CSV the codings import reads back."""
    return write_rows(list(CODING_COLUMNS), [
        {"transcript": r.transcript, "coder": r.coder, "code": r.code, "start": r.start, "end": r.end,
         "quote": r.text, "memo": r.memo} for r in rows]).encode("utf-8")


def to_bytes(writer, *args, **kwargs) -> bytes:
    buffer = io.BytesIO()
    writer(*args, buffer, **kwargs)
    return buffer.getvalue()


COEFFICIENT_NAMES = {"percent_agreement": "% agreement", "cohen_kappa": "Cohen's κ", "scott_pi": "Scott's π",
                     "krippendorff_alpha": "Krippendorff's α", "gwet_ac1": "Gwet's AC1",
                     "brennan_prediger": "Brennan–Prediger"}


def agreement_rows(report: dict, scope: str = "by_code") -> tuple[list[str], list[dict]]:
    """One row per result of the agreement report (`report_json`): the 2×2 table, each
    coefficient with its 95% interval, the flag and notes."""
    columns = ["code", "transcript", "units", "both", "only_first", "only_second", "neither"]
    for name in COEFFICIENT_NAMES:
        columns += [name, f"{name}_ci_low", f"{name}_ci_high"]
    columns += ["flag", "notes"]
    rows = []
    results = report[scope] if scope != "overall" else [report["overall"]] if report["overall"] else []
    for result in results:
        row = {k: result[k] for k in ("code", "transcript", "units", "both", "only_first", "only_second", "neither")}
        for name in COEFFICIENT_NAMES:
            value = result["coefficients"][name]
            row.update({name: value["value"], f"{name}_ci_low": value["ci_low"], f"{name}_ci_high": value["ci_high"]})
        row.update(flag=result["flag"], notes="; ".join(result["notes"]))
        rows.append(row)
    return columns, rows


def _number(value, interval=None) -> str:
    text = coefficient_text(value, 3)  # never "-0.000"
    if value is not None and interval and interval[0] is not None:
        text += f" ({coefficient_text(interval[0])} to {coefficient_text(interval[1])})"
    return text


def agreement_docx(report: dict, out: IO[bytes], title: str = "Inter-coder agreement",
                   settings: list[tuple[str, str]] | None = None, methods: str | None = None) -> None:
    """The agreement report for a methods section: the methods sentence and the settings that
    produced the numbers (`workbench.agreement.report.settings_rows`), what was compared, the
    overall values with 95% intervals, then a table per code."""
    from docx import Document

    document = Document()
    document.add_heading(title, level=0)
    if methods:
        document.add_heading("For the methods section", level=1)
        document.add_paragraph(methods)
    if settings:
        document.add_heading("Settings", level=1)
        for name, value in settings:
            if name != "methods sentence":
                paragraph = document.add_paragraph(style="List Bullet")
                paragraph.add_run(f"{name}: ").bold = True
                paragraph.add_run(value)
        document.add_heading("What was compared", level=1)
    coders = " and ".join(report["coders"])
    document.add_paragraph(
        f"Coders {coders} coded {len(report['transcripts'])} transcript(s) independently "
        f"({', '.join(report['transcripts'])}); {report['codes']} codes were used. "
        f"Agreement was computed on {report['unit']} units: a unit counts as coded when a coder's passages with the "
        f"code cover at least {report['threshold']:.0%} of it. Values pool every (unit, code) decision; intervals are "
        f"bootstrap 95% percentile intervals ({report['bootstrap_draws']} draws, seed {report['seed']}).")
    overall = report["overall"]
    if overall:
        document.add_heading("Overall", level=1)
        for name, label in COEFFICIENT_NAMES.items():
            value = overall["coefficients"][name]
            shown = (f"{value['value']:.1%}" if name == "percent_agreement" and value["value"] is not None
                     else _number(value["value"], (value["ci_low"], value["ci_high"])))
            document.add_paragraph(f"{label}: {shown}", style="List Bullet")
        document.add_paragraph(f"Flag: {overall['flag']}.")
    document.add_heading("By code", level=1)
    table = document.add_table(rows=1, cols=7)
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, ("Code", "Units", "Both / only A / only B", "% agreement",
                                                  "Cohen's κ", "Krippendorff's α (95% CI)", "Flag")):
        cell.text = label
        cell.paragraphs[0].runs[0].bold = True
    for result in report["by_code"]:
        c = result["coefficients"]
        alpha = c["krippendorff_alpha"]
        cells = table.add_row().cells
        cells[0].text = result["code"]
        cells[1].text = str(result["units"])
        cells[2].text = f"{result['both']} / {result['only_first']} / {result['only_second']}"
        cells[3].text = "undefined" if c["percent_agreement"]["value"] is None else f"{c['percent_agreement']['value']:.1%}"
        cells[4].text = _number(c["cohen_kappa"]["value"])
        cells[5].text = _number(alpha["value"], (alpha["ci_low"], alpha["ci_high"]))
        cells[6].text = result["flag"]
    document.add_paragraph(
        "Flags follow Krippendorff (2004): α ≥ 0.800 reliable, 0.667–0.800 tentative, below 0.667 unreliable; "
        f"\"too few codings to judge\" where fewer than {MIN_CODED} units were coded by either coder (both + only A "
        f"+ only B) or the 95% interval of α is wider than {MAX_WIDTH}.")
    for note in report["notes"]:
        document.add_paragraph(note)
    document.save(out)
