"""Export (leads, viewers, and coders for their own coding): themed quote tables in Word, Excel
or CSV with a preview of the first rows, codings as CSV, the codebook as a Word appendix. The
files come from `workbench.analysis.quotes` and `workbench.exports`, as the CLI's do."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.access import allowed, export_coder, selectable_coders
from workbench.analysis.framework import LEVELS, framework_matrix, matrix_sheets, presence_sheet, set_summary
from workbench.analysis.quotes import ORDERS, PRESETS, QuoteFilter, collect_quotes
from workbench.audit import audit_rows
from workbench.codebook.study import list_codes
from workbench.coding.codings import list_codings
from workbench.errors import WorkbenchError
from workbench.exports import codebook_docx, codings_csv, quote_rows, quotes_docx, to_bytes, write_csv, write_xlsx
from workbench.refi.project import export_project
from workbench.transcripts.participants import list_participants

from .common import md, open_study, require_page

CUSTOM = "custom…"
MIME = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}


def _quotes(study, actor) -> None:
    st.subheader("Themed quotes")
    people = list_participants(study)
    left, middle, right = st.columns(3)
    coder = left.selectbox("Whose coding", selectable_coders(study, actor), key="export-coder")
    codes = middle.multiselect("Themes or sub-themes (default: all)",
                               [c["path"] for c in list_codes(study, actor) if not c["retired"]], key="export-codes")
    order = right.selectbox("Order within a theme", ORDERS, key="export-order")
    left, middle, right = st.columns(3)
    roles = left.multiselect("Participants' roles", sorted({p["role"] for p in people if p["role"]}), key="export-roles")
    groups = middle.multiselect("Sites or groups", sorted({p["group"] for p in people if p["group"]}),
                                key="export-groups")
    max_words = right.number_input("Shorten quotes over this many words (0: never)", 0, 500, 0, key="export-words")
    left, right = st.columns(2)
    preset = left.selectbox("Attribution", [*PRESETS, CUSTOM], key="export-preset",
                            format_func=lambda p: p if p == CUSTOM else f"{p}: ({PRESETS[p]})")
    template = PRESETS.get(preset) or right.text_input("Template", "{pseudonym}, age {age} years",
                                                      key="export-template")
    try:
        quotes = collect_quotes(study, actor, coder, template, QuoteFilter(codes or None, roles or None, groups or None),
                                order, int(max_words) or None)
    except WorkbenchError as error:
        st.info(md(error))
        return
    if quotes.problems:
        st.error("Some passages are spoken by people the participant key does not know; link them before "
                 "exporting:\n\n" + "\n".join(f"- {p}" for p in quotes.problems))
        return
    if not quotes.quotes:
        st.info("No quotes match these choices.")
        return
    columns, rows = quote_rows(quotes)
    st.caption(f"{len(quotes.quotes)} quotes under {len(quotes.themes)} themes and sub-themes. The first rows:")
    st.dataframe(pd.DataFrame(rows[:20])[["theme", "quote", "attribution", "transcript"]], hide_index=True,
                 use_container_width=True)
    layout = st.radio("Word layout", ["table", "blockquote"], horizontal=True, key="export-layout")
    buttons = st.columns(3)
    for column, fmt in zip(buttons, ("docx", "xlsx", "csv")):
        if fmt == "docx":
            data = to_bytes(quotes_docx, quotes, layout=layout)
        elif fmt == "xlsx":
            data = to_bytes(write_xlsx, {"Quotes": (columns, rows)})
        else:
            data = write_csv(columns, rows)
        column.download_button(f"Download .{fmt}", data, file_name=f"quotes.{fmt}", mime=MIME[fmt],
                               key=f"export-download-{fmt}")


def _matrix(study, actor) -> None:
    st.subheader("Framework matrix")
    st.caption("Participants × themes: your summary of what each person says about a theme, and the quotes "
               "behind it; with the code × participant presence table (0/1) on a second sheet.")
    left, middle, right = st.columns(3)
    coder = left.selectbox("Whose coding", selectable_coders(study, actor), key="matrix-coder")
    level = middle.selectbox("Columns", LEVELS, format_func={"theme": "themes", "code": "every code"}.get,
                             key="matrix-level")
    group_by = right.selectbox("Group participants by", ["role", "group", "age"], key="matrix-by")
    counts = st.checkbox("Cells show the number of quotes instead of the quotes", key="matrix-counts")
    try:
        matrix = framework_matrix(study, actor, coder, level, group_by)
    except WorkbenchError as error:
        st.info(md(error))
        return
    columns, rows = matrix_sheets(matrix, counts=True)
    st.caption("Quotes per participant and theme (the download holds the summaries and the quotes themselves).")
    st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True, use_container_width=True)
    st.download_button("Download the matrix (.xlsx)",
                       to_bytes(write_xlsx, {"Framework": matrix_sheets(matrix, counts),
                                             "Presence": presence_sheet(study, actor, coder)}),
                       file_name="framework-matrix.xlsx", mime=MIME["xlsx"], key="matrix-download")
    if allowed(actor, "write_summaries") and matrix.rows:
        st.markdown("**Write a summary**")
        left, right = st.columns(2)
        who = left.selectbox("Participant", [r["participant"] for r in matrix.rows], key="summary-who")
        theme = right.selectbox("Theme", matrix.columns, key="summary-theme")
        current = next(r for r in matrix.rows if r["participant"] == who)[theme]["summary"]
        text = st.text_area("Summary (empty removes it)", value=current, key=f"summary-text-{who}-{theme}")
        if st.button("Save summary", key="summary-save"):
            try:
                set_summary(study, actor, who, theme, text)
                st.session_state["export-toast"] = "Summary saved." if text.strip() else "Summary removed."
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))


def _other(study, actor) -> None:
    st.subheader("Codings and codebook")
    left, right = st.columns(2)
    try:
        rows = list_codings(study, actor, coder=export_coder(actor))
    except WorkbenchError:
        rows = []
    left.download_button(f"Codings as CSV ({len(rows)})", codings_csv(rows), file_name="codings.csv",
                         mime="text/csv", key="export-codings", disabled=not rows)
    codes = [c for c in list_codes(study, actor) if not c["retired"] and not c["proposed_by"]]
    right.download_button("Codebook as a Word appendix", to_bytes(codebook_docx, codes), file_name="codebook.docx",
                          mime=MIME["docx"], key="export-codebook")
    if allowed(actor, "exchange_projects"):
        st.caption("The whole project for NVivo, ATLAS.ti, MAXQDA or QualCoder: every coder's codings, the "
                   "codebook, participants as cases, memos as notes.")
        stamp = (audit_rows(study, actor, limit=1) or [{"at": None}])[0]["at"]  # any change makes a file stale
        if st.button("Prepare REFI-QDA project (.qdpx)", key="export-refi-prepare"):
            st.session_state["refi-project-file"] = (stamp, export_project(study, actor))
        prepared = st.session_state.get("refi-project-file")
        if prepared and prepared[0] == stamp:
            st.download_button("Download project.qdpx", prepared[1], file_name="project.qdpx",
                               mime="application/zip", key="export-refi")
        elif prepared:
            st.caption("The study changed since the file was prepared: prepare it again.")


def render() -> None:
    actor = require_page("export")
    study = open_study()
    st.title("Export")
    if message := st.session_state.pop("export-toast", None):
        st.toast(message)
    _quotes(study, actor)
    st.divider()
    _matrix(study, actor)
    st.divider()
    _other(study, actor)
