"""Streamlit page script: thin, see `workbench.ui.codebook_page`."""

from workbench.ui.codebook_page import render

render()
