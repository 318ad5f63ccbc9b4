"""Streamlit page script: thin, see `workbench.ui.agreement_page`."""

from workbench.ui.agreement_page import render

render()
