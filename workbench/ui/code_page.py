"""The coding screen: read a transcript page by page, select text, apply codes, manage own
codings, submit. Only the actor's own codings are shown until the transcript is unblinded
(the data layer enforces it; this page only asks)."""

from __future__ import annotations

import streamlit as st

from workbench.access import allowed, readable_transcripts
from workbench.codebook.study import list_codes, propose_code
from workbench.coding.assignments import list_assignments, submit
from workbench.coding.codings import add_coding, delete_coding, list_codings, own_coding_counts, update_coding
from workbench.coding.workspace import (
    PAGE_TURNS,
    check_readable,
    content_hash_of,
    selection_span,
    span_from_segments,
    transcript_view,
)
from workbench.errors import WorkbenchError

from .common import current_actor, md, open_study, require_page
from .render import CSS, Mark, turns_html

SELECT_JS = """
export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  let root = parentElement.querySelector('.wb-root');
  if (!root) {
    root = document.createElement('div');
    root.className = 'wb-root';
    parentElement.appendChild(root);
  }
  if (root.dataset.key !== data.key) {
    root.innerHTML = data.html;
    root.dataset.key = data.key;
    if (data.focus) {
      const target = root.querySelector('[data-focus="1"]');
      if (target) target.scrollIntoView({block: 'center'});
    }
  }
  // Offsets are code points (Array.from counts them), matching the canonical text.
  function offset(node, off) {
    if (node.nodeType === 3) {
      const piece = node.parentElement.closest('[data-o]');
      if (!piece) return null;
      return parseInt(piece.dataset.o) + Array.from(node.textContent.slice(0, off)).length;
    }
    const pieces = Array.from(node.querySelectorAll ? node.querySelectorAll('[data-o]') : []);
    const child = node.childNodes[off];
    if (child) {
      const next = child.matches && child.matches('[data-o]') ? child
        : (child.querySelector ? child.querySelector('[data-o]') : null);
      if (next) return parseInt(next.dataset.o);
    }
    const last = pieces[pieces.length - 1];
    if (last) return parseInt(last.dataset.o) + Array.from(last.textContent).length;
    return null;
  }
  root.onmouseup = () => {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !root.contains(sel.anchorNode)) return;
    const a = offset(sel.anchorNode, sel.anchorOffset);
    const b = offset(sel.focusNode, sel.focusOffset);
    if (a === null || b === null || a === b) return;
    setTriggerValue('selection', {start: Math.min(a, b), end: Math.max(a, b), text: sel.toString()});
  };
}
"""

selector = st.components.v2.component("workbench.transcript_selector", js=SELECT_JS, css=CSS,
                                      isolate_styles=False)


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


def _state(title: str) -> dict:
    return st.session_state.setdefault("coding", {}).setdefault(title, {"page": 0, "focus": None})


