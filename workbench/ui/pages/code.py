"""Streamlit page script: thin, see `workbench.ui.code_page`."""

from workbench.ui.code_page import render

render()
