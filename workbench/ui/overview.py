"""Study overview: what is in the study (read-only). Codings are not shown here: coding,
accounts and blindness come with the coding workspace."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.codebook import list_codes
from workbench.participants import list_participants
from workbench.status import study_status
from workbench.store import Study
from workbench.transcripts import list_transcripts, transcript_turns


@st.cache_resource
def open_study() -> Study:
    return Study.open()


def render() -> None:
    study = open_study()
    st.title("Study overview")
    status = study_status(study)
    columns = st.columns(5)
    for column, key in zip(columns, ("transcripts", "segments", "participants", "codes", "coders")):
        column.metric(key.capitalize(), status[key])

    transcripts_tab, participants_tab, codebook_tab = st.tabs(["Transcripts", "Participants", "Codebook"])
    with transcripts_tab:
        rows = list_transcripts(study)
        st.dataframe(pd.DataFrame(rows, columns=["title", "format", "participant", "turns", "segments", "encoding"]),
                     hide_index=True, width="stretch")
        if rows:
            title = st.selectbox("Read a transcript", [r["title"] for r in rows])
            for turn in transcript_turns(study, title):
                who = turn["speaker"] or "—"
                if turn["role"]:
                    who += f" ({turn['role']})"
                st.markdown(f"**{who}** {turn['text']}")
    with participants_tab:
        st.dataframe(pd.DataFrame(list_participants(study)), hide_index=True, width="stretch")
    with codebook_tab:
        for code in list_codes(study):
            with st.expander(("\u2003" * code["depth"]) + code["name"]):
                st.markdown(f"**Definition.** {code['definition']}")
                if code["inclusion"]:
                    st.markdown(f"**Include.** {code['inclusion']}")
                if code["exclusion"]:
                    st.markdown(f"**Exclude.** {code['exclusion']}")
                if code["example"]:
                    st.markdown(f"**Example.** {code['example']}")
