"""Suggestions: passages most likely to belong to a code, learnt from the signed-in coder's own
coding; accept (codes the sentence or its turn), reject (never shown again for the code) or skip.

The same cards appear in the coding screen for the open transcript (`suggestion_cards`)."""

from __future__ import annotations

import html

import streamlit as st

from workbench.access import allowed, coding_accounts
from workbench.codebook.study import list_codes
from workbench.errors import WorkbenchError
from workbench.suggest.study import accept, answers, forget, reject, suggest

from .common import md, open_study, require_page

CONSENSUS_CHOICE = "consensus (reconciled)"
SCORE_HELP = ("The score says how far above the average sentence this one ranks, in standard deviations "
              "(classifier and word overlap together): 3 or more stands out.")


def render() -> None:
    actor = require_page("suggestions")
    study = open_study()
    st.title("Suggestions")
    codes = [c["path"] for c in list_codes(study, actor) if not c["retired"]]
    if not codes:
        st.info("The codebook is empty.")
        return
    top = st.columns([3, 2, 1])
    code = top[0].selectbox("Code", codes, key="suggest-code", index=_remembered(codes, "suggest-code-chosen"),
                            on_change=_remember, args=("suggest-code", "suggest-code-chosen"))
    coder, seed = actor.name, "own"
    if allowed(actor, "act_for_other_coders"):
        coders = coding_accounts(study)
        choice = top[1].selectbox("Learn from", coders + [CONSENSUS_CHOICE], key="suggest-coder",
                                  help="A lead may look at any coder's suggestions (read only), "
                                       "or seed them with the consensus.")
        coder, seed = (None, "consensus") if choice == CONSENSUS_CHOICE else (choice, "own")
    st.caption(_explanation(actor, coder, seed))
    count = top[2].number_input("Show", 5, 100, 10, step=5)
    only_open = False
    if seed == "own":
        who = "I" if coder == actor.name else coder
        only_open = st.checkbox(f"Only transcripts {who} can still code", value=coder == actor.name,
                                key=f"suggest-open-{coder}", help="Leave out submitted transcripts.")
    suggestion_cards(study, actor, code, coder, seed, int(count), "page", only_open=only_open)
    if seed == "own" and coder == actor.name:
        _rejected(study, actor, code)


def _explanation(actor, coder, seed) -> str:
    if seed == "consensus":
        return ("Ranked from the consensus coding (the reconciled frame) in unblinded transcripts: "
                "for looking, not answering.")
    if coder != actor.name:
        return (f"Ranked from {coder}'s own coding only, in {coder}'s transcripts, as {coder} sees them; "
                "only they can answer.")
    return ("Passages in your transcripts ranked by how close they are to the code: its definition, "
            "inclusion criteria and example, the passages you coded with it, and what you rejected. "
            "Only your own coding teaches the ranking, never another coder's.")


def _remembered(options: list[str], key: str) -> int:
    chosen = st.session_state.get(key)
    return options.index(chosen) if chosen in options else 0


def _remember(widget_key: str, key: str) -> None:
    """Widget state is dropped when the page is left; this copy survives a visit elsewhere."""
    st.session_state[key] = st.session_state[widget_key]


def _rejected(study, actor, code: str) -> None:
    rejected = [a for a in answers(study, actor, code) if a["decision"] == "rejected"]
    with st.expander(f"Your rejected suggestions for this code ({len(rejected)})"):
        if not rejected:
            st.caption("None yet. A rejected sentence is never suggested again for this code.")
        for n, a in enumerate(rejected):
            cols = st.columns([5, 1])
            cols[0].markdown(f"**{md(a['transcript'])}** · {md(a['text'])}")
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


def one_per_turn(suggestions: list, count: int) -> list:
    """The best sentence of each turn: a turn's other sentences would repeat the same context
    (accepting the turn codes them all)."""
    seen, shown = set(), []
    for s in suggestions:
        if (s.transcript, s.turn_start) not in seen:
            seen.add((s.transcript, s.turn_start))
            shown.append(s)
    return shown[:count]


