"""Streamlit entry point: `streamlit run app.py` (the README's first command does this)."""

import streamlit as st

from workbench.ui import overview

st.set_page_config(page_title="Interview analysis workbench", layout="wide")
page = st.navigation([st.Page(overview.render, title="Overview", url_path="overview", default=True)])
page.run()
