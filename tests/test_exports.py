"""Themed quote tables and other exports, opened with their own libraries and checked for
content: every quote verbatim in its transcript, attributions from the participant key,
counts that add up, codings CSV readable back."""

import csv
import io
from collections import Counter

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.test_cli import ok, run, sample_url
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.analysis.quotes import PRESETS, QuoteFilter, attribution, collect_quotes, shorten
from workbench.coding.codings import import_codings, list_codings
from workbench.coding.workspace import transcript_view
from workbench.errors import ValidationError
from workbench.exports import codebook_docx, codings_csv, quote_rows, quotes_docx, to_bytes, write_csv, write_xlsx
from workbench.transcripts.participants import list_participants


def texts(study):
    return {t: transcript_view(study, t).text for t in {r.transcript for r in list_codings(study, LEAD_CLI)}}


def key(study):
    return {p["pseudonym"]: p for p in list_participants(study)}


def test_attribution_templates_drop_empty_parts_cleanly():
    jack = {"pseudonym": "Jack", "role": "young person", "group": "Service 6", "age": 16, "attributes": {}}
    amy = {"pseudonym": "Amy", "role": "mother", "group": "Service 4", "age": None, "attributes": {}}
    assert attribution(PRESETS["pseudonym and age"], jack) == "Jack, age 16 years"
    assert attribution(PRESETS["pseudonym and age"], amy) == "Amy"
    assert attribution(PRESETS["service"], amy) == "Service 4"
    assert attribution(PRESETS["site and pseudonym"], {"pseudonym": "HoS01", "group": "LA01", "age": None,
                                                       "attributes": {}}) == "LA01 HoS01"
    assert attribution("{pseudonym} ({programme})", {**amy, "attributes": {"programme": "Freedom"}}) == "Amy (Freedom)"


def test_shortening_only_drops_whole_sentences():
    text = "I can see a big difference. He sleeps now. He talks to me. And school is better too."
    short = shorten(text, 10)
    assert short == "I can see a big difference. He sleeps now. …"
    assert shorten(text, 100) == text and shorten(text, None) == text
    assert shorten("One very long sentence without any stop at all in it", 3).startswith("One very long sentence")


def test_every_quote_is_verbatim_and_attributed_from_the_key(sample_study):
    quotes = collect_quotes(sample_study, LEAD_CLI, "priya", PRESETS["pseudonym and age"])
    people, transcript = key(sample_study), texts(sample_study)
    assert len(quotes.quotes) >= 300 and not quotes.problems
    for q in quotes.quotes:
        assert q.text == transcript[q.transcript][q.start:q.end] == q.text.strip()
        person = people[q.pseudonym]
        expected = f"{q.pseudonym}, age {person['age']} years" if person["age"] else q.pseudonym
        assert q.attribution == expected
    assert not any(q.pseudonym == "Interviewer" for q in quotes.quotes)


def test_a_span_across_speakers_is_quoted_turn_by_turn(sample_study):
    view = transcript_view(sample_study, "FG01_Girls_Service5")
    first, second = next((a, b) for a, b in zip(view.turns, view.turns[1:])  # two girls, one after the other
                         if not a.interviewer and not b.interviewer and a.speaker != b.speaker)
    import_codings(sample_study, LEAD_CLI, (f"transcript,coder,code,start,end\nFG01_Girls_Service5,priya,Changes noticed,"
                                  f"{first.text_start},{second.end}\n").encode(), "span.csv")
    quotes = collect_quotes(sample_study, LEAD_CLI, "priya", filters=QuoteFilter(["Changes noticed"]))
    mine = [q for q in quotes.quotes if q.transcript == "FG01_Girls_Service5" and q.start >= first.text_start
            and q.end <= second.end and q.theme == "Changes noticed"]
    assert [q.attribution for q in mine] == [first.speaker, second.speaker]
    assert [q.text for q in mine] == [view.text[first.text_start:first.end].strip(),
                                      view.text[second.text_start:second.end].strip()]


