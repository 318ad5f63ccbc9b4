"""Streamlit page script: thin, see `workbench.ui.analysis_page`."""

from workbench.ui.analysis_page import render

render()
