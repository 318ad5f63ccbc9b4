"""Analysis: code frequencies by participant attribute, co-occurrence and presence, from one
coder's coding (a coder sees only their own), as charts and tables, exportable."""

from __future__ import annotations


import altair as alt
import pandas as pd
import streamlit as st

from workbench.access import selectable_coders
from workbench.analysis.crosstabs import report
from workbench.errors import WorkbenchError

from .common import csv_download, excel_download, md, open_study, require_page


def _download(frame: pd.DataFrame, name: str, key: str) -> None:
    cols = st.columns(2)
    cols[0].download_button("CSV", csv_download(frame), file_name=f"{name}.csv", key=f"csv-{key}")
    cols[1].download_button("Excel", excel_download({name: frame}), file_name=f"{name}.xlsx", key=f"xlsx-{key}")


def render() -> None:
    actor = require_page("analysis")
    study = open_study()
    st.title("Analysis")
    coders = selectable_coders(study, actor)
    if len(coders) > 1:
        coder = st.selectbox("Whose coding", coders)
    else:
        coder = coders[0]
        st.caption("Your own coding.")
    by = st.selectbox("Compare by", ["role", "group", "age", "programme", "interview_mode"])
    try:
        frequencies = pd.DataFrame(report(study, actor, "frequencies", coder, by))
        pairs = pd.DataFrame(report(study, actor, "cooccurrence", coder))
        presence = pd.DataFrame(report(study, actor, "presence", coder))
    except WorkbenchError as error:
        st.error(md(error))
        return
    tabs = st.tabs(["Frequencies", "Co-occurrence", "Presence"])
    with tabs[0]:
        if not frequencies.empty:
            measure = st.radio("Count", ["participants", "passages"], horizontal=True)
            st.altair_chart(alt.Chart(frequencies).mark_bar().encode(
                y=alt.Y("code:N", title=None), x=alt.X(f"{measure}:Q"), color=alt.Color(f"{by}:N"),
                tooltip=["code", by, "passages", "participants"]), width="stretch")
            st.dataframe(frequencies.pivot_table(index="code", columns=by, values=measure, fill_value=0),
                         width="stretch")
            _download(frequencies, f"frequencies-by-{by}", "freq")
    with tabs[1]:
        if pairs.empty:
            st.info("No passage carries two codes.")
        else:
            st.altair_chart(alt.Chart(pairs).mark_rect().encode(
                x=alt.X("with:N", title=None), y=alt.Y("code:N", title=None),
                color=alt.Color("passages:Q", scale=alt.Scale(scheme="blues")),
                tooltip=["code", "with", "passages"]), width="stretch")
            st.dataframe(pairs.pivot_table(index="code", columns="with", values="passages", fill_value=0),
                         width="stretch")
            _download(pairs, "cooccurrence", "pairs")
    with tabs[2]:
        if not presence.empty:
            long = presence.melt(id_vars="code", var_name="participant", value_name="present")
            st.altair_chart(alt.Chart(long).mark_rect().encode(
                x=alt.X("participant:N"), y=alt.Y("code:N", title=None),
                color=alt.Color("present:Q", scale=alt.Scale(domain=[0, 1], range=["#f4f4f4", "#2b6cb0"]),
                                legend=None), tooltip=["code", "participant", "present"]), width="stretch")
            st.dataframe(presence, hide_index=True, width="stretch")
            _download(presence, "presence", "presence")
