"""The Agreement page as a lead and as a viewer (streamlit.testing.v1.AppTest on the sample study):
the headline a methods section can cite, percent agreement with what it counts, the methods
sentence, the default transcripts, flags, the heatmap, the downloads — and a viewer's read-only
summary without passages or individual codings."""

import json
import re

import pytest
import streamlit as st

from tests.test_app import PAGE_SCRIPTS, new_app, sign_in
from workbench.access import LEAD_CLI, actor_for
from workbench.agreement.report import TOO_FEW, headline, methods_sentence, percent_line
from workbench.agreement.study import agreement_summary, study_agreement
from workbench.ui.common import md

SUBMITTED = ["C01_Leo", "C02_Maisie", "C03_Jack", "FG01_Girls_Service5", "M01_Amy", "M02_Bethan", "M03_Carla",
             "M04_Dionne", "S01_KW01", "S02_KW02"]  # tom has not submitted S03_CO01 and S04_SM01


@pytest.fixture
def app(sample_study, monkeypatch):
    yield lambda: new_app(sample_study, monkeypatch)
    st.cache_resource.clear()


def agreement_page(at):
    at.switch_page(PAGE_SCRIPTS["agreement"]).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


MINUS_ZERO = re.compile(r"-0(\.0+)?(?![\d.])")  # "-0", "-0.0", "-0.00", ... but not "-0.002"


def shown_text(at) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "code", "info") for e in getattr(at, kind)]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(str(p) for p in parts)


def test_a_lead_sees_the_headline_percent_agreement_with_its_counts_and_the_methods_sentence(app, sample_study):
    at = agreement_page(sign_in(app(), "morgan"))
    expected = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"])
    report = expected.report
    assert report.transcripts == SUBMITTED
    assert [s.value for s in at.subheader] == [md(headline(report, "krippendorff_alpha"))]
    assert headline(report, "krippendorff_alpha").startswith("Krippendorff's α = ")
    assert ", 95% CI " in at.subheader[0].value and "sentences × 40 codes, priya vs tom" in headline(
        report, "krippendorff_alpha")
    markdown = [m.value for m in at.markdown]
    assert md(percent_line(report)) in markdown  # percent agreement only with what it counts
    assert not any(m.label == "Percent agreement" for m in at.metric)
    assert any(m.startswith("Flag (Krippendorff's α): **") for m in markdown)
    assert [c.value for c in at.code] == [methods_sentence(report, expected.settings)]
    assert at.code[0].value.startswith("Inter-coder agreement was assessed on 10 transcripts coded independently "
                                       "by priya and tom, at the level of sentences (")
    assert MINUS_ZERO.search("x -0.00 y") and not MINUS_ZERO.search("-0.002, -0.01")
    assert not MINUS_ZERO.search(shown_text(at))


def test_the_default_transcripts_are_those_every_chosen_coder_submitted(app):
    at = agreement_page(sign_in(app(), "morgan"))
    transcripts = next(m for m in at.multiselect if m.label == "Transcripts")
    assert transcripts.value == SUBMITTED
    assert any(md("S03_CO01, S04_SM01") in c.value and "left out" in c.value for c in at.caption)
    transcripts.select("S03_CO01").run()  # opt-in
    assert not at.exception
    assert at.code[0].value.startswith("Inter-coder agreement was assessed on 11 transcripts")
    assert any(md("Not yet submitted by every coder: S03_CO01") in c.value for c in at.caption)


def test_the_per_code_table_flags_too_few_codings_and_is_not_cut_off(app, sample_study):
    at = agreement_page(sign_in(app(), "morgan"))
    report = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"]).report
    per_code = at.dataframe[0].value
    assert {"code", "units", "both", "only priya", "only tom", "neither", "% agreement (all units)",
            "Krippendorff's α", "95% CI", "flag", "notes"} <= set(per_code.columns)
    assert list(per_code["code"]) == report.codes  # every code, no row left out
    assert TOO_FEW in set(per_code["flag"]) and {"unreliable", "tentative"} & set(per_code["flag"])
    for _, row in per_code.iterrows():
        coded = row["both"] + row["only priya"] + row["only tom"]
        if coded < 10:
            assert row["flag"] == TOO_FEW, row["code"]
        if coded == 0:
            assert "kappa paradox" not in row["notes"], row["code"]
        if row["95% CI"]:
            low, high = (float(x) for x in row["95% CI"].split("–"))
            if high - low > 0.5:
                assert row["flag"] == TOO_FEW, row["code"]
    assert all(str(v) != "-0.0" for v in per_code["Krippendorff's α"])
    downloads = [b.proto.label for b in at.get("download_button")]
    assert downloads == ["Download Excel", "Download per-code CSV", "Download Word report"]


