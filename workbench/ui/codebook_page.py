"""Codebook: browse the hierarchy with definitions, each code's colour and its counts (passages,
transcripts, participants) for a chosen coder; leads add, edit, import and export, merge the
coders' draft frames, reorganise (move, merge, split, retire) and keep versions."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from workbench.access import allowed, selectable_coders
from workbench.analysis.retrieval import CodeCounts, code_counts
from workbench.codebook.colours import distinct_colours
from workbench.codebook.io import FORMATS
from workbench.codebook.ops import (
    accept_proposal,
    draft_frames,
    merge_codes,
    move_code,
    reject_proposal,
    retire_code,
    split_code,
    split_suggestions,
)
from workbench.codebook.study import edit_code, export_codebook, import_codebook, list_codes, propose_code
from workbench.codebook.versions import CURRENT, create_version, diff_versions, export_version, list_versions
from workbench.coding.codings import list_codings
from workbench.errors import WorkbenchError

from .common import md, open_study, require_page


def _details(code: dict) -> None:
    st.markdown(f"**Definition.** {md(code['definition']) or '—'}")
    for key, label in (("inclusion", "Include"), ("exclusion", "Exclude"), ("example", "Example")):
        if code[key]:
            st.markdown(f"**{label}.** {md(code[key])}")
    if code["proposed_by"]:
        st.caption(f"Proposed by {code['proposed_by']} while coding; not yet accepted.")


def _edit_form(study, actor, code: dict) -> None:
    with st.form(f"edit-{code['guid']}"):
        name = st.text_input("Name", code["name"])
        fields = {key: st.text_area(key.capitalize(), code[key], height=80)
                  for key in ("definition", "inclusion", "exclusion", "example")}
        color = st.color_picker("Colour", code["color"])
        if st.form_submit_button("Save"):
            try:
                path = edit_code(study, actor, code["guid"], name=name, color=color, **fields)
                st.toast(f"Saved {path}.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))


def render() -> None:
    actor = require_page("codebook")
    study = open_study()
    st.title("Codebook")
    if message := st.session_state.pop("codebook-toast", None):
        st.toast(message)
    codes = list_codes(study, actor)
    if not allowed(actor, "edit_codebook"):
        _browse(codes, study, actor)
        fmt = st.selectbox("Download the codebook as", FORMATS, key="reader-export-format")
        st.download_button("Download codebook", export_codebook(study, fmt), file_name=f"codebook.{fmt}")
        return
    browse, drafts, reorganise, versions = st.tabs(["Codes", "Draft frames", "Reorganise", "Versions"])
    with browse:
        _browse(codes, study, actor)
        _add_and_transfer(study, actor, codes)
    with drafts:
        _drafts(study, actor, codes)
    with reorganise:
        _reorganise(study, actor, codes)
    with versions:
        _versions(study, actor)


def _browse(codes, study, actor) -> None:
    search = st.text_input("Find a code", placeholder="name or words of its definition")
    shown = [c for c in codes if not search or search.lower() in (c["path"] + " " + c["definition"]).lower()]
    st.caption(f"{len([c for c in codes if c['depth'] == 0 and not c['retired']])} themes, "
               f"{len([c for c in codes if not c['retired']])} codes")
    counts = _counts(study, actor, shown)
    for code in shown:
        marker = "\u2003" * code["depth"] + ("[proposed] " if code["proposed_by"] and not code["retired"] else "")
        with st.expander(f"{marker}{md(code['name'])}" + (" (retired)" if code["retired"] else "")):
            _details(code)
            if counts is not None:
                n = counts.get(code["path"], CodeCounts(0, 0, 0))
                st.caption(f"Coded: {n.passages} passages in {n.transcripts} transcripts, "
                           f"{n.participants} participants.")
            if allowed(actor, "edit_codebook"):
                _edit_form(study, actor, code)


ALL_CODINGS = "(every coding you may read)"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _counts(study, actor, shown: list[dict]) -> dict | None:
    """The tree with each code's colour and counts for a chosen coder (own codings of the code,
    not its sub-codes), as a table; returns the counts, or None if they cannot be read."""
    coders = selectable_coders(study, actor)
    if allowed(actor, "read_all_codings"):
        coders = [ALL_CODINGS] + coders
    coder = st.selectbox("Counts of whose coding", coders, key="codebook-counts-coder",
                         help="Passages, transcripts and participants coded with each code itself (not its sub-codes).")
    try:
        counts = code_counts(study, actor, None if coder == ALL_CODINGS else coder)
    except WorkbenchError as error:
        st.info(md(error))
        return None
    empty = CodeCounts(0, 0, 0)
    colours = distinct_colours([(c["path"], c["color"]) for c in shown])
    table = pd.DataFrame([{"code": "\u2003" * c["depth"] + c["name"] + (" (retired)" if c["retired"] else ""),
                           "colour": colours[c["path"]], **vars(counts.get(c["path"], empty))} for c in shown],
                         columns=["code", "colour", "passages", "transcripts", "participants"])

    def swatch(value: str) -> str:
        return f"background-color: {value}; color: {value}" if _HEX.fullmatch(str(value)) else ""

    with st.expander("Colours and counts", expanded=True):
        st.dataframe(table.style.map(swatch, subset=["colour"]), hide_index=True, width="stretch",
                     key="codebook-counts")
    return counts


def _done(message: str) -> None:
    st.session_state["codebook-toast"] = message
    st.rerun()


def _run(action, message, *args):
    """Run `action(*args)`, a codebook operation; on success rerun with `message(result)` as a toast."""
    try:
        result = action(*args)
    except WorkbenchError as error:
        st.error(md(error))
        return
    _done(message(result))


def _add_and_transfer(study, actor, codes) -> None:
    st.divider()
    add, transfer = st.columns(2)
    with add, st.form("add-code"):
        st.subheader("Add a code")
        name = st.text_input("Name", key="new-name")
        parents = ["(a new theme)"] + [c["path"] for c in codes if not c["proposed_by"]]
        parent = st.selectbox("Under", parents)
        definition = st.text_area("Definition", key="new-definition")
        if st.form_submit_button("Add"):
            try:
                path = propose_code(study, actor, name, None if parent == parents[0] else parent, definition)
                st.toast(f"Added {path}.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))
    with transfer:
        st.subheader("Import or export")
        upload = st.file_uploader("Codebook file (.yaml, .csv, .qdc)", type=["yaml", "yml", "csv", "qdc"])
        if upload is not None and st.button("Import codebook"):
            try:
                report = import_codebook(study, actor, upload.getvalue(), upload.name)
                st.success(f"{report.added} codes added, {report.updated} updated.")
            except WorkbenchError as error:
                st.error(md(error))
        fmt = st.selectbox("Export format", FORMATS)
        st.download_button("Download codebook", export_codebook(study, fmt), file_name=f"codebook.{fmt}")


TOP = "(top level: a theme)"


def _drafts(study, actor, codes) -> None:
    frames = draft_frames(study, actor)
    current = [c["path"] for c in codes if not c["retired"] and not c["proposed_by"]]
    st.subheader("Codes coders proposed")
    if not frames["proposed"]:
        st.caption("No proposals waiting.")
    for row in frames["proposed"]:
        used = ", ".join(f"{k} {v}" for k, v in row["codings"].items()) or "not used yet"
        with st.container(border=True):
            st.markdown(f"**{md(row['path'])}** — proposed by {md(row['proposed_by'])} · codings: {md(used)}")
            if row["definition"]:
                st.caption(row["definition"])
            action = st.radio("Decision", ["Accept where it is", "Accept under another code", "Map to an existing code",
                                           "Reject"], horizontal=True, key=f"draft-action-{row['guid']}")
            target = None
            if action == "Accept under another code":
                target = st.selectbox("Under", [TOP] + current, key=f"draft-parent-{row['guid']}")
            elif action == "Map to an existing code":
                target = st.selectbox("Map to", current, key=f"draft-target-{row['guid']}")
            if st.button("Apply", key=f"draft-apply-{row['guid']}"):
                guid = row["guid"]
                if action == "Accept where it is":
                    _run(accept_proposal, "Accepted {}.".format, study, actor, guid)
                elif action == "Accept under another code":
                    _run(accept_proposal, "Accepted {}.".format, study, actor, guid, None if target == TOP else target)
                elif action == "Map to an existing code":
                    _run(merge_codes, lambda r: f"Mapped to {r.target}: {r.repointed} codings follow.",
                         study, actor, [guid], target)
                else:
                    _run(reject_proposal, "Rejected {}.".format, study, actor, guid)
    st.subheader("Codes only one coder used")
    if frames["single_coder"]:
        st.dataframe(pd.DataFrame([{"code": r["path"], "coder": r["coder"], "codings": r["codings"][r["coder"]]}
                                   for r in frames["single_coder"]]), hide_index=True, use_container_width=True)
        st.caption("Keep them, or merge, move or retire them on the Reorganise tab.")
    else:
        st.caption("Every code in use was used by more than one coder.")


def _reorganise(study, actor, codes) -> None:
    current = [c["path"] for c in codes if not c["retired"] and not c["proposed_by"]]
    retired = [c["path"] for c in codes if c["retired"]]
    st.caption("Each change is one transaction, recorded in the audit trail; codings follow their code.")
    with st.container(border=True):
        st.markdown("**Move** a code (its sub-codes and codings go with it)")
        left, right = st.columns(2)
        code = left.selectbox("Code", current, key="move-code")
        parent = right.selectbox("New parent", [TOP] + current, key="move-parent")
        if st.button("Move", key="move-apply"):
            _run(move_code, "Moved to {}.".format, study, actor, code, None if parent == TOP else parent)
    with st.container(border=True):
        st.markdown("**Merge** codes into one (codings re-pointed, duplicates removed, merged codes retired)")
        left, right = st.columns(2)
        sources = left.multiselect("Merge these", current, key="merge-sources")
        target = right.selectbox("Into", current, key="merge-target")
        sure = st.checkbox("Their codings move to the target; the merged codes are retired", key="merge-sure")
        if st.button("Merge", key="merge-apply", disabled=not sure):
            _run(merge_codes, lambda r: f"Merged into {r.target}: {r.repointed} codings re-pointed, "
                                        f"{r.duplicates_removed} duplicates removed.", study, actor, sources, target)
    with st.container(border=True):
        _split(study, actor, current)
    with st.container(border=True):
        st.markdown("**Retire** a code (hidden from coding, kept for history) or bring one back")
        left, right = st.columns(2)
        code = left.selectbox("Retire", current, key="retire-code")
        if left.button("Retire", key="retire-apply"):
            _run(retire_code, "Retired {}.".format, study, actor, code)
        if retired:
            back = right.selectbox("Bring back", retired, key="restore-code")
            if right.button("Bring back", key="restore-apply"):
                _run(retire_code, "Brought back {}.".format, study, actor, back, False)


def _split(study, actor, current) -> None:
    st.markdown("**Split** a code into new codes; you assign each of its codings")
    code = st.selectbox("Code to split", current, key="split-code")
    lines = st.text_area("New codes, one per line (`Name: definition`)", key="split-names",
                         placeholder="Being rung back: ...\nBeing believed: ...")
    into = {}
    for line in lines.splitlines():
        name, _, definition = line.partition(":")
        if name.strip():
            into[name.strip()] = definition.strip()
    if len(into) < 2:
        st.caption("Name at least two new codes.")
        return
    try:
        suggested = split_suggestions(study, actor, code, into)
        rows = [r for r in list_codings(study, actor) if r.code == code]
    except WorkbenchError as error:
        st.error(md(error))
        return
    # one row per passage: the same span coded by both coders and the consensus is assigned once
    passages: dict[tuple[str, int, int], list] = {}
    for r in rows:
        passages.setdefault((r.transcript, r.start, r.end), []).append(r)
    table = pd.DataFrame([{"transcript": t, "start": a, "coded by": ", ".join(sorted(x.coder for x in group)),
                           "passage": " ".join(group[0].text.split())[:200],
                           "new code": suggested.get(group[0].id)} for (t, a, _b), group in passages.items()])
    st.caption(f"{len(rows)} codings on {len(passages)} passages. Suggested from the words of each passage and "
               "each new code's name and definition; correct any before splitting.")
    edited = st.data_editor(table, hide_index=True, use_container_width=True, key="split-table",
                            disabled=["transcript", "start", "coded by", "passage"],
                            column_config={"new code": st.column_config.SelectboxColumn(options=list(into))})
    if st.button("Split", key="split-apply", help="Each coding moves to the new code chosen for its passage; "
                 "the old code is retired."):
        assignment = {}
        for group, row in zip(passages.values(), edited.to_dict("records")):
            if row["new code"]:
                assignment.update({r.id: row["new code"] for r in group})
        _run(split_code, lambda paths: f"Split into {', '.join(paths)}.", study, actor, code, into, assignment)


def _versions(study, actor) -> None:
    with st.form("version-create"):
        st.markdown("**Save this codebook as a version**")
        name = st.text_input("Name", placeholder="after round 1", key="version-name")
        note = st.text_input("Note", key="version-note")
        if st.form_submit_button("Save version"):
            _run(create_version, lambda n: f"Saved version {name!r} ({n} codes).", study, actor, name, note)
    versions = list_versions(study)
    if not versions:
        st.caption("No versions yet.")
        return
    st.dataframe(pd.DataFrame(versions), hide_index=True, use_container_width=True)
    names = [v["name"] for v in versions] + [CURRENT]
    left, right = st.columns(2)
    old = left.selectbox("Changes from", names, key="diff-old")
    new = right.selectbox("To", names, index=len(names) - 1, key="diff-new")
    changes = diff_versions(study, old, new)
    st.markdown("\n".join(f"- {c.line()}" for c in changes) if changes else "No changes.")
    left, right = st.columns(2)
    version = left.selectbox("Export version", names, key="export-version")
    fmt = right.selectbox("Format", FORMATS, key="export-version-format")
    st.download_button("Download this version", export_version(study, version, fmt),
                       file_name=f"codebook-{version}.{fmt}".replace(" ", "_"))
