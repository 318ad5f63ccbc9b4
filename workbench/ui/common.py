"""What every page needs: the open study, the signed-in actor, role checks, idle logout."""

from __future__ import annotations

import os
import time

import streamlit as st

from workbench.access import Actor, allowed
from workbench.errors import WorkbenchError
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
    st.session_state["last_active"] = time.time()


def sign_out(message: str | None = None) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if message:
        st.session_state["signed_out_message"] = message


def touch_or_expire() -> bool:
    """Record activity; sign out (returning False) if the session was idle too long."""
    last = st.session_state.get("last_active")
    now = time.time()
    if last is not None and now - last > idle_limit_seconds():
        sign_out("You were signed out after a period of inactivity.")
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


def show_error(error: WorkbenchError) -> None:
    st.error(str(error))
