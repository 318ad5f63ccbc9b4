"""Memos: write and read memos on the project, a transcript or a code; search; export."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from workbench.access import allowed, readable_transcripts
from workbench.codebook.study import list_codes
from workbench.coding.memos import add_memo, delete_memo, edit_memo, list_memos
from workbench.errors import WorkbenchError

from .common import csv_download, md, open_study, require_page


def render() -> None:
    actor = require_page("memos")
    study = open_study()
    st.title("Memos")
    transcripts = readable_transcripts(study, actor)
    codes = [c["path"] for c in list_codes(study, actor)]
    if allowed(actor, "write_memo"):
        with st.form("memo", clear_on_submit=True):
            st.subheader("Write a memo")
            target = st.radio("On", ["the project", "a transcript", "a code"], horizontal=True)
            transcript = st.selectbox("Transcript", transcripts)
            code = st.selectbox("Code", codes)
            title = st.text_input("Title (optional)")
            text = st.text_area("Memo")
            if st.form_submit_button("Save memo"):
                try:
                    add_memo(study, actor, text, transcript if target == "a transcript" else None,
                             code if target == "a code" else None, title)
                    st.success("Saved.")
                except WorkbenchError as error:
                    st.error(md(error))
    cols = st.columns(3)
    words = cols[0].text_input("Search memos")
    on_transcript = cols[1].selectbox("On transcript", ["(any)"] + transcripts)
    on_code = cols[2].selectbox("On code", ["(any)"] + codes)
    rows = list_memos(study, actor, None if on_transcript == "(any)" else on_transcript,
                      None if on_code == "(any)" else on_code, words or None)
    st.caption(f"{len(rows)} memos (codings' memos included)")
    for memo in rows:
        with st.container(border=True):
            where = memo.transcript or memo.code or "project"
            st.markdown(f"**{md(memo.title or memo.kind.capitalize())}** · {md(where)} · {md(memo.author)}, "
                        f"{memo.created_at:%d %b %Y %H:%M}")
            st.markdown(md(memo.text))
            if memo.id is not None and (memo.author == actor.name or allowed(actor, "edit_any_memo")):
                buttons = st.columns([1, 1, 4])
                with buttons[0].popover("Edit"):
                    new_title = st.text_input("Title", memo.title, key=f"memo-title-{memo.id}")
                    new_text = st.text_area("Memo", memo.text, key=f"memo-text-{memo.id}")
                    if st.button("Save", key=f"memo-save-{memo.id}"):
                        try:
                            edit_memo(study, actor, memo.id, new_text, new_title)
                            st.toast("Memo saved.")
                            st.rerun()
                        except WorkbenchError as error:
                            st.error(md(error))
                if buttons[1].button("Delete", key=f"memo-del-{memo.id}"):
                    delete_memo(study, actor, memo.id)
                    st.toast("Memo deleted.")
                    st.rerun()
    if rows:
        st.download_button("Download memos (CSV)", csv_download(pd.DataFrame([asdict(m) for m in rows])),
                           file_name="memos.csv")
