"""Streamlit pages. The only part of the package that imports Streamlit; pages are thin and
call `workbench` functions."""