def test_the_word_table_has_a_heading_per_theme_framing_and_counts_that_add_up(sample_study):
    quotes = collect_quotes(sample_study, LEAD_CLI, "tom", order="participant")
    document = Document(io.BytesIO(to_bytes(quotes_docx, quotes)))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [path.split("/")[-1] for path, _d, _def in quotes.themes]
    rows = [row for table in document.tables for row in table.rows[1:]]
    assert len(rows) == len(quotes.quotes)
    transcript = texts(sample_study)
    for row in rows:
        quote, credit, source = (c.text for c in row.cells)
        title, _, span = source.rpartition(", ")
        start, end = map(int, span.split("–"))
        assert quote == f"‘{transcript[title][start:end]}’" and credit.startswith("(") and credit.endswith(")")
    counts = [p.text for p in document.paragraphs if p.text.endswith("participants.") or "quote" in p.text[:12]]
    totals = [int(text.split()[0]) for text in counts if text[0].isdigit()]
    top = [quotes.counts(path)["quotes"] for path, depth, _d in quotes.themes if depth == 0]
    assert sum(top) == len(quotes.quotes) and set(top) <= set(totals)
    definitions = {p.text for p in document.paragraphs}
    assert all(definition in definitions for _p, _d, definition in quotes.themes if definition)


def test_excel_and_csv_carry_every_participant_attribute(sample_study):
    quotes = collect_quotes(sample_study, LEAD_CLI, "priya", filters=QuoteFilter(roles=["mother"]))
    columns, rows = quote_rows(quotes)
    assert {"programme", "interview_mode", "family_situation"} <= set(columns)
    sheet = load_workbook(io.BytesIO(to_bytes(write_xlsx, {"Quotes": (columns, rows)})))["Quotes"]
    header = [c.value for c in sheet[1]]
    assert header == columns and sheet.max_row == len(rows) + 1
    people = key(sample_study)
    for values in sheet.iter_rows(min_row=2, values_only=True):
        row = dict(zip(header, values))
        assert row["role"] == "mother" and row["programme"] == people[row["pseudonym"]]["attributes"]["programme"]
    parsed = list(csv.DictReader(io.StringIO(write_csv(columns, rows).decode("utf-8-sig"))))
    assert [r["quote"] for r in parsed] == [r["quote"] for r in rows]


def test_codings_csv_reads_back_into_the_same_codings(sample_study):
    tom = list_codings(sample_study, LEAD_CLI, coder="tom")
    data = codings_csv(tom).decode("utf-8").replace(",tom,", ",tom2,")
    report = import_codings(sample_study, LEAD_CLI, data.encode(), "tom.csv")
    assert report.added == len(tom)
    again = list_codings(sample_study, LEAD_CLI, coder="tom2")
    assert Counter((r.transcript, r.code, r.start, r.end, r.memo) for r in again) == Counter(
        (r.transcript, r.code, r.start, r.end, r.memo) for r in tom)


def test_the_codebook_appendix_lists_every_current_code_with_its_criteria(sample_study):
    from workbench.codebook.study import list_codes

    codes = [c for c in list_codes(sample_study, LEAD_CLI) if not c["proposed_by"] and not c["retired"]]
    document = Document(io.BytesIO(to_bytes(codebook_docx, codes)))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [c["name"] for c in codes]
    body = "\n".join(p.text for p in document.paragraphs)
    assert all(f"Include: {c['inclusion']}" in body and f"Example: {c['example']}" in body for c in codes)


def test_whose_coding_follows_blindness(sample_study):
    with sample_study.session() as session:
        priya, jo = actor_for(session, "priya"), actor_for(session, "jo")
    assert {q.coder for q in collect_quotes(sample_study, priya).quotes} == {"priya"}
    with pytest.raises(AccessDenied):
        collect_quotes(sample_study, priya, "tom")
    assert {q.coder for q in collect_quotes(sample_study, jo).quotes} == {"consensus"}
    with pytest.raises(AccessDenied):
        collect_quotes(sample_study, jo, "priya")
    with pytest.raises(ValidationError, match="unknown field"):
        collect_quotes(sample_study, LEAD_CLI, "priya", "{pseudonym} ({shoe_size})")


