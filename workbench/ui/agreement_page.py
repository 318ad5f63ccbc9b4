"""Agreement: the headline a methods section can cite (the chosen coefficient with its 95%
interval and what was compared), percent agreement with what it counts, the methods sentence,
the per-code table with flags, and downloads (Excel, CSV, Word) that record the settings. A lead
also gets the code × transcript heatmap, per-transcript and per-pair tables and every
disagreement, each openable in context; a viewer gets the summary only (read-only).

The numbers come from `study_agreement` (leads) or `agreement_summary` (viewers), the same
functions as `workbench agreement` and the exports; their wording from `workbench.agreement.report`."""

from __future__ import annotations

from dataclasses import replace

import altair as alt
import pandas as pd
import streamlit as st

from workbench.access import allowed
from workbench.agreement.report import (
    COEFFICIENT_NAMES,
    COEFFICIENTS,
    MAX_WIDTH,
    MIN_CODED,
    TENTATIVE,
    UNRELIABLE,
    coefficients_from_tables,
    default_transcripts,
    headline,
    headline_result,
    interval,
    methods_sentence,
    number,
    percent_line,
    rounded,
    settings_rows,
    unfinished_transcripts,
)
from workbench.agreement.study import (
    agreement_coders,
    agreement_summary,
    disagreement_rows,
    report_json,
    study_agreement,
    transcript_states,
)
from workbench.agreement.units import UNITS
from workbench.errors import WorkbenchError
from workbench.exports import agreement_docx, to_bytes
from workbench.store.models import CONSENSUS_NAME

from .common import csv_download, excel_download, md, open_study, require_page

HELP = f"""
**How to read this.** Each unit (a sentence by default) is *coded* by a coder for a code when
that coder's passages with the code cover at least the threshold share of it; text nobody coded
counts as *not coded* by both, i.e. as agreement. Values are pooled over units — the overall
value pools every (unit, code) decision — never averaged.

**Percent agreement** counts every (unit, code) decision, and most of them are units neither
coder coded with the code: it is high even when the coders rarely agree on what they coded.
Read it beside the counts (both / only one / neither), never on its own.

**Flags** follow Krippendorff's α: α ≥ {TENTATIVE:.3f} reliable; {UNRELIABLE:.3f}–{TENTATIVE:.3f} tentative (draw
only tentative conclusions); below {UNRELIABLE:.3f} unreliable. A code with fewer than {MIN_CODED} units coded by
either coder (both + only A + only B), or whose 95% interval of α is wider than {MAX_WIDTH}, is
*too few codings to judge*.

**The kappa paradox.** A code that is rare — applied to a few sentences out of thousands — can
show 99% agreement and yet a low or undefined kappa/alpha, because agreement expected by chance
is then also near 99%. Read percent agreement and Gwet's AC1 beside kappa for such codes, and
look at the 2×2 counts: a handful of disagreements on a rare code moves kappa a lot.

**Intervals** are bootstrap 95% percentile intervals (units resampled, seeded, so a rerun gives
the same numbers).
"""

NAMES = {name: label[0].upper() + label[1:] for name, label in COEFFICIENT_NAMES.items()}
# colour-blind-safe diverging scale (ColorBrewer BrBG), centred on Krippendorff's lower bound
HEAT_SCHEME = "brownbluegreen"


def _table(rows: list[dict], coefficient: str) -> pd.DataFrame:
    """One row per result: the counts percent agreement is made of, the chosen coefficient
    (never -0.0) with its interval, the flag and notes."""
    out = []
    for r in rows:
        e = r["coefficients"][coefficient]
        pa = r["coefficients"]["percent_agreement"]["value"]
        first, second = r["coders"]
        notes = list(r["notes"]) + ([f"undefined: {e['undefined_reason']}"] if e["value"] is None else [])
        out.append({"code": r["code"], "transcript": r["transcript"],
                    NAMES[coefficient]: rounded(e["value"], 3), "95% CI": interval(e["ci_low"], e["ci_high"], 3),
                    "flag": r["flag"], "both": r["both"], f"only {first}": r["only_first"],
                    f"only {second}": r["only_second"], "neither": r["neither"],
                    "% agreement (all units)": rounded(None if pa is None else 100 * pa, 1), "units": r["units"],
                    "notes": "; ".join(notes)})
    return pd.DataFrame(out).dropna(axis=1, how="all")


def _with_settings(frame: pd.DataFrame, rows: list[tuple[str, str]]) -> pd.DataFrame:
    """The table with the settings that produced it as columns, so a CSV carries them."""
    return frame.assign(**{name: value for name, value in rows})


