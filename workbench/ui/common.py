"""What every page needs: the open study, the signed-in actor, role checks, idle logout."""

from __future__ import annotations

import os
import re
import time

import pandas as pd
import streamlit as st

from workbench.access import Actor, allowed
from workbench.errors import WorkbenchError
from workbench.exports import to_bytes, write_csv, write_xlsx
from workbench.users import session_fingerprint
from workbench.store import Study

IDLE_ENV = "WORKBENCH_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30


@st.cache_resource
def open_study() -> Study:
    return Study.open()


def idle_limit_seconds() -> float:
    try:
        return float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_MINUTES)) * 60
    except ValueError:
        return DEFAULT_IDLE_MINUTES * 60


def current_actor() -> Actor | None:
    return st.session_state.get("actor")


def sign_in(actor: Actor) -> None:
    st.session_state["actor"] = actor
    st.session_state["account"] = session_fingerprint(open_study(), actor.name)
    st.session_state["last_active"] = time.time()


def sign_out(message: str | None = None) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if message:
        st.session_state["signed_out_message"] = message


def touch_or_expire() -> bool:
    """Record activity; sign out (returning False) if the session was idle too long, or its
    account's password was set again (or the account is gone) since it signed in."""
    last = st.session_state.get("last_active")
    now = time.time()
    if last is not None and now - last > idle_limit_seconds():
        sign_out("You were signed out after a period of inactivity.")
        return False
    actor = current_actor()
    if actor is not None and st.session_state.get("account") != session_fingerprint(open_study(), actor.name):
        sign_out("Your password was changed: sign in again.")
        return False
    st.session_state["last_active"] = now
    return True


def require_page(page: str) -> Actor:
    """The signed-in actor, if the access policy lets them see `page`; otherwise stop the page
    (a page cannot be reached by URL either)."""
    actor = current_actor()
    if not allowed(actor, f"see_page:{page}"):
        st.error("This page is not available to your role.")
        st.stop()
    return actor


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def md(text: object) -> str:
    """User text (a memo, a definition, a quote, a name) made inert for st.markdown and the
    like: every character Markdown, Streamlit's directives (:red[...], :material/...:) or LaTeX
    would read is escaped, so no markup is drawn and nothing (an image, a link) is fetched."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def csv_download(frame: pd.DataFrame) -> bytes:
    """A table as CSV through the package's writer: text that a spreadsheet would run as a
    formula (=, +, -, @ ...) is neutralised, as in every export."""
    return write_csv([str(c) for c in frame.columns], _records(frame))


def excel_download(frames: dict[str, pd.DataFrame]) -> bytes:
    """Tables as one workbook (a sheet each) through the package's writer."""
    return to_bytes(write_xlsx, {name[:31]: ([str(c) for c in f.columns], _records(f)) for name, f in frames.items()})


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of cells a spreadsheet holds: empty cells None (pandas' NaN would be
    written as "nan"), lists as comma-separated text."""
    def cell(value):
        if isinstance(value, (list, tuple, set)):
            return ", ".join(map(str, value))
        return None if value is None or (isinstance(value, float) and value != value) else value

    return [{k: cell(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def show_error(error: WorkbenchError) -> None:
    st.error(md(error))
