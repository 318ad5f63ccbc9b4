"""Search: every place participants say something, one result per sentence with the matches
highlighted, who said it and where (transcript, turn, time); counts by participant and
attribute; open a result in context or code it directly: the sentence (the default), the whole
turn or the exact match, through the same `add_coding` as the CLI."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from workbench.access import Actor, allowed, readable_transcripts
from workbench.analysis.search import MODES, Filters, Passage, search
from workbench.codebook.study import list_codes
from workbench.coding.assignments import list_assignments
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
        known = list_codes(study, actor) if allowed(actor, "code_transcript") else []
        codes = [c["path"] for c in known]
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
    hits, sentences = len(result.hits), len(result.passages)
    st.markdown(f"**{hits}** {'hit' if hits == 1 else 'hits'} in **{sentences}** "
                f"{'sentence' if sentences == 1 else 'sentences'}")
    counts = st.columns(2)
    counts[0].dataframe(pd.DataFrame([{"participant": k, "hits": v} for k, v in result.by_participant.items()]),
                        hide_index=True, width="stretch")
    counts[1].dataframe(pd.DataFrame([{"role": k, **v} for k, v in result.by_role.items()]),
                        hide_index=True, width="stretch")
    codable = _codable_transcripts(study, actor)
    options = [c["path"] for c in known if not c["retired"]]
    for passage in result.passages[:SHOWN]:
        key = f"{passage.transcript}-{passage.start}"
        with st.container(border=True):
            who = passage.pseudonym or passage.speaker or "?"
            details = ", ".join(x for x in (passage.role, passage.group) if x)
            st.markdown(f"**{md(who)}**{f' ({md(details)})' if details else ''} · {md(passage.place)}")
            st.html(passage_html(passage))
            if len(passage.hits) > 1:
                st.caption(f"{len(passage.hits)} matches: " + ", ".join(md(t) for t in passage.terms))
            buttons = st.columns([1, 3])
            if allowed(actor, "see_page:code") and buttons[0].button("Open in context", key=f"open-{key}"):
                st.session_state["open_in_context"] = {"title": passage.transcript, "start": passage.start,
                                                       "end": passage.end}
                st.switch_page("workbench/ui/pages/code.py")
            if passage.transcript in codable and options:
                with buttons[1].popover("Code this"):
                    _code_this(study, actor, passage, options, key)
    if len(result.passages) > SHOWN:
        st.caption(f"Showing the first {SHOWN} of {len(result.passages)} sentences; narrow the search with filters.")


SHOWN = 200  # results on the page


def _codable_transcripts(study, actor: Actor) -> set[str]:
    """Transcripts the actor may code now: assigned to them and not submitted (what
    `add_coding` checks again); none for a role that does not code."""
    if not allowed(actor, "code_transcript"):
        return set()
    return {a.transcript for a in list_assignments(study, actor) if a.coder == actor.name and a.status == "assigned"}


def _code_this(study, actor: Actor, passage: Passage, options: list[str], key: str) -> None:
    choices = passage.choices()
    k = st.radio("Passage to code", range(len(choices)), format_func=lambda i: choices[i].label, key=f"span-{key}")
    chosen = choices[k]
    st.html("<blockquote class='wb-search-span' style='margin:0;padding-left:.75rem;border-left:3px solid #ccc'>"
            f"{_escaped(passage.span_text(chosen.start, chosen.end))}</blockquote>")
    code = st.selectbox("Code", options, key=f"code-{key}")
    if st.button("Apply", key=f"apply-{key}"):
        try:
            add_coding(study, actor, passage.transcript, code, chosen.start, chosen.end, origin="search")
            st.success(f"Coded the {'exact match' if chosen.kind == 'match' else chosen.label.lower()} "
                       f"with {md(code)}.")
        except WorkbenchError as error:
            st.error(md(error))


def _escaped(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def passage_html(passage: Passage) -> str:
    """The sentence with its matches in <mark>: every piece of transcript text is escaped, so
    the text can hold no tag (and, being HTML rather than Markdown, no image or link either)."""
    body = "".join(f"<mark>{_escaped(text)}</mark>" if matched else _escaped(text) for text, matched in passage.pieces())
    before = "… " if passage.start > passage.turn_start else ""
    after = " …" if passage.end < passage.turn_end else ""
    return f"<div class='wb-search-hit' style='line-height:1.5'>{before}{body}{after}</div>"