def _show(frame: pd.DataFrame, coefficient: str) -> None:
    st.dataframe(frame, hide_index=True, width="stretch", height="content", placeholder="undefined", column_config={
        "code": st.column_config.TextColumn(width=min(520, 12 + 7 * int(frame["code"].str.len().max()))
                                            if "code" in frame and len(frame) else "medium", pinned=True),
        "transcript": st.column_config.TextColumn(pinned=True),
        "flag": st.column_config.TextColumn(width="medium"),
        "% agreement (all units)": st.column_config.NumberColumn(format="%.1f%%"),
        NAMES[coefficient]: st.column_config.NumberColumn(format="%.3f"),
        "notes": st.column_config.TextColumn(width="large"),
    })


def _heatmap(result, coefficient: str):
    """Code × transcript: every code a labelled row (a dash where no coder coded it in that
    transcript or the value is undefined), on a colour-blind-safe diverging scale centred on 0.667."""
    rows = []
    for (code, transcript), table in result.report.cells.items():
        value = float(coefficients_from_tables(*table)[coefficient])
        coded = table[0] + table[1] + table[2]
        shown = rounded(value, 3) if coded else None
        rows.append({"code": code, "transcript": transcript, "value": shown, "coded units": coded,
                     "shown": number(shown) if coded else "nobody coded it here"})
    data = pd.DataFrame(rows)
    codes = result.report.codes
    y = alt.Y("code:N", title=None, sort=codes, scale=alt.Scale(domain=codes),
              axis=alt.Axis(labelLimit=0, labelOverlap=False, labelFlush=False, labelFontSize=11))
    x = alt.X("transcript:N", title=None, axis=alt.Axis(labelAngle=-45, labelLimit=0, labelOverlap=False))
    tooltip = ["code", "transcript", alt.Tooltip("shown:N", title=NAMES[coefficient]), "coded units"]  # never "-0.00"
    grid = alt.Chart(data).mark_rect(fill="white", stroke="#d9d9d9", strokeWidth=0.5).encode(x=x, y=y, tooltip=tooltip)
    empty = alt.Chart(data).transform_filter("!isValid(datum.value)").mark_text(text="–", color="#8c8c8c").encode(
        x=x, y=y, tooltip=tooltip)
    coloured = alt.Chart(data).transform_filter("isValid(datum.value)").mark_rect(
        stroke="white", strokeWidth=0.5).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("value:Q", title=NAMES[coefficient],
                        scale=alt.Scale(scheme=HEAT_SCHEME, domain=[0, 1], domainMid=UNRELIABLE, clamp=True)))
    return (grid + empty + coloured).properties(height=22 * max(len(codes), 1))


