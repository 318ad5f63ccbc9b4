"""Coded passages: every passage coded with one or more codes across the study, each with its
speaker, place, context, memo and coder; filters by participant, transcript and coder (within
blindness: `workbench.analysis.retrieval`); open one in the coding screen; export the list.
After unblinding, a lead can put two coders' passages side by side."""

from __future__ import annotations

import html
import re

import pandas as pd
import streamlit as st

from workbench.access import allowed, readable_transcripts, selectable_coders
from workbench.analysis.retrieval import ORDERS, Passage, retrieve, side_by_side
from workbench.codebook.study import list_codes
from workbench.errors import WorkbenchError
from workbench.store.models import CONSENSUS_NAME
from workbench.transcripts.participants import list_participants

from .common import csv_download, excel_download, md, open_study, require_page

PAGE_SIZE = 50  # passages drawn at a time
EVERY = "(every coding you may read)"
ANY = "(any)"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
COLUMNS = ("place", "attribution", "speaker", "participant", "role", "code", "coder", "text", "memo", "before",
           "after", "transcript", "turn", "time", "start", "end", "coding_id", "round")


def render() -> None:
    actor = require_page("retrieve")
    study = open_study()
    st.title("Coded passages")
    paths = [c["path"] + (" (retired)" if c["retired"] else "") for c in list_codes(study, actor)]
    if not paths:
        st.info("The codebook is empty.")
        return
    top = st.columns([4, 1])
    chosen = top[0].multiselect("Codes", paths, key="retrieve-codes", placeholder="Choose one or more codes")
    subcodes = top[1].checkbox("With sub-codes", key="retrieve-subcodes")
    codes = [c.removesuffix(" (retired)") for c in chosen]
    view = "Passages"
    if allowed(actor, "compute_agreement"):
        view = st.radio("Show", ["Passages", "Two coders side by side"], horizontal=True, key="retrieve-view",
                        help="Side by side: two coders' passages for these codes on unblinded transcripts.")
    if not codes:
        st.caption("Choose a code to read every passage coded with it, across the study.")
        return
    if view == "Passages":
        _passages(study, actor, codes, subcodes)
    else:
        _side_by_side(study, actor, codes, subcodes)


def _passages(study, actor, codes: list[str], subcodes: bool) -> None:
    people = list_participants(study)
    with st.expander("Filters and order", expanded=True):
        cols = st.columns(3)
        coders = selectable_coders(study, actor)
        if allowed(actor, "read_all_codings"):
            coders = [EVERY] + coders
        coder = cols[0].selectbox("Whose coding", coders, key="retrieve-coder")
        transcripts = cols[1].multiselect("Transcripts", readable_transcripts(study, actor), key="retrieve-transcripts")
        roles = cols[2].multiselect("Speaker's role", sorted({p["role"] for p in people if p["role"]}),
                                    key="retrieve-roles")
        cols = st.columns(3)
        keys = ["group", "age"] + sorted({k for p in people for k in p["attributes"]})
        key = cols[0].selectbox("Participant attribute", [ANY] + keys, key="retrieve-attribute")
        value = None
        if key != ANY:
            values = sorted({str(_field(p, key)) for p in people if _field(p, key) not in (None, "")})
            value = cols[1].selectbox("Value", values, key="retrieve-value")
        order = cols[2].radio("Order by", ORDERS, horizontal=True, key="retrieve-order",
                              help="length: the longest passages first")
    try:
        result = retrieve(study, actor, codes, coder=None if coder == EVERY else coder, subcodes=subcodes,
                          roles=roles, attributes={key: value} if value is not None else None,
                          transcripts=transcripts, order=order)
    except WorkbenchError as error:
        st.info(md(error))
        return
    counts = result.counts()
    st.markdown(f"**{counts['passages']}** {_plural(counts['passages'], 'passage')} in "
                f"{_plural(counts['transcripts'], 'transcript', True)} from "
                f"{_plural(counts['participants'], 'participant', True)}")
    if not result.passages:
        return
    frame = pd.DataFrame([{k: row[k] for k in COLUMNS} for row in (p.as_dict() for p in result.passages)])
    downloads = st.columns(4)
    # made when clicked, not on every run (an Excel file of 300 passages takes longer than the page)
    downloads[0].download_button("Download CSV", lambda: csv_download(frame), file_name="coded-passages.csv",
                                 on_click="ignore")
    downloads[1].download_button("Download Excel", lambda: excel_download({"Coded passages": frame}),
                                 file_name="coded-passages.xlsx", on_click="ignore")
    signature = (tuple(codes), subcodes, coder, tuple(transcripts), tuple(roles), key, value, order)
    if st.session_state.get("retrieve-signature") != signature:  # a new question: start at the top
        st.session_state["retrieve-signature"] = signature
        st.session_state["retrieve-shown"] = PAGE_SIZE
    shown = st.session_state.get("retrieve-shown", PAGE_SIZE)
    can_open = allowed(actor, "see_page:code")
    for passage in result.passages[:shown]:
        _card(passage, can_open)
    if len(result.passages) > shown:
        st.caption(f"Showing {shown} of {len(result.passages)} passages.")
        if st.button(f"Show {min(PAGE_SIZE, len(result.passages) - shown)} more", key="retrieve-more"):
            st.session_state["retrieve-shown"] = shown + PAGE_SIZE
            st.rerun()


