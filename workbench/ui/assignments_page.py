"""Assignments (lead): who double-codes what, progress, unblinding and reopening."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.access import coding_accounts
from workbench.coding.assignments import assign, list_assignments, reopen, unblind
from workbench.errors import WorkbenchError
from workbench.transcripts.study import list_transcripts

from .common import md, open_study, require_page


def render() -> None:
    actor = require_page("assignments")
    study = open_study()
    st.title("Assignments")
    titles = [t["title"] for t in list_transcripts(study, actor)]
    coders = coding_accounts(study)
    with st.form("assign"):
        chosen = st.multiselect("Transcripts", titles)
        who = st.multiselect("Coders (two for double coding)", coders)
        if st.form_submit_button("Assign", type="primary"):
            try:
                added = assign(study, actor, chosen, who)
                st.toast(f"{added} assignments added." if added else "Those assignments already exist.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))

    rows = list_assignments(study, actor)
    if not rows:
        st.info("No assignments yet.")
        return
    table = pd.DataFrame([{"transcript": r.transcript, "coder": r.coder, "status": r.status,
                           "unblinded": r.unblinded} for r in rows])
    grid = table.pivot_table(index="transcript", columns="coder", values="status", aggfunc="first").fillna("")
    grid["unblinded"] = table.groupby("transcript")["unblinded"].first()
    done = (table["status"] == "submitted").sum()
    st.progress(done / len(table), text=f"{done} of {len(table)} assignments submitted")
    st.dataframe(grid, width="stretch")

    st.subheader("Unblind or reopen")
    title = st.selectbox("Transcript", sorted(set(table["transcript"])))
    mine = table[table["transcript"] == title]
    left, right = st.columns(2)
    with left:
        force = st.checkbox("Unblind anyway (not every coder has submitted)")
        if st.button("Unblind", disabled=bool(mine["unblinded"].any())):
            try:
                unblind(study, actor, title, force=force)
                st.toast(f"Unblinded {title}: coders now see each other's codings on it.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))
    with right:
        submitted = list(mine[mine["status"] == "submitted"]["coder"])
        coder = st.selectbox("Reopen for", submitted) if submitted else None
        if coder and st.button("Reopen"):
            try:
                reopen(study, actor, title, coder)
                st.toast(f"Reopened {title} for {coder}.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))
