"""Transcripts (lead): import files with progress, the participant key, metadata."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.privacy.scan import scan_transcripts
from workbench.refi.project import import_project
from workbench.transcripts.formats import FORMATS
from workbench.transcripts.participants import export_participants, import_participants, list_participants
from workbench.transcripts.study import FileInput, delete_transcript, import_transcripts, list_transcripts

from .common import md, open_study, require_page


def _import_section(study, actor) -> None:
    st.subheader("Import transcripts")
    files = st.file_uploader("Transcript files", type=[f.lstrip(".") for f in FORMATS], accept_multiple_files=True)
    people = [""] + [p["pseudonym"] for p in list_participants(study)]
    participant = st.selectbox("Participant interviewed (for R:/Respondent labels; optional)", people)
    meta = st.text_input("Metadata (key=value; key=value)", placeholder="site=Service 4; mode=telephone")
    if files and st.button("Import", type="primary"):
        metadata = {}
        for item in filter(None, (part.strip() for part in meta.split(";"))):
            key, sep, value = item.partition("=")
            if not sep:
                st.error(f"Metadata must be key=value, not {item!r}.")
                return
            metadata[key.strip()] = value.strip()
        bar = st.progress(0.0, text="Reading files…")
        try:
            report = import_transcripts(
                study, actor, [FileInput(f.name, f.getvalue()) for f in files], participant=participant or None,
                meta=metadata,
                progress=lambda n, total, title: bar.progress(n / total, text=f"Imported {title} ({n}/{total})"))
        except WorkbenchError as error:
            bar.empty()
            st.error(f"Nothing was imported. {error}")
            return
        for t in report.transcripts:
            st.success(f"{t.title}: {t.turns} turns, {t.segments} segments ({t.encoding}).")
            for note in t.notes:
                st.warning(f"{t.title}: {note}")
            if t.unlinked_speakers:
                st.warning(f"{t.title}: speakers not in the participant key: {', '.join(t.unlinked_speakers)}")
        found: dict[str, int] = {}
        for finding in scan_transcripts(study, actor, [t.title for t in report.transcripts]):
            found[finding.transcript] = found.get(finding.transcript, 0) + 1
        st.info("The anonymisation check found " + ", ".join(
            f"{found.get(t.title, 0)} possible identifier(s) in {t.title}" for t in report.transcripts)
            + ". Coders see a transcript once you release it on the Anonymisation page.")


def _key_section(study, actor) -> None:
    st.subheader("Participant key")
    people = list_participants(study)
    if people:
        table = pd.DataFrame([{**{k: v for k, v in p.items() if k != "attributes"},
                               "linked_to": "; ".join(p["linked_to"]), **p["attributes"]} for p in people])
        st.dataframe(table, hide_index=True, width="stretch")
    upload = st.file_uploader("Key (CSV: pseudonym, role, group, age, linked_to, …)", type=["csv"], key="key")
    if upload is not None and st.button("Import key"):
        try:
            report = import_participants(study, actor, upload.getvalue(), upload.name)
            st.success(f"{report.added} added, {report.updated} updated.")
            st.rerun()
        except WorkbenchError as error:
            st.error(md(error))
    st.download_button("Download key", export_participants(study), file_name="participant_key.csv")


def _refi_section(study, actor) -> None:
    with st.expander("Import a project from NVivo, ATLAS.ti, MAXQDA or QualCoder (REFI-QDA .qdpx)"):
        upload = st.file_uploader("Project file", type=["qdpx"], key="refi-upload")
        if upload is not None and st.button("Import project", key="refi-import"):
            try:
                report = import_project(study, actor, upload.getvalue(), upload.name)
            except WorkbenchError as error:
                st.error(f"Nothing was imported. {error}")
                return
            st.success(f"Imported {report.transcripts} transcripts, {report.codings} codings, "
                       f"{report.codes_added} new codes and {report.memos} memos. They wait for the "
                       "anonymisation check before coders see them.")
            for title, convention in report.conventions.items():
                if convention != "code points":
                    st.info(f"{title}: offsets were counted as {convention} and converted.")
            for line in report.skipped:
                st.warning(f"Skipped: {line}")


def render() -> None:
    actor = require_page("transcripts")
    study = open_study()
    st.title("Transcripts")
    table = st.empty()  # filled after the import section, so a new import shows at once
    left, right = st.columns(2)
    with left:
        _import_section(study, actor)
    with right:
        _key_section(study, actor)
    _refi_section(study, actor)
    rows = list_transcripts(study, actor)
    if rows:
        with st.expander("Delete a transcript imported by mistake"):
            doomed = st.selectbox("Transcript", [r["title"] for r in rows], key="delete-title")
            sure = st.checkbox(f"Delete {doomed} with all its codings, assignments and memos")
            if st.button("Delete transcript", disabled=not sure):
                try:
                    counts = delete_transcript(study, actor, doomed)
                    st.toast(f"Deleted {doomed} ({counts['codings']} codings).")
                    st.rerun()
                except WorkbenchError as error:
                    st.error(md(error))
        table.dataframe(pd.DataFrame(rows)[["title", "file", "format", "encoding", "participant", "turns",
                                            "segments", "metadata", "segmenter"]], hide_index=True, width="stretch")
