"""Agreement (lead): per-code table with intervals and flags, a code × transcript heatmap, and
every disagreement, each openable in context. The numbers come from `study_agreement`, the
same function as `workbench agreement` and the exports."""

from __future__ import annotations


import altair as alt
import pandas as pd
import streamlit as st

from workbench.agreement.report import COEFFICIENTS, coefficients_from_tables
from workbench.agreement.study import disagreement_rows, report_json, study_agreement
from workbench.agreement.units import UNITS
from workbench.errors import WorkbenchError
from workbench.status import study_status
from workbench.store.models import CONSENSUS_NAME
from workbench.transcripts.study import list_transcripts

from .common import csv_download, excel_download, md, open_study, require_page

HELP = """
**How to read this.** Each unit (a sentence by default) is *coded* by a coder for a code when
that coder's passages with the code cover at least the threshold share of it; text nobody coded
counts as *not coded* by both, i.e. as agreement. Values are pooled over units — the overall
value pools every (unit, code) decision — never averaged.

**Flags** follow Krippendorff: α ≥ 0.800 reliable; 0.667–0.800 tentative (draw only tentative
conclusions); below 0.667 unreliable.

**The kappa paradox.** A code that is rare — applied to a few sentences out of thousands — can
show 99% agreement and yet a low or undefined kappa/alpha, because agreement expected by chance
is then also near 99%. Read percent agreement and Gwet's AC1 beside kappa for such codes, and
look at the 2×2 counts (both / only one / neither): a handful of disagreements on a rare code
moves kappa a lot.

**Intervals** are bootstrap 95% percentile intervals (units resampled, seeded, so a rerun gives
the same numbers).
"""


NAMES = {"percent_agreement": "Percent agreement", "cohen_kappa": "Cohen's κ", "scott_pi": "Scott's π",
         "krippendorff_alpha": "Krippendorff's α", "gwet_ac1": "Gwet's AC1", "brennan_prediger": "Brennan–Prediger"}


def _table(rows: list[dict], coefficient: str) -> pd.DataFrame:
    out = []
    for r in rows:
        e = r["coefficients"][coefficient]
        pa = r["coefficients"]["percent_agreement"]["value"]
        out.append({"code": r["code"], "transcript": r["transcript"], "units": r["units"],
                    "both": r["both"], "only " + r["coders"][0]: r["only_first"],
                    "only " + r["coders"][1]: r["only_second"], "percent agreement": pa,
                    NAMES[coefficient]: "undefined" if e["value"] is None else round(e["value"], 3),
                    "95% CI": "" if e["ci_low"] is None else f"{e['ci_low']:.2f} to {e['ci_high']:.2f}",
                    "flag": r["flag"], "notes": "; ".join(r["notes"]) or (e["undefined_reason"] or "")})
    return pd.DataFrame(out).dropna(axis=1, how="all")


def _heatmap(result, coefficient: str):
    rows = []
    for (code, transcript), table in result.report.cells.items():
        value = float(coefficients_from_tables(*table)[coefficient])
        rows.append({"code": code, "transcript": transcript, coefficient: None if value != value else value,
                     "coded units": table[0] + table[1] + table[2]})
    data = pd.DataFrame(rows)
    data = data[data["coded units"] > 0]
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("transcript:N", title=None),
        y=alt.Y("code:N", title=None, sort=result.report.codes, axis=alt.Axis(labelLimit=420)),
        color=alt.Color(f"{coefficient}:Q", scale=alt.Scale(domain=[0, 1], scheme="redyellowgreen")),
        tooltip=["code", "transcript", alt.Tooltip(f"{coefficient}:Q", format=".2f"), "coded units"],
    ).properties(height=max(300, 14 * data["code"].nunique()))