def _plural(n: int, word: str, number: bool = False) -> str:
    text = word if n == 1 else word + "s"
    return f"{n} {text}" if number else text


def _field(person: dict, key: str):
    return person.get(key) if key in ("group", "age") else person["attributes"].get(key)


def _passage_html(p: Passage) -> str:
    """The passage highlighted in its code's colour between its context (escaped)."""
    color = p.color if _HEX.fullmatch(p.color or "") else "#ffd54f"

    def text(value: str) -> str:
        return html.escape(value).replace("\n", "<br>")

    return (f"<div style='line-height:1.55'><span style='color:#777'>{text(p.before)}</span>"
            f"<mark style='background:{color}40;border-bottom:2px solid {color}'>{text(p.text)}</mark>"
            f"<span style='color:#777'>{text(p.after)}</span></div>")


def _card(p: Passage, can_open: bool, key: str = "") -> None:
    with st.container(border=True):
        st.markdown(f"**{md(p.attribution)}** · {md(p.place)} · {md(p.code)} · coded by {md(p.coder)}")
        st.html(_passage_html(p))
        if p.memo:
            st.caption(f"Memo: {md(p.memo)}")
        if can_open and st.button("Open in the coding screen", key=f"open-{key}{p.coding_id}"):
            st.session_state["open_in_context"] = {"title": p.transcript, "start": p.start, "end": p.end}
            st.switch_page("workbench/ui/pages/code.py")


def _side_by_side(study, actor, codes: list[str], subcodes: bool) -> None:
    coders = selectable_coders(study, actor)
    if len(coders) < 2:
        st.info("Side by side needs two coders with codings.")
        return
    people = [c for c in coders if c != CONSENSUS_NAME] + [c for c in coders if c == CONSENSUS_NAME]
    left, right = st.columns(2)
    first = left.selectbox("Coder", coders, index=coders.index(people[0]), key="retrieve-first")
    second = right.selectbox("and coder", coders, index=coders.index(people[1]), key="retrieve-second")
    try:
        result = side_by_side(study, actor, codes, (first, second), subcodes=subcodes)
    except WorkbenchError as error:
        st.info(md(error))
        return
    if not result.transcripts:
        st.info("Neither coder has passages with these codes on an unblinded transcript.")
        return
    st.caption("Only unblinded transcripts are shown.")
    for title, mine, theirs in result.transcripts:
        st.subheader(title)
        columns = st.columns(2)
        for column, name, passages in zip(columns, (first, second), (mine, theirs)):
            with column:
                st.markdown(f"**{md(name)}** · {_plural(len(passages), 'passage', True)}")
                for passage in passages:
                    _card(passage, allowed(actor, "see_page:code"), key=f"{name}-")
                if not passages:
                    st.caption("nothing coded with these codes here")
