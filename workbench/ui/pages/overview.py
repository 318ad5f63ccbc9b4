"""Streamlit page script: thin, see `workbench.ui.overview`."""

from workbench.ui.overview import render

render()
