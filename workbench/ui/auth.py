"""Signing in: local accounts (argon2) or, when configured, OpenID Connect via `st.login`.

- A database without a lead asks for the first lead's account (no default password), with a
  one-time set-up code the server prints in the terminal that started it: whoever merely
  reaches the page first cannot make themselves the study's lead.
- An account without a password cannot sign in; failed sign-ins are throttled per name and per
  client (`users.SignInThrottle`), and a session ends when its account's password is reset.
- With an `[auth]` section in `.streamlit/secrets.toml`, `st.login()` is used and the signed-in
  e-mail is matched to an account's e-mail.
"""

from __future__ import annotations

import hmac
import secrets
import sys
import threading

import streamlit as st

from workbench.errors import WorkbenchError
from workbench.users import actor_by_email, create_first_lead
from workbench.users import sign_in as check_sign_in

from .common import md, sign_in


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


_SETUP = {"code": None}
_SETUP_LOCK = threading.Lock()


def setup_code() -> str:
    """This server's one-time code for creating the first lead, made and printed to the
    terminal (stderr) the first time it is needed."""
    with _SETUP_LOCK:
        if _SETUP["code"] is None:
            _SETUP["code"] = "-".join(secrets.token_hex(2).upper() for _ in range(3))
            print(f"workbench: this study has no lead yet. Set-up code for the first lead's account: "
                  f"{_SETUP['code']}", file=sys.stderr, flush=True)
        return _SETUP["code"]


def first_lead_form(study) -> None:
    st.title("Set up the study")
    st.write("This database has no lead analyst yet. Create the first lead's account with the "
             "set-up code printed in the terminal where the app was started.")
    expected = setup_code()
    with st.form("first-lead"):
        code = st.text_input("Set-up code")
        name = st.text_input("Name")
        email = st.text_input("E-mail (optional)")
        password = st.text_input("Password", type="password")
        again = st.text_input("Password again", type="password")
        if st.form_submit_button("Create lead account", type="primary"):
            if not hmac.compare_digest(code.strip().upper(), expected):
                st.error("That is not the set-up code printed in the terminal where the app was started.")
                return
            if password != again:
                st.error("The passwords differ.")
                return
            try:
                actor = create_first_lead(study, name, password, email or None)
            except WorkbenchError as error:
                st.error(md(error))
                return
            sign_in(actor)
            st.rerun()


def login_form(study) -> None:
    st.title("Sign in")
    message = st.session_state.pop("signed_out_message", None)
    if message:
        st.info(message)
    with st.form("login"):
        name = st.text_input("Name")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                actor = check_sign_in(study, name, password, client_address())
            except WorkbenchError as error:
                st.error(md(error))
                return
            if actor is None:
                st.error("Unknown name or wrong password (accounts without a password cannot sign in).")
            else:
                sign_in(actor)
                st.rerun()


def client_address() -> str:
    """Where the sign-in comes from, for throttling (the browser's address as the server sees it)."""
    return str(getattr(st.context, "ip_address", None) or "unknown")


def oidc_gate(study) -> None:
    if not st.user.is_logged_in:
        st.title("Sign in")
        st.button("Sign in with your organisation", on_click=st.login, type="primary")
        st.stop()
    actor = actor_by_email(study, st.user.get("email"))
    if actor is None:
        st.error("Your e-mail is not registered in this study. Ask the lead analyst to add it.")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    sign_in(actor)
