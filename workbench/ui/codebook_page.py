"""Codebook: browse the hierarchy with definitions; leads add, edit, import and export."""

from __future__ import annotations

import streamlit as st

from workbench.codebook import (FORMATS, edit_code, export_codebook, import_codebook, list_codes,
                                propose_code)
from workbench.errors import WorkbenchError

from .common import open_study, require_role


def _details(code: dict) -> None:
    st.markdown(f"**Definition.** {code['definition'] or '—'}")
    for key, label in (("inclusion", "Include"), ("exclusion", "Exclude"), ("example", "Example")):
        if code[key]:
            st.markdown(f"**{label}.** {code[key]}")
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
                st.error(str(error))


def render() -> None:
    actor = require_role("lead", "coder", "viewer")
    study = open_study()
    st.title("Codebook")
    codes = list_codes(study, actor)
    search = st.text_input("Find a code", placeholder="name or words of its definition")
    shown = [c for c in codes if not search or search.lower() in (c["path"] + " " + c["definition"]).lower()]
    st.caption(f"{len([c for c in codes if c['depth'] == 0])} themes, {len(codes)} codes")
    for code in shown:
        marker = "\u2003" * code["depth"] + ("[proposed] " if code["proposed_by"] else "")
        with st.expander(f"{marker}{code['name']}" + (" (retired)" if code["retired"] else "")):
            _details(code)
            if actor.is_lead:
                _edit_form(study, actor, code)

    if actor.is_lead:
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
                    st.error(str(error))
        with transfer:
            st.subheader("Import or export")
            upload = st.file_uploader("Codebook file (.yaml, .csv, .qdc)", type=["yaml", "yml", "csv", "qdc"])
            if upload is not None and st.button("Import codebook"):
                try:
                    report = import_codebook(study, upload.getvalue(), upload.name, actor=actor)
                    st.success(f"{report.added} codes added, {report.updated} updated.")
                except WorkbenchError as error:
                    st.error(str(error))
            fmt = st.selectbox("Export format", FORMATS)
            st.download_button("Download codebook", export_codebook(study, fmt), file_name=f"codebook.{fmt}")
