"""Streamlit entry point: `streamlit run app.py` (the README's first command does this).

Signs the user in, then shows only the pages the access policy (`workbench.access`) lets them
use (each page asks the policy again, so a page cannot be reached by URL either)."""

import streamlit as st

from workbench.access import PAGES, home_page, visible_pages
from workbench.ui import auth
from workbench.ui.common import current_actor, open_study, sign_out, touch_or_expire
from workbench.users import has_lead

st.set_page_config(page_title="Interview analysis workbench", layout="wide")
study = open_study()

if auth.oidc_configured():
    auth.oidc_gate(study)
elif not has_lead(study):
    auth.first_lead_form(study)
    st.stop()
elif current_actor() is None or not touch_or_expire():
    auth.login_form(study)
    st.stop()

actor = current_actor()
home = home_page(actor)
pages = [st.Page(f"workbench/ui/pages/{path}.py", title=PAGES[path], url_path=path, default=path == home)
         for path in visible_pages(actor)]

with st.sidebar:
    st.markdown(f"Signed in as **{actor.name}** ({actor.role})")
    if st.button("Sign out"):
        if auth.oidc_configured():
            st.logout()
        sign_out("You signed out.")
        st.rerun()

st.navigation(pages, expanded=True).run()  # a lead has 16 pages: show them all
