"""Streamlit page script: thin, see `workbench.ui.suggestions_page`."""

from workbench.ui.suggestions_page import render

render()
