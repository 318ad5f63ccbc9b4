"""Streamlit entry point: `streamlit run app.py` (the README's first command does this).

Signs the user in, then shows only the pages their role may use (each page checks the role
again, so a page cannot be reached by URL either)."""

import streamlit as st

from workbench.ui import auth
from workbench.ui.common import current_actor, open_study, sign_out, touch_or_expire

st.set_page_config(page_title="Interview analysis workbench", layout="wide")
study = open_study()

if auth.oidc_configured():
    auth.oidc_gate(study)
elif not auth.has_lead(study):
    auth.first_lead_form(study)
    st.stop()
elif current_actor() is None or not touch_or_expire():
    auth.login_form(study)
    st.stop()

actor = current_actor()
PAGES = {  # url path: (title, roles allowed)
    "overview": ("Overview", ("lead", "coder", "viewer")),
    "code": ("Code", ("lead", "coder")),
    "suggestions": ("Suggestions", ("lead", "coder")),
    "codebook": ("Codebook", ("lead", "coder", "viewer")),
    "search": ("Search", ("lead", "coder", "viewer")),
    "analysis": ("Analysis", ("lead", "coder")),
    "memos": ("Memos", ("lead", "coder", "viewer")),
    "export": ("Export", ("lead", "coder", "viewer")),
    "transcripts": ("Transcripts", ("lead",)),
    "anonymisation": ("Anonymisation", ("lead",)),
    "assignments": ("Assignments", ("lead",)),
    "agreement": ("Agreement", ("lead",)),
    "reconcile": ("Reconcile", ("lead",)),
    "matched": ("Matched transcripts", ("lead", "coder", "viewer")),
    "accounts": ("Accounts", ("lead",)),
    "audit": ("Audit trail", ("lead",)),
}
default = "code" if actor.role == "coder" else "overview"
pages = [st.Page(f"workbench/ui/pages/{path}.py", title=title, url_path=path, default=path == default)
         for path, (title, roles) in PAGES.items() if actor.role in roles]

with st.sidebar:
    st.markdown(f"Signed in as **{actor.name}** ({actor.role})")
    if st.button("Sign out"):
        if auth.oidc_configured():
            st.logout()
        sign_out("You signed out.")
        st.rerun()

st.navigation(pages, expanded=True).run()  # a lead has 16 pages: show them all
