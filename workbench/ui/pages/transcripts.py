"""Streamlit page script: thin, see `workbench.ui.transcripts_page`."""

from workbench.ui.transcripts_page import render

render()
