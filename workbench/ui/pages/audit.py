"""Streamlit page script: thin, see `workbench.ui.audit_page`."""

from workbench.ui.audit_page import render

render()
