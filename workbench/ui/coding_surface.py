"""The coding surface: one Streamlit component (`st.components.v2`, inline JS and CSS, no build
step, nothing fetched) that shows a page of a transcript with its codings and handles coding in
the page. The browser draws every change at once and sends the actions afterwards; this module
carries them out with the same `workbench` functions the CLI calls (so blindness, rounds,
frozen submissions and the audit trail are theirs) and keeps the coder's undo steps.

Actions arrive as one list (trigger "actions"), each with a sequence number; the list is sent
again until the page acknowledges a number (`ack` in the data), so none is lost when two
arrive while the server is busy.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..codebook.colours import distinct_colours
from ..codebook.study import list_codes, propose_code
from ..coding.codings import CodingStep, add_coding, delete_coding, undo_step, update_coding
from ..coding.spans import in_vivo_name, snap_to_words, trim_span, turn_parts, turn_talk
from ..errors import WorkbenchError
from ..places import clock

_HERE = Path(__file__).parent
surface = st.components.v2.component(
    "workbench.coding_surface",
    js=(_HERE / "coding_surface.js").read_text(encoding="utf-8"),
    css=(_HERE / "coding_surface.css").read_text(encoding="utf-8"),
    isolate_styles=False,  # selection and keyboard need the page's own DOM, not a shadow root
)
UNDO_DEPTH = 50


def code_choices(study, actor) -> tuple[list[dict], dict[str, str]]:
    """Codes a coder may apply, in codebook order, each with its own display colour; and the
    display colour of every code the actor may see (retired ones too: old codings keep theirs)."""
    codes = list_codes(study, actor)
    colours = distinct_colours([(c["path"], c["color"]) for c in codes])
    usable = [dict(path=c["path"], name=c["name"], depth=c["depth"], color=colours[c["path"]])
              for c in codes if not c["retired"]]
    return usable, colours


def surface_state(title: str) -> dict:
    return st.session_state.setdefault("coding", {}).setdefault(
        title, {"page": 0, "ack": 0, "undo": [], "recent": [], "error": None, "focus": None})


def render_surface(study, actor, title: str, view, codings, *, editable: bool, reviewing: bool = False,
                   status: str = "") -> None:
    """Show the page of `view` the coder is on, with `codings` (already filtered by the data
    layer for `actor`), and carry out what the coder does in it. `reviewing`: a lead reading
    every coder's codings (all drawn in their colours)."""
    state = surface_state(title)
    pages = view.pages()
    state["page"] = min(max(state["page"], 0), pages - 1)
    turns = view.page(state["page"])
    base, end = (turns[0].start, turns[-1].end) if turns else (0, 0)
    usable, colours = code_choices(study, actor)
    own_pages = sorted({view.page_of(c.start) for c in codings if c.coder == actor.name})
    focus = state.get("focus")
    data = {
        "key": f"{title}:{state['page']}:{view.content_hash}:{focus and focus.get('n')}",
        "base": base,
        "text": view.text[base:end],
        "turns": [{"i": t.index, "who": t.speaker, "role": t.role, "iv": t.interviewer,
                   "time": clock(t.time_start) or None, "parts": turn_parts(view.text, t), "talk": turn_talk(t)}
                  for t in turns],
        "codings": [{"id": c.id, "start": c.start, "end": c.end, "code": c.code, "coder": c.coder,
                     "label": c.code if c.coder == actor.name else f"{c.code} ({c.coder})",
                     "color": colours.get(c.code, c.color or "#777777"), "memo": c.memo,
                     "own": reviewing or c.coder == actor.name}
                    for c in codings if c.end > base and c.start < end],
        "codes": usable if editable else [],
        "recent": state["recent"],
        "editable": editable,
        "undo": bool(state["undo"]),
        "undoTop": _undo_preview(state, codings, colours),
        "page": state["page"],
        "pages": pages,
        "prevCoded": next((p for p in reversed(own_pages) if p < state["page"]), None),
        "nextCoded": next((p for p in own_pages if p > state["page"]), None),
        "focus": {"start": focus["start"], "end": focus["end"]} if focus else None,
        "ack": state["ack"],
        "error": state["error"],
        "status": status,
    }
    surface(data=data, key=f"surface-{title}", on_actions_change=lambda: _carry_out(study, actor, title, view))


def _undo_preview(state: dict, codings, colours: dict[str, str]) -> dict | None:
    """What undoing the last step will show, so the page can draw it before the server has
    done it: the coding to hide (an addition), or the coding as it was (a change, a deletion)."""
    if not state["undo"]:
        return None
    step = state["undo"][-1]
    preview = {"action": step.action, "id": step.coding_id}
    if step.action == "change":
        current = next((c for c in codings if c.id == step.coding_id), None)
        if current is None:
            return None
        fields = dict(step.before or {})
        if "code" in fields:
            fields.update(label=fields["code"], color=colours.get(fields["code"], current.color))
        preview["shown"] = fields
    elif step.action == "delete":
        before = step.before or {}
        preview["shown"] = {"start": before["start"], "end": before["end"], "code": before["code"],
                            "label": before["code"], "color": colours.get(before["code"], "#777777"),
                            "memo": before.get("memo", "")}
    return preview


