"""Agreement on the sample study: the same numbers in the function, the CLI, the page and the
exports; leads only."""

import csv
import io
import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.test_app import PAGE_SCRIPTS, sign_in
from tests.test_cli import DOCS, documented_keys
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.agreement import reliability
from workbench.agreement.study import report_json, study_agreement
from workbench.cli import cli
from workbench.coding.codings import list_codings
from workbench.errors import ValidationError


def test_sample_study_agreement_is_pooled_flagged_and_has_intervals(sample_study):
    result = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=200)
    report = result.report
    assert len(report.transcripts) == 10 and report.unit == "sentence"  # submitted by both (tom is behind on 2)
    overall = report.overall
    assert overall.n_units == sum(r.n_units for r in report.by_code)  # pooled (unit, code) decisions
    alpha = overall.estimates["krippendorff_alpha"]
    assert 0.3 < alpha.value < 0.9 and alpha.low < alpha.value < alpha.high
    assert {r.flag for r in report.by_code} >= {"unreliable", "tentative"}
    flat = {c: [] for c in ("priya", "tom")}
    for d in result.decisions:
        for coder in flat:
            flat[coder] += d.coded[coder].ravel().tolist()
    assert alpha.value == pytest.approx(reliability([flat["priya"], flat["tom"]], "krippendorff_alpha"))
    assert result.disagreements and all(set(d.coded_by) | set(d.not_coded_by) == {"priya", "tom"}
                                        for d in result.disagreements)


def test_units_change_the_numbers_and_transcript_level_is_presence(sample_study):
    sentence = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=0).report.overall
    whole = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], unit="transcript", draws=0).report
    assert whole.overall.n_units == len(whole.transcripts) * len(whole.codes)
    assert whole.overall.estimates["percent_agreement"].value != sentence.estimates["percent_agreement"].value
    amy = list_codings(sample_study, LEAD_CLI, transcript="M01_Amy")
    code = amy[0].code
    table = whole.cells[(code, "M01_Amy")]
    assert table[0] + table[1] == 1 if any(c.code == code for c in amy if c.coder == "priya") else table[0] + table[1] == 0


def test_only_leads_compare_coders(sample_study):
    with sample_study.session() as session:
        priya = actor_for(session, "priya")
    with pytest.raises(AccessDenied):
        study_agreement(sample_study, priya, ["priya", "tom"])
    with pytest.raises(ValidationError):
        study_agreement(sample_study, LEAD_CLI, ["priya", "priya"])
    with pytest.raises(ValidationError):
        study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], unit="paragraph")


def test_cli_prints_the_same_numbers_with_documented_keys(sample_study):
    url = sample_study.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(cli, ["--db", url, "agreement", "--coders", "priya,tom", "--bootstrap", "100",
                                   "--disagreements", "--unitizing", "--json"])
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    expected = report_json(study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=100))
    assert data["overall"] == expected["overall"] and data["by_code"] == expected["by_code"]
    assert set(data) == documented_keys("agreement") | {"disagreement_list"}
    section = DOCS.split("Each result has:", 1)[1].split("\n### ", 1)[0]
    result_keys = set()
    for line in section.splitlines():
        if line.startswith("- "):
            result_keys.update(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", line).split(":")[0]))
    assert set(data["overall"]) == result_keys
    assert set(data["overall"]["coefficients"]["cohen_kappa"]) == {"value", "ci_low", "ci_high", "undefined_reason"}
    assert len(data["disagreement_list"]) == data["disagreements"]
    assert set(data["unitizing_alpha"]["by_code"]) == {r["code"] for r in data["by_code"]}
    assert -1 <= data["unitizing_alpha"]["overall"] <= 1
    human = CliRunner().invoke(cli, ["--db", url, "agreement", "--coders", "priya,tom", "--unit", "turn",
                                     "--bootstrap", "0"])
    assert human.exit_code == 0 and human.stdout.startswith("turn units")
    denied = CliRunner().invoke(cli, ["--db", url, "--as", "tom", "agreement", "--coders", "priya,tom"])
    assert denied.exit_code == 1 and "only a lead" in denied.stderr


@pytest.fixture
def app(sample_study, monkeypatch):
    from tests.test_app import new_app

    return lambda: new_app(sample_study, monkeypatch)


def test_coders_have_no_agreement_page(app):
    at = sign_in(app(), "priya")
    with pytest.raises(ValueError):
        at.switch_page(PAGE_SCRIPTS["agreement"])


def test_a_disagreement_opens_in_context_on_the_coding_screen(app, sample_study):
    from tests.test_app import surface_data

    result = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=0)
    late = max(result.disagreements, key=lambda d: d.start)  # far into its transcript: not on page 1
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["agreement"]).run()
    at.session_state["open_in_context"] = {"title": late.transcript, "start": late.start, "end": late.end}
    at.switch_page(PAGE_SCRIPTS["code"]).run()
    assert not at.exception
    assert at.selectbox(key="transcript-choice").value == late.transcript
    data = surface_data(at)
    assert data["focus"] == {"start": late.start, "end": late.end} and data["page"] > 0
    assert data["base"] <= late.start and late.end <= data["base"] + len(data["text"])


