"""Streamlit page script: thin, see `workbench.ui.reconcile_page`."""

from workbench.ui.reconcile_page import render

render()
