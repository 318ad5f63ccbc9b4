"""Qualitative interview analysis workbench.

All logic lives in this package; the Streamlit pages (`workbench.ui`), the `workbench`
command (`workbench.cli`) and the tests call the same functions.
"""

__version__ = "0.1.0"