def test_span_alpha_merges_overlaps_and_pools_transcripts_end_to_end():
    from workbench.agreement import unitizing_alpha
    from workbench.agreement.study import span_alpha

    first = (100, {"A": {"x": [(10, 30), (20, 40)]}, "B": {"x": [(12, 40)]}})
    second = (50, {"A": {"x": [(0, 10)]}, "B": {}})
    result = span_alpha([first, second], ["A", "B"], ["x"])
    expected = unitizing_alpha([[(10, 40, "x"), (100, 110, "x")], [(12, 40, "x")]], (0, 150), category="x")
    assert result["x"].value == pytest.approx(expected)


def test_by_default_only_transcripts_every_coder_submitted_are_compared(sample_study):
    from workbench.agreement.study import transcript_states

    result = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=0)
    assert result.left_out == ["S03_CO01", "S04_SM01"] and not set(result.left_out) & set(result.report.transcripts)
    assert any(n.startswith("Left out, not yet submitted by every coder: S03_CO01, S04_SM01") for n in result.report.notes)
    states = transcript_states(sample_study, LEAD_CLI, ["priya", "tom"])
    assert states["S03_CO01"] == {"priya": "submitted", "tom": "assigned"}
    opted = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], result.report.transcripts + ["S03_CO01"], draws=0)
    assert "S03_CO01" in opted.report.transcripts and any("Not yet submitted" in n for n in opted.report.notes)
    consensus = study_agreement(sample_study, LEAD_CLI, ["priya", "consensus"], draws=0)  # no assignment: coded
    assert consensus.report.transcripts == ["S01_KW01", "S02_KW02"] and not consensus.settings.independent


def test_a_viewer_reads_the_summary_only(sample_study):
    from workbench.agreement.study import agreement_coders, agreement_summary

    with sample_study.session() as session:
        jo, priya = actor_for(session, "jo"), actor_for(session, "priya")
    with pytest.raises(AccessDenied):
        study_agreement(sample_study, jo, ["priya", "tom"])
    with pytest.raises(AccessDenied):
        agreement_summary(sample_study, priya, ["priya", "tom"])
    assert agreement_coders(sample_study, jo) == ["priya", "tom"]  # submitted work; not the consensus
    summary = agreement_summary(sample_study, jo, ["priya", "tom"], draws=100)
    lead = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=100)
    assert summary.report.transcripts == lead.report.transcripts
    assert summary.report.overall.estimates == lead.report.overall.estimates
    assert [r.table for r in summary.report.by_code] == [r.table for r in lead.report.by_code]
    # no passages, no decisions, no per-transcript numbers
    assert summary.decisions == [] and summary.disagreements == [] and summary.texts == {}
    assert summary.report.by_transcript == [] and summary.report.cells == {}
    data = report_json(summary)
    assert data["by_transcript"] == [] and data["disagreements"] == 0
    with pytest.raises(ValidationError, match="submitted by all of priya, consensus"):
        agreement_summary(sample_study, jo, ["priya", "consensus"])


