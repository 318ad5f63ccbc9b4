"""Audit trail (lead): who changed what, when — codings, assignments, submissions, unblinding,
codebook and accounts. Entries name objects and positions, never transcript text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.audit import audit_rows

from .common import open_study, require_role


def render() -> None:
    actor = require_role("lead")
    st.title("Audit trail")
    limit = st.select_slider("Newest entries", [50, 200, 1000, 5000], value=200)
    rows = audit_rows(open_study(), actor, limit)
    actions = sorted({r["action"] for r in rows})
    chosen = st.multiselect("Actions", actions)
    shown = [r for r in rows if not chosen or r["action"] in chosen]
    st.dataframe(pd.DataFrame([{**r, "detail": str(r["detail"])} for r in shown]), hide_index=True, width="stretch")
