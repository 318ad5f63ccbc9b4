"""Streamlit page script: thin, see `workbench.ui.assignments_page`."""

from workbench.ui.assignments_page import render

render()
