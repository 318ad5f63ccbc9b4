"""The coding screen: read a transcript page by page, select text, apply codes, manage own
codings, submit. Only the actor's own codings are shown until the transcript is unblinded
(the data layer enforces it; this page only asks)."""

from __future__ import annotations

import streamlit as st

from workbench.access import allowed, readable_transcripts
from workbench.codebook.study import list_codes, propose_code
from workbench.coding.assignments import list_assignments, submit
from workbench.coding.codings import list_codings, own_coding_counts
from workbench.coding.workspace import check_readable, content_hash_of, transcript_view
from workbench.errors import WorkbenchError

from .coding_surface import open_at, render_surface, surface_state
from .common import current_actor, md, open_study, require_page


def status_label(assignment, own_codings: int) -> str:
    status = assignment.status
    if status == "assigned":
        status = "in progress" if own_codings else "to do"
    return status + (" · unblinded" if assignment.unblinded else "")


def _refresh() -> None:
    """Rerun only the coding fragment when possible (fast), else the whole page."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


@st.cache_data(max_entries=16, show_spinner=False)
def _view(url: str, title: str, version: str):
    return transcript_view(open_study(), title)


def render() -> None:
    actor = require_page("code")
    study = open_study()
    st.title("Code")
    mine = {a.transcript: a for a in list_assignments(study, actor) if a.coder == actor.name}
    codings_by_title = own_coding_counts(study, actor)
    labels = {title: f"{title} — {status_label(a, codings_by_title.get(title, 0))}" for title, a in mine.items()}
    if allowed(actor, "read_all_codings"):  # leads may review any transcript with every coder's codings
        labels.update({t: f"{t} — review" for t in readable_transcripts(study, actor) if t not in mine})
    if not labels:
        st.info("No transcripts are assigned to you yet.")
        return
    titles = list(labels)
    unfinished = [t for t in titles if t in mine and mine[t].status != "submitted"]
    target = st.session_state.pop("open_in_context", None)
    if target and target["title"] in labels:  # opened from a disagreement or a search hit
        st.session_state["transcript-choice"] = target["title"]
        st.session_state[f"context-{target['title']}"] = (target["start"], target["end"])
    elif "transcript-choice" not in st.session_state or st.session_state["transcript-choice"] not in labels:
        st.session_state["transcript-choice"] = (unfinished or titles)[0]
    choice = st.selectbox("Transcript", titles, format_func=labels.get, key="transcript-choice")
    workspace(choice)


@st.fragment
def workspace(title: str) -> None:
    actor = current_actor()
    study = open_study()
    try:
        check_readable(study, actor, title)
    except WorkbenchError as error:
        st.warning(md(error))
        return
    view = _view(study.url, title, content_hash_of(study, title))
    state = surface_state(title)
    context = st.session_state.pop(f"context-{title}", None)
    if context:  # a passage opened from elsewhere (search, coded passages, a disagreement)
        state["page"] = view.page_of(context[0])
        open_at(state, *context)
    assignment = next((a for a in list_assignments(study, actor)
                       if a.transcript == title and a.coder == actor.name), None)
    reviewing = assignment is None
    frozen = reviewing or assignment.status == "submitted"
    codings = list_codings(study, actor, transcript=title)
    own = [c for c in codings if c.coder == actor.name]

    reading, panel = st.columns([5, 2], gap="medium")
    with reading:
        status = ("Reviewing: every coder's codings" if reviewing
                  else "Submitted: your codings are frozen" if frozen else "")
        render_surface(study, actor, title, view, codings, editable=not frozen, reviewing=reviewing, status=status)
        if state.get("error"):
            st.caption(f"Not saved: {md(state['error'])}")
    with panel:
        if reviewing:
            coders = sorted({c.coder for c in codings})
            st.info("Reviewing: this transcript is not assigned to you. "
                    + (f"Codings by {', '.join(coders)} are shown." if coders else "No codings yet."))
            _codings_table(codings, view, state, title, show_coder=True)
            return
        _progress_and_submit(study, actor, title, view, own, frozen)
        _codings_table(own, view, state, title)
        if not frozen:
            _suggestions_panel(study, actor, title)
            _propose_panel(study, actor, title)


def _progress_and_submit(study, actor, title, view, own, frozen) -> None:
    """Kept at the top of the panel, so it is in view while coding."""
    coded_turns = {view.page_of(c.start) for c in own}
    st.markdown(f"**{len(own)}** coding{'' if len(own) == 1 else 's'} · {len(coded_turns)} of {view.pages()} "
                f"page{'' if view.pages() == 1 else 's'} coded")
    if frozen:
        st.info("You submitted this transcript: your codings are frozen unless a lead reopens it.")
        return
    if not own:
        st.caption("You have not coded anything in this transcript yet.")
    with st.popover("Submit transcript…", width="stretch"):
        st.caption("Submitting freezes your codings; a lead compares them with the other coder's.")
        sure = st.checkbox("I have finished coding this transcript", key=f"sure-{title}")
        if st.button("Submit transcript", disabled=not sure, type="primary", key=f"submit-{title}"):
            try:
                submit(study, actor, title)
                st.toast(f"Submitted {title}.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))


def _codings_table(codings, view, state, title, show_coder: bool = False) -> None:
    """A compact, filterable list; choosing a row shows that passage in the transcript."""
    import pandas as pd

    label = f"{'Codings' if show_coder else 'Your codings'} ({len(codings)})"
    with st.expander(label, expanded=True):
        wanted = st.text_input("Filter", key=f"filter-{title}", placeholder="Code, words or memo",
                               label_visibility="collapsed")
        rows = [c for c in codings if not wanted or wanted.casefold() in
                f"{c.code} {c.text} {c.memo} {c.coder}".casefold()]
        if not rows:
            st.caption("No codings" + (" match." if wanted else " yet."))
            return
        table = pd.DataFrame([{**({"coder": c.coder} if show_coder else {}), "code": c.code.split("/")[-1],
                               "passage": " ".join(c.text.split())[:90], "page": view.page_of(c.start) + 1,
                               "memo": c.memo} for c in rows])
        key = f"list-{title}-{len(codings)}"

        def show_chosen() -> None:
            chosen = st.session_state[key].selection.rows
            if chosen:
                coding = rows[chosen[0]]
                state["page"] = view.page_of(coding.start)
                open_at(state, coding.start, coding.end)

        st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 330),
                     on_select=show_chosen, selection_mode="single-row", key=key,
                     column_config={"code": st.column_config.TextColumn(width="small"),
                                    "passage": st.column_config.TextColumn(width="large"),
                                    "page": st.column_config.NumberColumn(width=40)})


def _suggestions_panel(study, actor, title) -> None:
    from .suggestions_page import suggestion_cards

    if st.toggle("Suggested passages in this transcript", key=f"suggest-toggle-{title}",
                 help="Sentences of this transcript ranked for a code from your own coding"):
        code = st.selectbox("Suggest for code", _code_options(study, actor), key=f"suggest-code-{title}")
        suggestion_cards(study, actor, code, None, "own", 5, f"code-{title}", transcript=title, compact=True)


def _code_options(study, actor) -> list[str]:
    return [c["path"] for c in list_codes(study, actor) if not c["retired"]]


def _propose_panel(study, actor, title) -> None:
    with st.expander("Propose a new code"):
        st.caption("Or select words and choose “In vivo” in the code picker.")
        name = st.text_input("Name", key=f"proposal-name-{title}")
        parents = ["(a new theme)"] + _code_options(study, actor)
        parent = st.selectbox("Under", parents, key=f"proposal-parent-{title}")
        definition = st.text_area("What it captures", key=f"proposal-def-{title}")
        if st.button("Propose", key=f"propose-{title}", disabled=not name.strip()):
            try:
                path = propose_code(study, actor, name, None if parent == parents[0] else parent, definition)
                st.toast(f"Proposed {path}: you can use it now; a lead will review it.")
                for key in (f"proposal-name-{title}", f"proposal-def-{title}"):
                    st.session_state.pop(key, None)
                _refresh()
            except WorkbenchError as error:
                st.error(md(error))