def suggestion_cards(study, actor, code: str, coder: str | None, seed: str, count: int, key: str,
                     transcript: str | None = None, only_open: bool = False, compact: bool = False) -> None:
    skipped = st.session_state.setdefault(f"skipped-{key}", set())
    try:
        with st.spinner("Ranking passages…"):
            ranking = suggest(study, actor, code, coder, 4 * count + len(skipped), seed, only_open,
                              progress=_progress_bar(), transcript=transcript)
    except WorkbenchError as error:
        st.error(md(error))
        return
    shown = one_per_turn([s for s in ranking.suggestions if (code, s.transcript, s.start) not in skipped], count)
    st.caption(f"Learnt from {ranking.positives} sentences {ranking.coder} coded with this code, "
               f"{ranking.negatives} counter-examples (other codes, rejections); "
               f"{ranking.candidates} sentences ranked.")
    if not shown:
        if only_open and not ranking.candidates:
            st.info("Every transcript of yours is submitted, so there is nothing left to code here. Untick "
                    "\"Only transcripts I can still code\" to see suggestions anyway; a lead can reopen a "
                    "transcript if you want to add codings.")
        else:
            st.info("No more suggestions here." if ranking.candidates else "Nothing left to rank for this code.")
    can_answer = seed == "own" and coder in (None, actor.name)
    for s in shown:
        with st.container(border=True):
            status = " · submitted (a lead can reopen it)" if can_answer and not s.open else ""
            st.markdown(f"**{md(s.transcript)}** · score {s.score:.1f}{status}", help=SCORE_HELP)
            st.markdown(f"<div style='line-height:1.5'>{html.escape(s.before)} "
                        f"<mark>{html.escape(s.text)}</mark> {html.escape(s.after)}</div>",
                        unsafe_allow_html=True)
            st.caption(f"Why: {md(s.why)}")
            _card_buttons(study, actor, code, s, key, can_answer, skipped, compact)


def _card_buttons(study, actor, code, s, key, can_answer, skipped, compact) -> None:
    ident = f"{key}-{s.transcript}-{s.start}"
    rows = [st.columns(3), st.columns(3)] if compact else [st.columns(5)] * 2
    first, second = rows[0], rows[1] if compact else rows[0][3:]
    if can_answer:
        closed = None if s.open else "Submitted: a lead can reopen it for you"
        if first[0].button("Accept", key=f"accept-{ident}", disabled=not s.open, type="primary",
                           help=closed or "Code this sentence with the code"):
            _answer(accept, (study, actor, code, s.transcript, s.start, s.end), "Coded.")
        if s.turn_start < s.start or s.turn_end > s.end:
            if first[1].button("Accept turn", key=f"turn-{ident}", disabled=not s.open,
                               help=closed or "Code the whole turn this sentence is in"):
                _answer(accept, (study, actor, code, s.transcript, s.start, s.end, "turn",
                                 (s.turn_start, s.turn_end)), "Coded the whole turn.")
        if first[2].button("Reject", key=f"reject-{ident}", help="Never suggest this sentence for this code again"):
            _answer(reject, (study, actor, code, s.transcript, s.start, s.end),
                    "Rejected: it will not be suggested again for this code.")
        if second[0].button("Skip", key=f"skip-{ident}", help="Hide it for now"):
            skipped.add((code, s.transcript, s.start))
            st.rerun()
    if second[1].button("Open", key=f"open-{ident}", help="Open it in the coding screen"):
        st.session_state["open_in_context"] = {"title": s.transcript, "start": s.start, "end": s.end}
        st.session_state[f"suggest-toggle-{s.transcript}"] = True
        st.session_state[f"suggest-code-{s.transcript}"] = code
        st.switch_page("workbench/ui/pages/code.py")


def _answer(action, arguments: tuple, message: str) -> None:
    try:
        action(*arguments)
    except WorkbenchError as error:
        st.error(md(error))
        return
    st.toast(message)
    st.rerun()
