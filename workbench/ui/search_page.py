"""Search: every place participants say something, as keyword-in-context lines with who said
it; counts by participant and attribute; open a hit in context or code it directly."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.access import allowed, readable_transcripts
from workbench.analysis.search import MODES, Filters, search
from workbench.codebook.study import list_codes
from workbench.coding.codings import add_coding
from workbench.errors import WorkbenchError
from workbench.transcripts.participants import list_participants

from .common import md, open_study, require_page


def render() -> None:
    actor = require_page("search")
    study = open_study()
    st.title("Search")
    people = list_participants(study)
    top = st.columns([3, 1])
    query = top[0].text_input("Search participants' talk", placeholder="e.g. ring back, believed, school")
    mode = top[1].radio("Match", MODES, horizontal=True, help="lemma: ring finds rang and ringing; "
                        "phrase: the exact words; regex: a regular expression")
    with st.expander("Filters"):
        cols = st.columns(3)
        roles = cols[0].multiselect("Role", sorted({p["role"] for p in people if p["role"]}))
        groups = cols[1].multiselect("Site or group", sorted({p["group"] for p in people if p["group"]}))
        ages = cols[2].slider("Age (children and young people)", 0, 99, (0, 99))
        cols = st.columns(3)
        speakers = cols[0].multiselect("Speaker", [p["pseudonym"] for p in people])
        transcripts = cols[1].multiselect("Transcript", readable_transcripts(study, actor))
        codes = [c["path"] for c in list_codes(study, actor)] if allowed(actor, "code_transcript") else []
        code = cols[2].selectbox("Inside passages coded", ["(anywhere)"] + codes)
        include_interviewer = st.checkbox("Include interviewer turns")
    if not query.strip():
        st.caption("Interviewer turns are left out unless you include them; matching ignores case.")
        return
    filters = Filters(tuple(roles), tuple(groups), ages[0] if ages[0] > 0 else None,
                      ages[1] if ages[1] < 99 else None, (), tuple(speakers), tuple(transcripts),
                      None if code == "(anywhere)" else code, None, include_interviewer)
    try:
        result = search(study, actor, query, mode, filters)
    except WorkbenchError as error:
        st.error(md(error))
        return
    st.markdown(f"**{len(result.hits)}** hits")
    counts = st.columns(2)
    counts[0].dataframe(pd.DataFrame([{"participant": k, "hits": v} for k, v in result.by_participant.items()]),
                        hide_index=True, width="stretch")
    counts[1].dataframe(pd.DataFrame([{"role": k, **v} for k, v in result.by_role.items()]),
                        hide_index=True, width="stretch")
    for k, hit in enumerate(result.hits[:200]):
        with st.container(border=True):
            who = hit.pseudonym or hit.speaker or "?"
            details = ", ".join(x for x in (hit.role, hit.group) if x)
            st.markdown(f"**{md(who)}**{f' ({md(details)})' if details else ''} · {md(hit.transcript)}")
            st.markdown(md(hit.text))
            buttons = st.columns([1, 3])
            if allowed(actor, "see_page:code") and buttons[0].button("Open in context", key=f"open-{k}"):
                st.session_state["open_in_context"] = {"title": hit.transcript, "start": hit.start, "end": hit.end}
                st.switch_page("workbench/ui/pages/code.py")
            if allowed(actor, "code_transcript") and codes:
                with buttons[1].popover("Code this"):
                    chosen = st.selectbox("Code", codes, key=f"code-{k}")
                    if st.button("Apply", key=f"apply-{k}"):
                        try:
                            add_coding(study, actor, hit.transcript, chosen, hit.start, hit.end, origin="search")
                            st.success("Coded.")
                        except WorkbenchError as error:
                            st.error(md(error))
    if len(result.hits) > 200:
        st.caption(f"Showing the first 200 of {len(result.hits)} hits; narrow the search with filters.")