def test_a_speaker_missing_from_the_key_stops_the_export_and_writes_nothing(sample_study, tmp_path):
    from workbench.privacy.anonymisation import release
    from workbench.transcripts.study import FileInput, import_transcripts

    import_transcripts(sample_study, LEAD_CLI, [FileInput("X01.txt", b"Interviewer: Hello.\nZed: It helped me a lot.\n")])
    release(sample_study, LEAD_CLI, ["X01"], override="test")
    import_codings(sample_study, LEAD_CLI, b"transcript,coder,code,quote\nX01,priya,Changes noticed,It helped me a lot.\n",
                   "x.csv")
    quotes = collect_quotes(sample_study, LEAD_CLI, "priya")
    assert quotes.problems and "Zed" in quotes.problems[0] and all(q.transcript != "X01" for q in quotes.quotes)
    out = tmp_path / "q.docx"
    result = run(sample_url(sample_study), "export", "quotes", "--coder", "priya", "--out", str(out))
    assert result.exit_code == 1 and "not in the participant key" in result.stderr and not out.exists()


def test_export_commands_write_files_under_exports_by_default(sample_study, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = sample_url(sample_study)
    assert "wrote" in ok(url, "export", "quotes", "--format", "xlsx", "--preset", "service").stdout
    ok(url, "export", "quotes", "--coder", "tom", "--codes", "Changes noticed", "--layout", "blockquote",
       "--attribution", "{pseudonym} ({role})")
    ok(url, "export", "quotes", "--format", "csv", "--coder", "priya", "--attribute", "interview_mode=telephone", "--out",
       str(tmp_path / "phone.csv"))
    phone = list(csv.DictReader(io.StringIO((tmp_path / "phone.csv").read_text(encoding="utf-8-sig"))))
    assert phone and {r["interview_mode"] for r in phone} == {"telephone"}
    ok(url, "export", "codings", "--format", "csv")
    ok(url, "export", "codebook")
    made = sorted(p.suffix for p in (tmp_path / "exports").iterdir())
    assert made == [".csv", ".docx", ".docx", ".xlsx"]
    blocks = Document(next((tmp_path / "exports").glob("quotes*.docx")))
    quoted = [p.text for p in blocks.paragraphs if p.style.name == "Quote"]
    assert quoted and all(p.startswith("‘") and p.endswith(")") for p in quoted)
    result = run(url, "--as", "priya", "export", "quotes", "--coder", "tom")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1


def test_the_export_page_previews_quotes_and_offers_the_files(sample_study, monkeypatch):
    from tests.test_app import PAGE_SCRIPTS, new_app, sign_in

    at = sign_in(new_app(sample_study, monkeypatch), "morgan")
    at.switch_page(PAGE_SCRIPTS["export"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="export-coder").options[0] == "consensus"
    at.selectbox(key="export-coder").select("priya").run()
    at.multiselect(key="export-roles").select("young person").run()
    preview = at.dataframe[0].value
    expected = collect_quotes(sample_study, LEAD_CLI, "priya", filters=QuoteFilter(roles=["young person"]))
    assert list(preview["quote"]) == [q.text for q in expected.quotes[:20]]
    assert any(f"{len(expected.quotes)} quotes" in c.value for c in at.caption)
    viewer = sign_in(new_app(sample_study, monkeypatch), "jo")
    viewer.switch_page(PAGE_SCRIPTS["export"]).run()
    assert not viewer.exception and viewer.selectbox(key="export-coder").options == ["consensus"]


def test_the_framework_matrix_holds_each_persons_quotes_and_the_leads_summary(sample_study):
    from workbench.analysis.framework import framework_matrix, matrix_sheets, presence_sheet, set_summary
    from workbench.codebook.ops import merge_codes

    set_summary(sample_study, LEAD_CLI, "Amy", "Support below the threshold", "Nowhere to turn before the referral.")
    matrix = framework_matrix(sample_study, LEAD_CLI, "priya", group_by="role")
    quotes = collect_quotes(sample_study, LEAD_CLI, "priya")
    assert matrix.columns == [path for path, depth, _d in quotes.themes if depth == 0]
    for row in matrix.rows:
        for column in matrix.columns:
            expected = [q for q in quotes.quotes if q.pseudonym == row["participant"] and q.theme.split("/")[0] == column]
            assert row[column]["quotes"] == expected
    assert [r["role"] for r in matrix.rows] == sorted(r["role"] for r in matrix.rows)  # grouped by role
    columns, rows = matrix_sheets(matrix)
    amy = next(r for r in rows if r["participant"] == "Amy")
    assert amy["Support below the threshold"].startswith("Summary: Nowhere to turn before the referral.\n‘")
    _, counted = matrix_sheets(matrix, counts=True)
    assert sum(v for r in counted for k, v in r.items() if k in matrix.columns) == len(quotes.quotes)
    sheet = load_workbook(io.BytesIO(to_bytes(write_xlsx, {"Framework": (columns, rows),
                                                          "Presence": presence_sheet(sample_study, LEAD_CLI, "priya")})))
    assert sheet["Framework"].max_row == len(rows) + 1
    presence = {r[0]: r[1:] for r in sheet["Presence"].iter_rows(min_row=2, values_only=True)}
    assert presence and all(set(v) <= {0, 1} for v in presence.values())
    merge_codes(sample_study, LEAD_CLI, ["Support below the threshold"], "Changes noticed")
    assert next(r for r in framework_matrix(sample_study, LEAD_CLI, "priya").rows if r["participant"] == "Amy")[
        "Changes noticed"]["summary"] == "Nowhere to turn before the referral."
    with sample_study.session() as session:
        priya = actor_for(session, "priya")
    with pytest.raises(AccessDenied):
        set_summary(sample_study, priya, "Amy", "Changes noticed", "mine")


def test_matrix_command_writes_both_sheets(sample_study, tmp_path):
    url = sample_url(sample_study)
    ok(url, "summarise", "Bethan", "Changes noticed", "Calmer at home.")
    out = tmp_path / "m.xlsx"
    ok(url, "export", "matrix", "--coder", "tom", "--level", "code", "--counts", "--out", str(out))
    book = load_workbook(out)
    assert book.sheetnames == ["Framework", "Presence"]
    header = [c.value for c in book["Framework"][1]]
    assert header[:2] == ["participant", "role"] and any("/" in h for h in header[2:])


def test_the_agreement_report_carries_the_agreement_modules_numbers(sample_study, tmp_path):
    from workbench.agreement.study import report_json, study_agreement
    from workbench.agreement.report import number
    from workbench.exports import agreement_docx, agreement_rows

    report = report_json(study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=100))
    document = Document(io.BytesIO(to_bytes(agreement_docx, report)))
    table = document.tables[0]
    assert len(table.rows) == len(report["by_code"]) + 1
    for row, result in zip(table.rows[1:], report["by_code"]):
        cells = [c.text for c in row.cells]
        assert cells[0] == result["code"] and cells[1] == str(result["units"])
        alpha = result["coefficients"]["krippendorff_alpha"]["value"]
        assert cells[5].startswith("undefined" if alpha is None else number(alpha, 3))  # never "-0.000"
    text = "\n".join(p.text for p in document.paragraphs)
    kappa = report["overall"]["coefficients"]["cohen_kappa"]["value"]
    assert f"Cohen's κ: {kappa:.3f}" in text and "priya and tom" in text
    columns, rows = agreement_rows(report)
    assert len(rows) == len(report["by_code"]) and "krippendorff_alpha_ci_low" in columns
    out = tmp_path / "a.xlsx"
    ok(sample_url(sample_study), "export", "agreement", "--coders", "priya,tom", "--format", "xlsx",
       "--bootstrap", "50", "--out", str(out))
    assert load_workbook(out).sheetnames == ["overall", "by_code", "by_transcript", "by_pair"]