def render() -> None:
    actor = require_page("agreement")
    study = open_study()
    st.title("Agreement")
    with st.expander("How to read agreement", expanded=False):
        st.markdown(HELP)
    coders_with_work = [name for name, n in study_status(study, actor)["codings"].items() if n]
    controls = st.columns(4)
    people = [name for name in coders_with_work if name != CONSENSUS_NAME]
    coders = controls[0].multiselect("Coders", coders_with_work, default=people[:2],
                                     help="Add “consensus” to compare a coder with the reconciled coding.")
    unit = controls[1].selectbox("Unit", UNITS, key="agreement-unit", help="sentence (default), speaker turn, whole transcript "
                                 "(code present or absent), or character (NVivo-compatible)")
    coefficient = controls[2].selectbox("Coefficient", [c for c in COEFFICIENTS if c != "percent_agreement"],
                                        index=2, format_func=NAMES.get)
    threshold = controls[3].slider("Coverage threshold", 0.1, 1.0, 0.5, 0.05,
                                   help="Share of a unit a coder's passages must cover for it to count as coded")
    options = st.columns(4)
    titles = options[0].multiselect("Transcripts (default: all that every chosen coder coded)",
                                    [t["title"] for t in list_transcripts(study, actor)])
    include_interviewer = options[1].checkbox("Count interviewer turns")
    rollup = options[2].checkbox("Count sub-themes for their theme")
    unitizing = options[3].checkbox("Span-level αu", help="Krippendorff's unitizing alpha over the coders' "
                                    "character spans, per code and pooled")
    if len(coders) < 2:
        st.info("Choose at least two coders.")
        return
    try:
        with st.spinner("Computing agreement…"):
            result = study_agreement(study, actor, coders, titles or None, unit, threshold,
                                     include_interviewer, rollup, unitizing=unitizing)
    except WorkbenchError as error:
        st.error(md(error))
        return
    data = report_json(result)
    overall = data["overall"] or data["by_pair"][0]
    e = overall["coefficients"][coefficient]
    metrics = st.columns(4)
    metrics[0].metric(f"Overall {NAMES[coefficient]}", "undefined" if e["value"] is None else f"{e['value']:.3f}",
                      help=None if e["ci_low"] is None else f"95% CI {e['ci_low']:.3f}–{e['ci_high']:.3f}")
    metrics[1].metric("Percent agreement", f"{overall['coefficients']['percent_agreement']['value']:.1%}")
    metrics[2].metric("Units × codes", f"{overall['units']:,}")
    metrics[3].metric("Flag", overall["flag"])
    for note in data["notes"]:
        st.caption(note)

    by_code = _table(data["by_code"], coefficient).drop(columns=["transcript"], errors="ignore")
    if data["unitizing_alpha"]:
        by_code["αu (spans)"] = by_code["code"].map(data["unitizing_alpha"]["by_code"]).round(3)
        pooled = data["unitizing_alpha"]["overall"]
        st.caption(f"Span-level αu pooled over codes: {'undefined' if pooled is None else f'{pooled:.3f}'}")
    by_transcript = _table(data["by_transcript"], coefficient).drop(columns=["code"], errors="ignore")
    by_pair = _table(data["by_pair"], coefficient)
    codes_tab, heat_tab, transcripts_tab, disagreements_tab = st.tabs(
        ["Per code", "Code × transcript", "Per transcript and pair", f"Disagreements ({data['disagreements']})"])
    with codes_tab:
        st.dataframe(by_code, hide_index=True, width="stretch")
    with heat_tab:
        st.altair_chart(_heatmap(result, coefficient), width="stretch")
    with transcripts_tab:
        st.dataframe(by_transcript, hide_index=True, width="stretch")
        st.dataframe(by_pair, hide_index=True, width="stretch")
    disagreements = pd.DataFrame(disagreement_rows(result))
    with disagreements_tab:
        _disagreements(disagreements)
    frames = {"per code": by_code, "per transcript": by_transcript, "per pair": by_pair,
              "disagreements": disagreements}
    downloads = st.columns(2)
    downloads[0].download_button("Download Excel", excel_download(frames), file_name=f"agreement-{unit}.xlsx")
    downloads[1].download_button("Download per-code CSV", csv_download(by_code), file_name=f"agreement-{unit}.csv")


def _disagreements(frame: pd.DataFrame) -> None:
    if frame.empty:
        st.success("No disagreements.")
        return
    left, right = st.columns(2)
    code = left.selectbox("Code", ["(all)"] + sorted(frame["code"].unique()))
    transcript = right.selectbox("Transcript", ["(all)"] + sorted(frame["transcript"].unique()))
    shown = frame[((frame["code"] == code) | (code == "(all)")) & ((frame["transcript"] == transcript) | (transcript == "(all)"))]
    shown = shown.assign(coded_by=shown["coded_by"].map(", ".join), not_coded_by=shown["not_coded_by"].map(", ".join))
    event = st.dataframe(shown[["transcript", "code", "coded_by", "not_coded_by", "text", "start", "end"]],
                         hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key="disagreement-table")
    chosen = event.selection.rows if event and event.selection else []
    if chosen:
        row = shown.iloc[chosen[0]]
        words = " ".join(str(row["text"]).split()[:8])
        if st.button(f"Open in context: {row['transcript']}, “{words}…”"):
            st.session_state["open_in_context"] = {"title": row["transcript"], "start": int(row["start"]),
                                                   "end": int(row["end"])}
            st.switch_page("workbench/ui/pages/code.py")
