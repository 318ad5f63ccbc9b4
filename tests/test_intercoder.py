"""Agreement on the sample study: the same numbers in the function, the CLI, the page and the
exports; leads only."""

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
    assert len(report.transcripts) == 12 and report.unit == "sentence"
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


def test_agreement_page_shows_tables_heatmap_and_disagreements_and_exports(app, sample_study):
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["agreement"]).run()
    assert not at.exception, at.exception
    expected = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"]).report.overall.estimates
    metric = next(m for m in at.metric if m.label == "Overall Krippendorff's α")
    assert metric.value == f"{expected['krippendorff_alpha'].value:.3f}"
    per_code = at.dataframe[0].value
    assert {"code", "units", "percent agreement", "Krippendorff's α", "95% CI", "flag"} <= set(per_code.columns)
    assert len(at.get("vega_lite_chart")) == 1
    assert any(t.label.startswith("Disagreements (") for t in at.tabs)
    at.selectbox(key="agreement-unit").select("turn").run()
    assert not at.exception
    assert at.metric[2].value != f"{expected['krippendorff_alpha'].value:.3f}"


def test_coders_and_viewers_have_no_agreement_page(app):
    for who in ("priya", "jo"):
        at = sign_in(app(), who)
        with pytest.raises(ValueError):
            at.switch_page(PAGE_SCRIPTS["agreement"])


def test_a_disagreement_opens_in_context_on_the_coding_screen(app, sample_study):
    from tests.test_app import highlighted_offsets

    result = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=0)
    late = max(result.disagreements, key=lambda d: d.start)  # far into its transcript: not on page 1
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["agreement"]).run()
    at.session_state["open_in_context"] = {"title": late.transcript, "start": late.start, "end": late.end}
    at.switch_page(PAGE_SCRIPTS["code"]).run()
    assert not at.exception
    assert at.selectbox(key="transcript-choice").value == late.transcript
    offsets, html = highlighted_offsets(at)
    assert "opened passage" in html and f'data-o="{late.start}"' in html
    assert any(f"({late.start}–{late.end})" in c.value for c in at.caption)


def test_span_alpha_merges_overlaps_and_pools_transcripts_end_to_end():
    from workbench.agreement import unitizing_alpha
    from workbench.agreement.study import span_alpha

    first = (100, {"A": {"x": [(10, 30), (20, 40)]}, "B": {"x": [(12, 40)]}})
    second = (50, {"A": {"x": [(0, 10)]}, "B": {}})
    result = span_alpha([first, second], ["A", "B"], ["x"])
    expected = unitizing_alpha([[(10, 40, "x"), (100, 110, "x")], [(12, 40, "x")]], (0, 150), category="x")
    assert result["x"].value == pytest.approx(expected)


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