def _remember_selection(title: str) -> None:
    value = st.session_state.get(f"selector-{title}")
    selection = getattr(value, "selection", None) if value is not None else None
    if selection is None and isinstance(value, dict):
        selection = value.get("selection")
    if selection:
        _state(title)["selection"] = selection


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
        _state(target["title"])["context"] = (target["start"], target["end"])
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
    state = _state(title)
    context = state.pop("context", None)
    if context:
        state["page"] = view.page_of(context[0])
        state["highlight"] = context
    assignment = next((a for a in list_assignments(study, actor)
                       if a.transcript == title and a.coder == actor.name), None)
    reviewing = assignment is None
    frozen = reviewing or assignment.status == "submitted"
    codings = list_codings(study, actor, transcript=title)
    own = [c for c in codings if c.coder == actor.name]

    reading, panel = st.columns([3, 2], gap="large")
    with reading:
        pages = view.pages()
        state["page"] = min(max(state["page"], 0), pages - 1)
        coded_pages = sorted({view.page_of(c.start) for c in own})
        earlier = [p for p in coded_pages if p < state["page"]]
        later = [p for p in coded_pages if p > state["page"]]

        def go(page: int) -> None:
            state["page"], state["focus"] = page, None
            state.pop("highlight", None)

        nav = st.columns([1, 2, 1, 1, 1])
        nav[0].button("◀ Page", disabled=state["page"] == 0, key=f"prev-{title}",
                      on_click=go, args=(state["page"] - 1,))
        nav[1].markdown(f"Page **{state['page'] + 1}** of {pages} · {len(view.turns)} turns")
        nav[2].button("Page ▶", disabled=state["page"] >= pages - 1, key=f"next-{title}",
                      on_click=go, args=(state["page"] + 1,))
        nav[3].button("◀ Coded", disabled=not earlier, key=f"prev-coded-{title}",
                      on_click=go, args=(earlier[-1] if earlier else 0,), help="The previous page with your codings")
        nav[4].button("Coded ▶", disabled=not later, key=f"next-coded-{title}",
                      on_click=go, args=(later[0] if later else 0,), help="The next page with your codings")
        turns = view.page(state["page"])
        marks = [Mark(c.id, c.start, c.end, c.color, f"{c.code} ({c.coder})" if c.coder != actor.name else c.code,
                      own=reviewing or c.coder == actor.name) for c in codings]
        if state.get("highlight"):  # a passage opened from elsewhere (e.g. a disagreement)
            start, end = state["highlight"]
            marks.append(Mark(-1, start, end, "#ffd400", "opened passage"))
            st.caption(f"Showing the opened passage ({start}–{end}) in yellow.")
        html = turns_html(view.text, turns, marks, -1 if state.get("highlight") else state.get("focus"))
        focus = -1 if state.get("highlight") else state.get("focus")
        key = (f"{title}:{state['page']}:{focus}:{state.get('focus_count', 0)}:"
               f"{hash(tuple((c.id, c.start, c.end, c.code) for c in codings))}")
        selector(data={"html": html, "key": key, "focus": focus is not None}, key=f"selector-{title}",
                 on_selection_change=lambda: _remember_selection(title))
        st.caption("Select text with the mouse, or choose segments by number on the right. "
                   + ("Other coders' codings are shown in grey." if any(not m.own for m in marks) else ""))

    with panel:
        if reviewing:
            coders = sorted({c.coder for c in codings})
            st.info("Reviewing: this transcript is not assigned to you. "
                    + (f"Codings by {', '.join(coders)} are shown." if coders else "No codings yet."))
            _all_codings(codings)
            return
        if frozen:
            st.info("You submitted this transcript: your codings are frozen unless a lead reopens it.")
        else:
            _apply_panel(study, actor, title, view, state)
            _suggestions_panel(study, actor, title)
        _codings_list(study, actor, title, view, state, own, frozen)
        if not frozen:
            st.divider()
            if not own:
                st.warning("You have not coded anything in this transcript yet.")
            sure = st.checkbox("I have finished coding this transcript", key=f"sure-{title}")
            if st.button("Submit transcript", disabled=not sure, type="primary", key=f"submit-{title}"):
                try:
                    submit(study, actor, title)
                    st.toast(f"Submitted {title}.")
                    st.rerun()
                except WorkbenchError as error:
                    st.error(md(error))


def _suggestions_panel(study, actor, title) -> None:
    from .suggestions_page import suggestion_cards

    if st.toggle("Suggested passages in this transcript", key=f"suggest-toggle-{title}",
                 help="Sentences of this transcript ranked for a code from your own coding"):
        code = st.selectbox("Suggest for code", _code_options(study, actor), key=f"suggest-code-{title}")
        suggestion_cards(study, actor, code, None, "own", 5, f"code-{title}", transcript=title, compact=True)


def _all_codings(codings) -> None:
    import pandas as pd

    if codings:
        st.dataframe(pd.DataFrame([{"coder": c.coder, "code": c.code, "start": c.start, "end": c.end,
                                    "text": " ".join(c.text.split())[:120]} for c in codings]),
                     hide_index=True, width="stretch")


def _code_options(study, actor) -> list[str]:
    return [c["path"] for c in list_codes(study, actor) if not c["retired"]]


