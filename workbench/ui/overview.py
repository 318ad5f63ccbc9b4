"""Study overview: counts, participants, transcripts (read-only; codings appear on the pages
that respect blindness)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.status import study_status
from workbench.transcripts.participants import list_participants
from workbench.transcripts.study import list_transcripts

from .common import open_study, require_page


def render() -> None:
    actor = require_page("overview")
    study = open_study()
    st.title("Study overview")
    status = study_status(study, actor)
    columns = st.columns(5)
    for column, key in zip(columns, ("transcripts", "segments", "participants", "codes", "coders")):
        column.metric(key.capitalize(), status[key])
    transcripts_tab, participants_tab = st.tabs(["Transcripts", "Participants"])
    with transcripts_tab:
        rows = list_transcripts(study, actor)
        st.dataframe(pd.DataFrame(rows, columns=["title", "format", "participant", "turns", "segments", "encoding"]),
                     hide_index=True, width="stretch")
    with participants_tab:
        st.dataframe(pd.DataFrame(list_participants(study)), hide_index=True, width="stretch")
