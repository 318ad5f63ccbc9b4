"""Streamlit page script: thin, see `workbench.ui.export_page`."""

from workbench.ui.export_page import render

render()
