"""Matched transcripts: two linked participants (a mother and her child) side by side, theme by
theme — where both speak to a theme (convergence) and where only one does (divergence).
Whose coding is read follows blindness (`workbench.analysis.matched`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.access import selectable_coders
from workbench.analysis.matched import matched_pairs, matched_view
from workbench.errors import WorkbenchError

from .common import md, open_study, require_page

STATUS = {"both": "both", "first only": "only {first}", "second only": "only {second}", "neither": "neither"}


def render() -> None:
    actor = require_page("matched")
    study = open_study()
    st.title("Matched transcripts")
    pairs = matched_pairs(study)
    if not pairs:
        st.info("No linked participants: link them in the participant key (the `linked_to` column).")
        return
    left, right = st.columns(2)
    pair = left.selectbox("Pair", pairs, format_func=lambda p: f"{p[0]} and {p[1]}", key="matched-pair")
    coder = right.selectbox("Whose coding", selectable_coders(study, actor), key="matched-coder")
    try:
        view = matched_view(study, actor, pair[0], pair[1], coder)
    except WorkbenchError as error:
        st.info(md(error))
        return
    first, second = view.first, view.second
    if view.gaps():
        st.warning(f"No {coder} coding yet in {', '.join(view.gaps())}: a theme shown for one person only may "
                   "simply not be coded (or reconciled) for the other yet.")
    summary = view.summary()
    a, b, c = st.columns(3)
    a.metric("Themes both raise", summary["both"])
    b.metric(f"Only {first}", summary["first only"])
    c.metric(f"Only {second}", summary["second only"])
    rows = [r for r in view.rows if r.status != "neither"]
    st.dataframe(pd.DataFrame([{
        "theme": "\u2003" * r.depth + r.code.split("/")[-1],
        "status": STATUS[r.status].format(first=first, second=second),
        first: len(r.first), second: len(r.second)} for r in view.rows]),
        hide_index=True, use_container_width=True)
    st.subheader("Passages side by side")
    for row in rows:
        with st.expander(f"{md(row.code)} — {STATUS[row.status].format(first=first, second=second)}"):
            left, right = st.columns(2)
            for column, name, passages in ((left, first, row.first), (right, second, row.second)):
                with column:
                    st.markdown(f"**{md(name)}**")
                    if not passages:
                        st.caption("nothing coded")
                    for p in passages:
                        st.markdown(f"> {md(' '.join(p.text.split()))}")
                        st.caption(f"{p.transcript}, {p.start}–{p.end}")
