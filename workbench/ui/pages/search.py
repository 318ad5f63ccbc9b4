"""Streamlit page script: thin, see `workbench.ui.search_page`."""

from workbench.ui.search_page import render

render()
