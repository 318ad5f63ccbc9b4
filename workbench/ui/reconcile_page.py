"""Reconcile (lead): the queue of places where the coders differ on an unblinded transcript,
each shown in context with coder A's and coder B's codings side by side, and decided into the
consensus coding. All rules live in `workbench.reconcile.study`; this page only shows and asks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.codebook.study import list_codes
from workbench.coding.workspace import transcript_view
from workbench.errors import WorkbenchError
from workbench.reconcile.study import carry_agreed, decide_item, reconcile_agreement, reconcile_queue, reconcile_status

from .common import md, open_study, require_page
from .render import CSS, Mark, turns_html

KIND_LABELS = {"agreed": "identical in both codings", "boundary": "same code, different boundaries",
               "one_coder": "only one coder coded this", "different_codes": "different codes on the same passage"}
STATUS_ICONS = {"open": "○", "decided": "●", "flagged": "⚑"}
SHOW = {"To decide (open and flagged)": ("open", "flagged"), "All differences": ("open", "decided", "flagged"),
        "Identical spans (carried)": ("agreed",)}


def _progress_table(rows: list[dict]) -> None:
    table = pd.DataFrame([{
        "transcript": r["transcript"], "coders": ", ".join(r["coders"]),
        "state": ("not unblinded" if not r["unblinded"] else "complete" if r["complete"]
                  else "in progress" if r["items"] is not None and r["decided"] else
                  "not started" if r["items"] is not None else "fewer than two coders"),
        "decided": "" if r["items"] is None else f"{r['decided']} / {r['items']}",
        "flagged": "" if r["flagged"] is None else str(r["flagged"]),
        "consensus codings": r["consensus_codings"]} for r in rows])
    st.dataframe(table, hide_index=True, use_container_width=True)


def _context(view, entry, coders: list[str], names: dict[str, str], colors: dict[str, str]) -> None:
    item = entry.item
    first = next((k for k, t in enumerate(view.turns) if t.end > item.start), 0)
    last = max((k for k, t in enumerate(view.turns) if t.start < item.end), default=first)
    turns = view.turns[max(first - 1, 0):last + 1]
    columns = st.columns(len(coders) + (1 if entry.consensus else 0))
    sides = [(names[c], [x for x in item.codings if x.coder == c]) for c in coders]
    if entry.consensus:
        sides.append(("Consensus now", entry.consensus))
    for column, (label, codings) in zip(columns, sides):
        with column:
            st.markdown(f"**{label}**")
            for x in codings:
                st.caption(f"{md(x.code)} · {x.start}–{x.end}" + (f" · memo: {md(x.memo)}" if x.memo else ""))
            if not codings:
                st.caption("nothing coded here")
            marks = [Mark(k, x.start, x.end, colors.get(x.code, "#1f77b4"), x.code) for k, x in enumerate(codings)]
            st.html(f"<style>{CSS}</style><div class='wb-root' style='max-height:40vh'>"
                    f"{turns_html(view.text, turns, marks)}</div>")


def _decide(study, actor, title: str, entry, coders: list[str], names: dict[str, str], codes: list[str]) -> None:
    item = entry.item
    rationale = st.text_input("Rationale (optional, kept with the decision)", key=f"why-{item.key}")
    options = [(f"Keep {names[c]}'s", [c]) for c in coders if any(x.coder == c for x in item.codings)]
    if len(options) > 1:
        options.append(("Keep both", list(coders)))
    options.append(("Neither", []))
    buttons = st.columns(len(options))
    for button, (label, keep) in zip(buttons, options):
        if button.button(label, key=f"{label}-{item.key}", use_container_width=True):
            _apply(study, actor, title, item.key, rationale, keep=keep)
    with st.expander("Edit the span or the codes"):
        present = sorted({x.code for x in item.codings})
        chosen = st.multiselect("Codes", codes, default=[c for c in present if c in codes],
                                max_selections=5, key=f"codes-{item.key}")
        left, right = st.columns(2)
        start = left.number_input("Start", 0, value=item.start, key=f"start-{item.key}")
        end = right.number_input("End", 0, value=item.end, key=f"end-{item.key}")
        view_text = st.session_state.get("reconcile-text", "")
        if view_text and 0 <= start < end <= len(view_text):
            st.caption("“" + " ".join(view_text[int(start):int(end)].split())[:400] + "”")
        if st.button("Save edited consensus", key=f"edit-{item.key}"):
            _apply(study, actor, title, item.key, rationale, spans=[(c, int(start), int(end)) for c in chosen])


def _apply(study, actor, title, key, rationale, keep=None, spans=None) -> None:
    try:
        made = decide_item(study, actor, title, key, keep=keep, spans=spans, rationale=rationale)
        st.session_state["reconcile-toast"] = (f"Decided: {made} consensus coding(s) for this passage." if made
                                               else "Decided: nothing from this passage goes into the consensus.")
        st.session_state["reconcile-advance"] = (key, st.session_state.get("reconcile-index", 0))
        st.rerun()
    except WorkbenchError as error:
        st.error(md(error))


def _opening(text: str, start: int, words: int = 7) -> str:
    first = text[start:start + 200].split()
    return " ".join(first[:words]) + ("…" if len(first) > words else "")


def _choice(decision: dict, names: dict[str, str]) -> str:
    kept = [names.get(k, k) for k in decision["kept"]]
    return {"agreed": "identical in both codings, carried into the consensus",
            "neither": "kept neither coder's coding",
            "edit": "the lead's own span and codes",
            }.get(decision["choice"], "kept both codings" if len(kept) > 1 else f"kept {', '.join(kept)}'s coding")


def _agreement(study, actor) -> None:
    st.subheader("Agreement before and after reconciliation")
    st.caption("On the transcripts reconciled completely: the coders against each other (before), and each "
               "coder against the consensus (after). Sentence units; the Agreement page has the details.")
    if st.button("Compute", key="reconcile-agreement"):
        try:
            rows = reconcile_agreement(study, actor)
            st.dataframe(pd.DataFrame([{"comparison": r.comparison, "transcripts": ", ".join(r.transcripts),
                                        "Cohen's κ": r.kappa, "Krippendorff's α": r.alpha,
                                        "percent agreement": None if r.percent is None else f"{r.percent:.1%}"}
                                       for r in rows]),
                         hide_index=True, use_container_width=True,
                         column_config={"Cohen's κ": st.column_config.NumberColumn(format="%.3f"),
                                        "Krippendorff's α": st.column_config.NumberColumn(format="%.3f")})
            for note in sorted({r.note for r in rows if r.note}):
                st.caption(note)
        except WorkbenchError as error:
            st.info(md(error))


def render() -> None:
    actor = require_page("reconcile")
    study = open_study()
    st.title("Reconcile")
    if message := st.session_state.pop("reconcile-toast", None):
        st.toast(message)
    status = reconcile_status(study, actor)
    _progress_table(status)
    ready = [r["transcript"] for r in status if r["items"] is not None]
    if not ready:
        st.info("No transcript is ready: unblind a double-coded transcript on the Assignments page first.")
        return
    unfinished = [r["transcript"] for r in status if r["items"] is not None and not r["complete"]]
    title = st.selectbox("Transcript", ready, index=ready.index(unfinished[0]) if unfinished else 0,
                         key="reconcile-transcript", help="Transcripts unblinded with two coders; the first "
                         "unfinished one is chosen when the page opens.")
    try:
        carried = carry_agreed(study, actor, title)
        if carried:
            st.toast(f"{carried} identical codings carried into the consensus.")
        queue = reconcile_queue(study, actor, title)
    except WorkbenchError as error:
        st.error(md(error))
        return
    hide = st.toggle("Hide coder names", value=True, key="reconcile-hide",
                     help="Show the coders as A and B (their order differs from transcript to transcript).")
    names = {c: (f"Coder {queue.letter(c)}" if hide else c) for c in queue.coders}
    counts = queue.counts()
    done = counts["decided"]
    st.progress(done / counts["items"] if counts["items"] else 1.0,
                text=f"{done} of {counts['items']} differences decided · {counts['open']} open · "
                     f"{counts['flagged']} flagged for review · {counts['agreed_carried']} identical spans carried")
    if queue.orphaned:
        st.warning(f"{queue.orphaned} earlier decision(s) no longer match any passage (their codings changed); "
                   "their consensus codings are kept.")
    show = st.radio("Show", list(SHOW), horizontal=True, key="reconcile-show")
    wanted = SHOW[show]
    if wanted == ("agreed",):
        entries = [q for q in queue.items if q.item.kind == "agreed"]
    else:  # a flagged identical span needs a decision too
        entries = [q for q in queue.items if q.status in wanted and (q.item.kind != "agreed" or q.status == "flagged")]
    if not entries:
        st.success("Nothing left to decide here." if wanted != ("agreed",) else "No identical spans.")
        _agreement(study, actor)
        return
    keys = [q.key for q in entries]
    state = f"reconcile-item-{title}-{show}"
    advance = st.session_state.pop("reconcile-advance", None)
    if advance is not None:
        decided, index = advance
        st.session_state[state] = keys[min(index + (decided in keys), len(keys) - 1)]
    elif st.session_state.get(state) not in keys:
        st.session_state[state] = keys[0]
    view = transcript_view(study, title)
    labels = {q.key: f"{STATUS_ICONS.get(q.status, '')} “{_opening(view.text, q.item.start)}” · "
                     f"{KIND_LABELS[q.item.kind]} · {', '.join(c.split('/')[-1] for c in q.item.codes)}"
              for q in entries}
    key = st.selectbox(f"Passage ({len(entries)})", keys, format_func=labels.get, key=state)
    st.session_state["reconcile-index"] = keys.index(key)
    entry = next(q for q in entries if q.key == key)
    st.markdown(f"**{KIND_LABELS[entry.item.kind].capitalize()}**")
    if entry.status == "flagged":
        st.warning("The codes or spans under this decision changed after it was made (for example a codebook "
                   "merge): review it and decide again.")
    if entry.decision:
        d = entry.decision
        st.caption(f"Decided by {d['decided_by']} on {d['decided_at']:%Y-%m-%d %H:%M}: {_choice(d, names)}"
                   + (f" — “{d['rationale']}”" if d["rationale"] else ""))
    st.session_state["reconcile-text"] = view.text
    codes = [c for c in list_codes(study, actor) if not c["retired"]]
    colors = {c["path"]: c["color"] for c in codes}
    _context(view, entry, queue.coders, names, colors)
    _decide(study, actor, title, entry, queue.coders, names, [c["path"] for c in codes])
    st.divider()
    _agreement(study, actor)