def _apply_panel(study, actor, title, view, state) -> None:
    st.subheader("Apply codes")
    source = st.radio("Passage", ["Selected text", "Segments"], horizontal=True, key=f"source-{title}")
    span = None
    if source == "Selected text":
        selection = state.get("selection")
        if selection:
            try:
                span = selection_span(view.text, int(selection["start"]), int(selection["end"]), selection["text"])
            except WorkbenchError as error:
                st.warning(md(error))
        if span is None:
            st.caption("Select a passage in the transcript.")
    else:
        segments = view.page(state["page"])
        numbers = [s.number for t in segments for s in t.segments] or [1]
        first_col, last_col = st.columns(2)
        first = first_col.number_input("From segment", min_value=1, max_value=len(view.segments),
                                       value=numbers[0], key=f"first-{title}")
        last = last_col.number_input("To segment", min_value=1, max_value=len(view.segments),
                                     value=int(first), key=f"last-{title}")
        try:
            span = span_from_segments(view, int(first), int(last))
        except WorkbenchError as error:
            st.warning(md(error))
    if span:
        quote = " ".join(view.text[span[0]:span[1]].split())
        st.markdown(f"> {md(quote[:400])}{'…' if len(quote) > 400 else ''}")
    if state.pop("applied", False):  # a fresh start after applying: no accidental re-application
        st.session_state[f"codes-{title}"] = []
        st.session_state[f"memo-{title}"] = ""
    codes = st.multiselect("Codes", _code_options(study, actor), key=f"codes-{title}",
                           placeholder="Type to search codes", select_all=False, filter_mode="contains",
                           max_selections=5)
    memo = st.text_input("Memo (optional)", key=f"memo-{title}")
    if st.button("Apply", type="primary", disabled=not (span and codes), key=f"apply-{title}"):
        try:
            for code in codes:
                add_coding(study, actor, title, code, span[0], span[1], memo=memo)
            state.pop("selection", None)
            state["applied"] = True
            st.toast(f"Applied {len(codes)} code(s).")
            _refresh()
        except WorkbenchError as error:
            st.error(md(error))
    with st.expander("Propose a new code"):
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


def _codings_list(study, actor, title, view, state, own, frozen) -> None:
    st.subheader(f"Your codings ({len(own)})")
    for coding in own:
        snippet = " ".join(coding.text.split())
        with st.container(border=True):
            st.markdown(f"**{md(coding.code)}** — {md(snippet[:140])}{'…' if len(snippet) > 140 else ''}")
            if coding.memo:
                st.caption(coding.memo)
            buttons = st.columns(3)
            if buttons[0].button("Go to", key=f"go-{coding.id}"):
                state["page"], state["focus"] = view.page_of(coding.start, PAGE_TURNS), coding.id
                state["focus_count"] = state.get("focus_count", 0) + 1  # scroll again on a repeat click
                state.pop("highlight", None)
                _refresh()
            if not frozen:
                if buttons[1].button("Delete", key=f"del-{coding.id}"):
                    try:
                        delete_coding(study, actor, coding.id)
                        st.toast("Coding deleted.")
                        _refresh()
                    except WorkbenchError as error:
                        st.error(md(error))
                with buttons[2].popover("Change"):
                    options = _code_options(study, actor)
                    new_code = st.selectbox("Code", options, index=options.index(coding.code)
                                            if coding.code in options else 0, key=f"chg-code-{coding.id}")
                    new_memo = st.text_input("Memo", coding.memo, key=f"chg-memo-{coding.id}")
                    if st.button("Save", key=f"chg-save-{coding.id}"):
                        try:
                            update_coding(study, actor, coding.id, code=new_code, memo=new_memo)
                            st.toast("Coding changed.")
                            _refresh()
                        except WorkbenchError as error:
                            st.error(md(error))
                    selection = state.get("selection")
                    if selection and st.button("Move to the selected passage", key=f"chg-span-{coding.id}"):
                        try:
                            start, end = selection_span(view.text, int(selection["start"]), int(selection["end"]),
                                                        selection["text"])
                            update_coding(study, actor, coding.id, start=start, end=end)
                            state.pop("selection", None)
                            _refresh()
                        except WorkbenchError as error:
                            st.error(md(error))