def render() -> None:
    actor = require_page("agreement")
    study = open_study()
    full = allowed(actor, "compute_agreement")  # a lead; a viewer reads the summary only
    st.title("Agreement")
    with st.expander("How to read agreement", expanded=False):
        st.markdown(HELP)
    try:
        candidates = agreement_coders(study, actor)
    except WorkbenchError as error:
        st.error(md(error))
        return
    people = [name for name in candidates if name != CONSENSUS_NAME]
    controls = st.columns(4)
    coders = controls[0].multiselect("Coders", candidates, default=people[:2],
                                     help="Add “consensus” to compare a coder with the reconciled coding." if full
                                     else "Coders who have submitted their work.")
    unit = controls[1].selectbox("Unit", UNITS, key="agreement-unit", help="sentence (default), speaker turn, whole "
                                 "transcript (code present or absent), or character (NVivo-compatible)")
    choices = [c for c in COEFFICIENTS if c != "percent_agreement"]
    coefficient = controls[2].selectbox("Coefficient", choices, index=choices.index("krippendorff_alpha"),
                                        format_func=NAMES.get, key="agreement-coefficient")
    threshold = controls[3].slider("Coverage threshold", 0.1, 1.0, 0.5, 0.05,
                                   help="Share of a unit a coder's passages must cover for it to count as coded")
    if len(coders) < 2:
        st.info("Choose at least two coders.")
        return
    options = st.columns(4)
    titles = None
    unitizing = False
    if full:
        states = transcript_states(study, actor, coders)
        finished = default_transcripts(states, coders)
        titles = options[0].multiselect(
            "Transcripts", list(states), default=finished, key="agreement-transcripts-" + "|".join(coders),
            help="By default, the transcripts every chosen coder has submitted; add others to include them.")
        waiting = [t for t in unfinished_transcripts(states, coders) if t not in titles]
        if waiting:
            options[0].caption(md(f"Not yet submitted by every chosen coder, so left out: {', '.join(waiting)}."))
        if not titles:
            st.info("Choose at least one transcript.")
            return
    include_interviewer = options[1].checkbox("Count interviewer turns")
    rollup = options[2].checkbox("Count sub-themes for their theme")
    if full:
        unitizing = options[3].checkbox("Span-level αu", help="Krippendorff's unitizing alpha over the coders' "
                                        "character spans, per code and pooled")
    try:
        with st.spinner("Computing agreement…"):
            if full:
                result = study_agreement(study, actor, coders, titles, unit, threshold, include_interviewer, rollup,
                                         unitizing=unitizing)
            else:
                result = agreement_summary(study, actor, coders, unit, threshold, include_interviewer, rollup)
    except WorkbenchError as error:
        st.error(md(error))
        return
    report = result.report
    data = report_json(result)
    frames = tables(result, coefficient, full)
    methods, rows = methods_and_settings(result, coefficient)

    st.subheader(md(headline(report, coefficient)))
    st.markdown(md(percent_line(report)))
    st.markdown(f"Flag (Krippendorff's α): **{md(headline_result(report).flag)}**")
    if not full:
        st.caption(md(f"Read-only summary on the {len(report.transcripts)} transcripts every chosen coder has "
                      "submitted: no passages and no individual codings."))
    st.markdown("**For your methods section**")
    st.code(methods, language=None, wrap_lines=True)
    for note in report.notes:
        st.caption(md(note))
    if data["unitizing_alpha"]:
        pooled = data["unitizing_alpha"]["overall"]
        st.caption(f"Span-level αu pooled over codes: {number(pooled, 3)}")
    if full:
        codes_tab, heat_tab, transcripts_tab, disagreements_tab = st.tabs(
            ["Per code", "Code × transcript", "Per transcript and pair", f"Disagreements ({data['disagreements']})"])
        with codes_tab:
            _show(frames["per code"], coefficient)
        with heat_tab:
            st.caption("–: no coder coded the code in that transcript (or the value is undefined). The colours "
                       "diverge at 0.667, Krippendorff's lower bound for tentative conclusions.")
            st.altair_chart(_heatmap(result, coefficient), width="stretch")
        with transcripts_tab:
            _show(frames["per transcript"], coefficient)
            _show(frames["per pair"], coefficient)
        with disagreements_tab:
            _disagreements(frames["disagreements"])
    else:
        st.markdown("**Per code**")
        _show(frames["per code"], coefficient)
        if len(frames["per pair"]) > 1:
            st.markdown("**Per coder pair**")
            _show(frames["per pair"], coefficient)
    labels = {"xlsx": "Download Excel", "csv": "Download per-code CSV", "docx": "Download Word report"}
    for column, (name, content) in zip(st.columns(3), files(result, coefficient, frames).items()):
        kind = name.rsplit(".", 1)[1]
        column.download_button(labels[kind], content, file_name=name, key=f"agreement-{kind}")


def tables(result, coefficient: str, full: bool) -> dict[str, pd.DataFrame]:
    """The page's tables: per code and per pair; for a lead also per transcript and every
    disagreement (a viewer's summary has neither)."""
    data = report_json(result)
    by_code = _table(data["by_code"], coefficient).drop(columns=["transcript"], errors="ignore")
    if data["unitizing_alpha"]:
        by_code["αu (spans)"] = by_code["code"].map(data["unitizing_alpha"]["by_code"]).map(rounded)
    frames = {"per code": by_code}
    if full:
        frames["per transcript"] = _table(data["by_transcript"], coefficient).drop(columns=["code"], errors="ignore")
    frames["per pair"] = _table(data["by_pair"], coefficient)
    if full:
        frames["disagreements"] = pd.DataFrame(disagreement_rows(result))
    return frames


def methods_and_settings(result, coefficient: str) -> tuple[str, list[tuple[str, str]]]:
    settings = replace(result.settings, coefficient=coefficient)
    methods = methods_sentence(result.report, settings)
    return methods, settings_rows(settings, methods)


def files(result, coefficient: str, frames: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """The downloads, each recording the settings that produced it and the methods sentence:
    Excel (a `settings` sheet first, then the tables), the per-code CSV (the settings as columns
    on every row) and the Word report."""
    methods, rows = methods_and_settings(result, coefficient)
    name = f"agreement-{result.report.unit}"
    return {
        f"{name}.xlsx": excel_download({"settings": pd.DataFrame(rows, columns=["setting", "value"]), **frames}),
        f"{name}.csv": csv_download(_with_settings(frames["per code"], rows)),
        f"{name}.docx": to_bytes(agreement_docx, report_json(result), settings=rows, methods=methods),
    }


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
        if st.button(f"Open in context: {md(row['transcript'])}, “{md(words)}…”"):
            st.session_state["open_in_context"] = {"title": row["transcript"], "start": int(row["start"]),
                                                   "end": int(row["end"])}
            st.switch_page("workbench/ui/pages/code.py")