def test_the_heatmap_labels_every_code_on_a_colour_blind_safe_diverging_scale(app, sample_study):
    at = agreement_page(sign_in(app(), "morgan"))
    report = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=0).report
    (chart,) = at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    layers = spec["layer"]
    coloured = next(layer for layer in layers if "color" in layer.get("encoding", {}))
    scale = coloured["encoding"]["color"]["scale"]
    assert scale["scheme"] == "brownbluegreen" and scale["domainMid"] == pytest.approx(0.667)
    for layer in layers:
        y = layer["encoding"]["y"]
        assert y["scale"]["domain"] == report.codes  # a row for every code, even one nobody coded
        assert y["axis"]["labelLimit"] == 0 and y["axis"]["labelOverlap"] is False  # every row labelled in full
        tooltips = layer["encoding"]["tooltip"]
        assert not any("format" in t for t in tooltips)  # values as the page formats them: never "-0.00"


def test_changing_the_unit_and_coefficient_changes_the_headline(app, sample_study):
    at = agreement_page(sign_in(app(), "morgan"))
    at.selectbox(key="agreement-unit").select("turn").run()
    at.selectbox(key="agreement-coefficient").select("cohen_kappa").run()
    assert not at.exception
    report = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], unit="turn").report
    assert at.subheader[0].value == md(headline(report, "cohen_kappa"))
    assert "speaker turns × 40 codes" in headline(report, "cohen_kappa")
    assert "Cohen's κ (binary per code) was" in at.code[0].value
    assert "Cohen's κ" in at.dataframe[0].value.columns


def test_a_viewer_reads_a_summary_without_passages_or_individual_codings(app, sample_study):
    at = agreement_page(sign_in(app(), "jo"))
    with sample_study.session() as session:
        jo = actor_for(session, "jo")
    summary = agreement_summary(sample_study, jo, ["priya", "tom"])
    assert [s.value for s in at.subheader] == [md(headline(summary.report, "krippendorff_alpha"))]
    assert md(percent_line(summary.report)) in [m.value for m in at.markdown]
    assert [c.value for c in at.code] == [methods_sentence(summary.report, summary.settings)]
    assert any(md("Read-only summary") in c.value for c in at.caption)
    # no transcript choice, no heatmap, no per-transcript table, no disagreements, no passages
    assert [m.label for m in at.multiselect] == ["Coders"]
    assert not at.tabs and not (at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart"))
    assert len(at.dataframe) == 1 and "transcript" not in at.dataframe[0].value.columns
    assert all("text" not in frame.value.columns for frame in at.dataframe)
    lead = study_agreement(sample_study, LEAD_CLI, ["priya", "tom"], draws=0)
    passages = [d.transcript for d in lead.disagreements]
    texts = [lead.texts[d.transcript][d.start:d.end] for d in lead.disagreements if d.end - d.start > 30]
    shown = shown_text(at)
    assert not any(text in shown for text in texts)
    assert passages and not MINUS_ZERO.search(shown)
    assert [b.proto.label for b in at.get("download_button")] == [
        "Download Excel", "Download per-code CSV", "Download Word report"]
    assert not any(b.label.startswith("Open in context") for b in at.button)


def test_a_viewer_may_open_the_agreement_page_and_a_coder_may_not(app):
    agreement_page(sign_in(app(), "jo"))
    priya = sign_in(app(), "priya")
    with pytest.raises(ValueError):
        priya.switch_page(PAGE_SCRIPTS["agreement"])
