"""Streamlit page script: thin, see `workbench.ui.anonymisation_page`."""

from workbench.ui.anonymisation_page import render

render()
