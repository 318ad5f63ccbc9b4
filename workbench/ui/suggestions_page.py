"""Suggestions: passages most likely to belong to a code, learnt from the signed-in coder's own
coding; accept (codes the sentence or its turn), reject (never shown again for the code) or skip.

The same cards appear in the coding screen for the open transcript (`suggestion_cards`)."""

from __future__ import annotations

import html

import streamlit as st

from workbench.codebook import list_codes
from workbench.errors import WorkbenchError
from workbench.suggestions import accept, answers, forget, reject, suggest
from workbench.users import list_users

from .common import open_study, require_role


def render() -> None:
    actor = require_role("lead", "coder")
    study = open_study()
    st.title("Suggestions")
    st.caption("Passages in your transcripts ranked by how close they are to a code: its definition, "
               "inclusion criteria and example, the passages you coded with it, and what you rejected. "
               "Only your own coding teaches the ranking, never another coder's.")
    codes = [c["path"] for c in list_codes(study, actor) if not c["retired"]]
    if not codes:
        st.info("The codebook is empty.")
        return
    top = st.columns([3, 2, 1])
    code = top[0].selectbox("Code", codes, key="suggest-code")
    coder, seed = actor.name, "own"
    if actor.is_lead:
        coders = [u["name"] for u in list_users(study) if u["role"] in ("coder", "lead")]
        choice = top[1].selectbox("Learn from", coders + ["consensus (reconciled)"],
                                  index=coders.index(actor.name) if actor.name in coders else 0,
                                  key="suggest-coder",
                                  help="A lead may see any coder's suggestions, or seed them with the consensus.")
        coder, seed = (None, "consensus") if choice.startswith("consensus") else (choice, "own")
    count = top[2].number_input("Show", 5, 100, 10, step=5)
    only_open = st.checkbox("Only transcripts I can still code", value=True, key="suggest-open",
                            help="Leave out transcripts you have submitted.") if seed == "own" else False
    suggestion_cards(study, actor, code, coder, seed, int(count), "page", only_open=only_open)
    if seed == "own" and coder == actor.name:
        _rejected(study, actor, code)


def _rejected(study, actor, code: str) -> None:
    rejected = [a for a in answers(study, actor, code) if a["decision"] == "rejected"]
    with st.expander(f"Your rejected suggestions for this code ({len(rejected)})"):
        if not rejected:
            st.caption("None yet. A rejected sentence is never suggested again for this code.")
        for n, a in enumerate(rejected):
            cols = st.columns([5, 1])
            cols[0].markdown(f"**{a['transcript']}** · {html.escape(a['text'])}")
            if cols[1].button("Forget", key=f"forget-{n}-{a['transcript']}-{a['start']}",
                              help="Let this sentence be suggested again"):
                _answer(forget, (study, actor, code, a["transcript"], a["start"], a["end"]),
                        "Forgotten: it may be suggested again.")


def _progress_bar():
    bar = st.empty()

    def report(done: int, total: int) -> None:
        if total:
            bar.progress(done / total, text=f"Preparing suggestions: embedding {done} of {total} passages "
                                             "(once per study; later rankings are instant)")
        if done >= total:
            bar.empty()

    return report


def suggestion_cards(study, actor, code: str, coder: str | None, seed: str, count: int, key: str,
                     transcript: str | None = None, only_open: bool = False) -> None:
    skipped = st.session_state.setdefault(f"skipped-{key}", set())
    try:
        ranking = suggest(study, actor, code, coder, count + len(skipped), seed, only_open,
                          progress=_progress_bar(), transcript=transcript)
    except WorkbenchError as error:
        st.error(str(error))
        return
    shown = [s for s in ranking.suggestions if (code, s.transcript, s.start) not in skipped][:count]
    st.caption(f"Learnt from {ranking.positives} sentences {ranking.coder} coded with this code, "
               f"{ranking.negatives} counter-examples (other codes, rejections); "
               f"{ranking.candidates} sentences ranked.")
    if not shown:
        st.info("No more suggestions here." if ranking.candidates else "Nothing left to rank for this code.")
    can_answer = seed == "own" and (coder in (None, actor.name))
    for s in shown:
        with st.container(border=True):
            st.markdown(f"**{s.transcript}** · score {s.score:.2f}"
                        + ("" if s.open else " · submitted (reopen to code)"))
            st.markdown(f"<div style='line-height:1.5'>{html.escape(s.before)} "
                        f"<mark>{html.escape(s.text)}</mark> {html.escape(s.after)}</div>",
                        unsafe_allow_html=True)
            st.caption(f"Why: {s.why}")
            if not can_answer:
                continue
            ident = f"{key}-{s.transcript}-{s.start}"
            cols = st.columns(5)
            if cols[0].button("Accept", key=f"accept-{ident}", disabled=not s.open, type="primary",
                              help="Code this sentence with the code"):
                _answer(accept, (study, actor, code, s.transcript, s.start, s.end), "Coded.")
            if s.turn_start < s.start or s.turn_end > s.end:
                if cols[1].button("Accept turn", key=f"turn-{ident}", disabled=not s.open,
                                  help="Code the whole turn this sentence is in"):
                    _answer(accept, (study, actor, code, s.transcript, s.start, s.end, "turn",
                                     (s.turn_start, s.turn_end)), "Coded the whole turn.")
            if cols[2].button("Reject", key=f"reject-{ident}", help="Never suggest this sentence for this code again"):
                _answer(reject, (study, actor, code, s.transcript, s.start, s.end),
                        "Rejected: it will not be suggested again for this code.")
            if cols[3].button("Skip", key=f"skip-{ident}", help="Hide it for now"):
                skipped.add((code, s.transcript, s.start))
                st.rerun()
            if cols[4].button("Open", key=f"open-{ident}", help="Open it in the coding screen"):
                st.session_state["open_in_context"] = {"title": s.transcript, "start": s.start, "end": s.end}
                st.switch_page("workbench/ui/pages/code.py")


def _answer(action, arguments: tuple, message: str) -> None:
    try:
        action(*arguments)
    except WorkbenchError as error:
        st.error(str(error))
        return
    st.toast(message)
    st.rerun()
