"""Streamlit page script: thin, see `workbench.ui.matched_page`."""

from workbench.ui.matched_page import render

render()