@pytest.mark.parametrize("who", ["morgan", "jo"])
def test_every_download_of_the_page_records_its_settings_and_the_methods_sentence(sample_study, who):
    import docx
    import openpyxl

    from workbench.agreement.study import agreement_summary
    from workbench.ui.agreement_page import files, methods_and_settings, tables

    with sample_study.session() as session:
        actor = actor_for(session, who)
    full = who == "morgan"
    result = (study_agreement(sample_study, actor, ["priya", "tom"], draws=50) if full
              else agreement_summary(sample_study, actor, ["priya", "tom"], draws=50))
    methods, rows = methods_and_settings(result, "cohen_kappa")
    assert methods.startswith("Inter-coder agreement was assessed on 10 transcripts coded independently by priya and "
                              "tom, at the level of sentences (") and "Cohen's κ (binary per code) was" in methods
    settings = dict(rows)
    assert set(settings) == {"coders", "unit", "threshold", "coefficient", "roll-up", "interviewer turns",
                             "transcripts", "bootstrap draws", "seed", "date", "methods sentence"}
    assert settings["coefficient"] == "Cohen's κ" and settings["date"][:2] == "20"
    frames = tables(result, "cohen_kappa", full)
    produced = files(result, "cohen_kappa", frames)
    assert sorted(produced) == ["agreement-sentence.csv", "agreement-sentence.docx", "agreement-sentence.xlsx"]

    book = openpyxl.load_workbook(io.BytesIO(produced["agreement-sentence.xlsx"]))
    assert book.sheetnames[0] == "settings"
    assert book.sheetnames[1:] == (["per code", "per transcript", "per pair", "disagreements"] if full
                                   else ["per code", "per pair"])
    sheet = {row[0]: row[1] for row in book["settings"].iter_rows(min_row=2, values_only=True)}
    assert sheet == settings
    assert book["per code"].max_row == len(result.report.codes) + 1

    csv_text = produced["agreement-sentence.csv"].decode("utf-8-sig")
    csv_rows = list(csv.DictReader(io.StringIO(csv_text, newline="")))
    assert len(csv_rows) == len(result.report.codes)
    assert all(all(row[name] == value for name, value in settings.items()) for row in csv_rows)

    document = docx.Document(io.BytesIO(produced["agreement-sentence.docx"]))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for table in document.tables for row in table.rows for c in row.cells)
    assert methods in text and all(f"{name}: {value}" in text for name, value in settings.items()
                                   if name != "methods sentence")
    sheets = "\n".join(str(v) for ws in book for row in ws.iter_rows(values_only=True) for v in row)
    for shown in (text, cells, csv_text, sheets):
        assert not re.search(r"-0(\.0+)?(?![\d.])", shown)  # "-0.00", but not "-0.002"


def test_the_cli_word_report_records_its_settings(sample_study, tmp_path):
    import docx

    url = sample_study.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "agreement.docx"
    done = CliRunner().invoke(cli, ["--db", url, "export", "agreement", "--coders", "priya,tom", "--bootstrap", "50",
                                    "--out", str(out)])
    assert done.exit_code == 0, done.output
    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "For the methods section" in text and "Inter-coder agreement was assessed on 10 transcripts" in text
    assert "coders: priya, tom" in text and "coefficient: Krippendorff's α" in text and "date: 20" in text
    assert not re.search(r"-0(\.0+)?(?![\d.])", text) and "too few codings to judge" in text


def test_agreement_exports_to_excel_with_every_table(sample_study):
    import openpyxl

    from workbench.agreement.study import disagreement_rows
    from workbench.ui.agreement_page import _table
    from workbench.ui.common import excel_download

    result = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=0)
    data = report_json(result)
    frames = {"per code": _table(data["by_code"], "cohen_kappa"),
              "disagreements": pd.DataFrame(disagreement_rows(result))}
    book = openpyxl.load_workbook(io.BytesIO(excel_download(frames)))
    assert book.sheetnames == ["per code", "disagreements"]
    assert book["per code"].max_row == len(data["by_code"]) + 1
    assert book["disagreements"].max_row == data["disagreements"] + 1
