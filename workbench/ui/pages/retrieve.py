"""Streamlit page script: thin, see `workbench.ui.retrieve_page`."""

from workbench.ui.retrieve_page import render

render()
