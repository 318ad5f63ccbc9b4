"""Streamlit page script: thin, see `workbench.ui.memos_page`."""

from workbench.ui.memos_page import render

render()
