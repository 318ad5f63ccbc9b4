"""Audit trail (lead): who changed what, when — codings, assignments, submissions, unblinding,
codebook and accounts. Entries name objects and positions, never transcript text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.audit import audit_rows

from .common import csv_download, open_study, require_page


def render() -> None:
    actor = require_page("audit")
    st.title("Audit trail")
    limit = st.select_slider("Newest entries", [50, 200, 1000, 5000], value=200)
    rows = audit_rows(open_study(), actor, limit)
    filters = st.columns(2)
    chosen = filters[0].multiselect("Actions", sorted({r["action"] for r in rows}))
    people = filters[1].multiselect("By", sorted({r["actor"] or "-" for r in rows}))
    shown = [r for r in rows if (not chosen or r["action"] in chosen) and (not people or (r["actor"] or "-") in people)]
    table = pd.DataFrame([{"when": r["at"], "who": r["actor"], "action": r["action"],
                           "detail": "; ".join(f"{k}: {v}" for k, v in r["detail"].items() if v is not None)}
                          for r in shown])
    st.dataframe(table, hide_index=True, width="stretch")
    if not table.empty:
        st.download_button("Download (CSV)", csv_download(table), file_name="audit-trail.csv")