def _actions(title: str) -> list[dict]:
    value = st.session_state.get(f"surface-{title}")
    actions = getattr(value, "actions", None) if value is not None else None
    if actions is None and isinstance(value, dict):
        actions = value.get("actions")
    return list(actions or [])


def _carry_out(study, actor, title: str, view) -> None:
    """Do the actions the page has not had acknowledged, in order (a callback: runs before the
    script, so the page drawn afterwards already shows the stored result)."""
    state = surface_state(title)
    for action in sorted(_actions(title), key=lambda a: a.get("seq", 0)):
        seq = int(action.get("seq", 0))
        if seq <= state["ack"]:
            continue
        state["ack"] = seq
        try:
            _do(study, actor, title, view, state, action)
            state["error"] = None
        except WorkbenchError as error:
            state["error"] = str(error)
        except (KeyError, TypeError, ValueError):
            state["error"] = "the page sent an action the server could not read: reload the page"


def _do(study, actor, title: str, view, state: dict, action: dict) -> None:
    kind = action.get("type")
    if kind == "page":
        state["page"] = int(action["page"])
        state["focus"] = None
        if action.get("edge"):
            _focus_edge(study, actor, title, view, state, action["edge"])
        return
    if kind in ("apply", "invivo"):
        start, end = int(action["start"]), int(action["end"])
        start, end = snap_to_words(view.text, start, end) if action.get("snap") else trim_span(view.text, start, end)
        code = _in_vivo(study, actor, view.text[start:end], action.get("name")) if kind == "invivo" else action["code"]
        coding_id = add_coding(study, actor, title, code, start, end)
        _remember(state, CodingStep("add", coding_id))
        state["recent"] = [code, *[p for p in state["recent"] if p != code]][:9]
        return
    if kind in ("delete", "change"):
        before = _before(study, actor, title, int(action["id"]))
        if kind == "delete":
            delete_coding(study, actor, int(action["id"]))
            _remember(state, CodingStep("delete", int(action["id"]), before))
        else:
            fields = {k: action[k] for k in ("code", "memo") if action.get(k) is not None}
            update_coding(study, actor, int(action["id"]), **fields)
            _remember(state, CodingStep("change", int(action["id"]), {k: before[k] for k in fields}))
        return
    if kind == "undo":
        if not state["undo"]:
            raise WorkbenchError("nothing to undo")
        step = state["undo"].pop()
        recreated = undo_step(study, actor, step)
        if recreated is not None:  # later steps name the coding by its new id
            state["undo"] = [CodingStep(s.action, recreated if s.coding_id == step.coding_id else s.coding_id,
                                        s.before) for s in state["undo"]]
        return
    raise WorkbenchError(f"unknown action {kind!r}")


def _remember(state: dict, step: CodingStep) -> None:
    state["undo"] = [*state["undo"], step][-UNDO_DEPTH:]


def _before(study, actor, title: str, coding_id: int) -> dict:
    from ..coding.codings import list_codings

    row = next((c for c in list_codings(study, actor, transcript=title) if c.id == coding_id), None)
    if row is None:
        raise WorkbenchError(f"no coding {coding_id} of yours")
    return {"transcript": title, "code": row.code, "start": row.start, "end": row.end, "memo": row.memo,
            "origin": row.origin}


def _in_vivo(study, actor, selected: str, typed: str | None) -> str:
    """The code named by the coder (typed in the picker) or by the selected words (in vivo):
    an existing code of that name, else a new proposed code."""
    name = in_vivo_name(typed or selected)
    if not name:
        raise WorkbenchError("select some words to name the new code after")
    existing = next((c["path"] for c in list_codes(study, actor) if c["name"].casefold() == name.casefold()
                     and not c["retired"]), None)
    return existing or propose_code(study, actor, name, None, "")


def _focus_edge(study, actor, title: str, view, state: dict, edge: str) -> None:
    from ..coding.codings import list_codings

    page = state["page"]
    mine = sorted((c for c in list_codings(study, actor, transcript=title)
                   if c.coder == actor.name and view.page_of(c.start) == page), key=lambda c: c.start)
    if mine:
        chosen = mine[0] if edge == "first" else mine[-1]
        open_at(state, chosen.start, chosen.end)


def open_at(state: dict, start: int, end: int) -> None:
    """Show `[start, end)` outlined on the next render (a passage opened from elsewhere)."""
    state["focus"] = {"start": start, "end": end, "n": (state.get("focus") or {}).get("n", 0) + 1}
