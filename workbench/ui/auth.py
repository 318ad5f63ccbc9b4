"""Signing in: local accounts (argon2) or, when configured, OpenID Connect via `st.login`.

- A database without a lead asks for the first lead's account (no default password).
- An account without a password cannot sign in.
- With an `[auth]` section in `.streamlit/secrets.toml`, `st.login()` is used and the signed-in
  e-mail is matched to an account's e-mail.
"""

from __future__ import annotations

import streamlit as st

from workbench.errors import WorkbenchError
from workbench.users import actor_by_email, authenticate, create_first_lead

from .common import sign_in


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def first_lead_form(study) -> None:
    st.title("Set up the study")
    st.write("This database has no lead analyst yet. Create the first lead's account.")
    with st.form("first-lead"):
        name = st.text_input("Name")
        email = st.text_input("E-mail (optional)")
        password = st.text_input("Password", type="password")
        again = st.text_input("Password again", type="password")
        if st.form_submit_button("Create lead account", type="primary"):
            if password != again:
                st.error("The passwords differ.")
                return
            try:
                actor = create_first_lead(study, name, password, email or None)
            except WorkbenchError as error:
                st.error(str(error))
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
            actor = authenticate(study, name, password)
            if actor is None:
                st.error("Unknown name or wrong password (accounts without a password cannot sign in).")
            else:
                sign_in(actor)
                st.rerun()


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
