"""Streamlit page script: thin, see `workbench.ui.accounts_page`."""

from workbench.ui.accounts_page import render

render()
