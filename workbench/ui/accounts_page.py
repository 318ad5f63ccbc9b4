"""Accounts (lead): who works on the study, their roles; add accounts, set passwords."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.store.models import ROLES
from workbench.users import add_user, list_users, set_password

from .common import md, open_study, require_page


def render() -> None:
    actor = require_page("accounts")
    study = open_study()
    st.title("Accounts")
    users = list_users(study)
    st.dataframe(pd.DataFrame(users), hide_index=True, width="stretch")
    add, reset = st.columns(2)
    with add, st.form("add-user", clear_on_submit=True):
        st.subheader("Add an account")
        name = st.text_input("Name")
        role = st.selectbox("Role", ROLES, index=1)
        email = st.text_input("E-mail (for single sign-on; optional)")
        password = st.text_input("Password (at least 8 characters)", type="password")
        if st.form_submit_button("Add account"):
            try:
                add_user(study, actor, name, role, password=password or None, email=email or None)
                st.toast(f"Added {role} {name}.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))
    with reset, st.form("set-password", clear_on_submit=True):
        st.subheader("Set a password")
        who = st.selectbox("Account", [u["name"] for u in users])
        password = st.text_input("New password", type="password")
        if st.form_submit_button("Set password"):
            try:
                set_password(study, actor, who, password)
                st.toast(f"Password set for {who}.")
            except WorkbenchError as error:
                st.error(md(error))
