"""Anonymisation (lead): review the residual identifiers the check finds in a transcript —
replace (consistently across the study), ignore with a reason, or allow-list — then release
it to coders. Also corrections of transcription errors and withdrawal of a participant.
All rules live in `workbench.privacy.anonymisation` and `workbench.privacy.revisions`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.coding.workspace import transcript_view
from workbench.errors import WorkbenchError
from workbench.privacy.anonymisation import Decision, apply_decisions, release, review_status
from workbench.privacy.private_key import ENV_KEY, PrivateKey, load_private_key
from workbench.privacy.revisions import correct_text, find_term, withdraw_participant
from workbench.privacy.scan import scan_transcripts, suggest_placeholder
from workbench.transcripts.participants import list_participants

from .common import md, open_study, require_page

ACTIONS = ("decide later", "replace", "ignore", "allow everywhere")


def _key() -> PrivateKey:
    """This session's private key: in memory, or the lead's file when they chose one."""
    if "private-key" not in st.session_state:
        st.session_state["private-key"] = load_private_key()
    return st.session_state["private-key"]


def _key_settings() -> None:
    key = _key()
    with st.expander("Private key (real names → replacements)"):
        st.caption("The key keeps the same real name replaced the same way every time. It is never stored in "
                   "the study's database, exports or logs. Without a file it lasts for this session only.")
        where = st.text_input("Keep it in this file (optional)", value=str(key.path or ""), key="private-key-path",
                              help=f"Or set {ENV_KEY} for the app. Keep the file somewhere safe, apart from the study.")
        if st.button("Use this file", key="private-key-use"):
            try:
                loaded = load_private_key(where) if where.strip() else PrivateKey()
                for real, replacement in key.entries.items():
                    loaded.remember(real, replacement)
                st.session_state["private-key"] = loaded
                loaded.save()
                st.toast("The private key is kept in that file." if where.strip() else "The key is in memory only.")
            except (WorkbenchError, OSError) as error:
                st.error(md(error))
        st.caption(f"{len(key.entries)} replacement(s) known in this session.")


def _status_table(rows: list[dict]) -> None:
    st.dataframe(pd.DataFrame([{"transcript": r["transcript"], "released to coders": "yes" if r["released"] else "no",
                                "by": r["reviewed_by"] or "", "note": r["note"]} for r in rows]),
                 hide_index=True, use_container_width=True)


def _review(study, actor, title: str) -> None:
    key = _key()
    try:
        findings = scan_transcripts(study, actor, [title], key)
    except WorkbenchError as error:
        st.error(md(error))
        return
    st.subheader(f"Findings in {title}")
    if not findings:
        st.success("No possible identifiers remain in this transcript.")
        return
    table = pd.DataFrame([{"action": "decide later", "placeholder": suggest_placeholder(f, key), "reason": "",
                           "found": f.text, "type": f.type, "confidence": f.confidence, "context": f.context}
                          for f in findings])
    edited = st.data_editor(
        table, hide_index=True, use_container_width=True, key=f"findings-{title}",
        disabled=["found", "type", "confidence", "context"],
        column_config={"action": st.column_config.SelectboxColumn(options=list(ACTIONS), required=True),
                       "placeholder": st.column_config.TextColumn(
                           help="e.g. [child], [school], [town], a pseudonym; for a file name, what the title "
                                "says instead (the transcript is renamed)"),
                       "reason": st.column_config.TextColumn(
                           help="Required to ignore or allow (a name in a file name can be replaced or allowed, "
                                "not ignored)"),
                       "confidence": st.column_config.NumberColumn(format="%.2f")})
    everywhere = st.checkbox("Replace the same text wherever the check finds it in the study", value=True,
                             key="replace-everywhere")
    if st.button("Apply decisions", type="primary", key="apply-decisions"):
        decisions = []
        for finding, row in zip(findings, edited.to_dict("records")):
            action = {"replace": "replace", "ignore": "ignore", "allow everywhere": "allow"}.get(row["action"])
            if action:
                decisions.append(Decision(finding, action, row["placeholder"] or "", row["reason"] or ""))
        if not decisions:
            st.info("Choose an action for at least one finding.")
            return
        try:
            report = apply_decisions(study, actor, decisions, key, everywhere)
            replaced = report.replaced if report else 0
            st.session_state["anonymisation-toast"] = (
                f"{len(decisions)} decisions applied; {replaced} replacement(s) made"
                + (f" in {len(report.transcripts)} transcript(s)" if report else "") + ".")
            st.rerun()
        except WorkbenchError as error:
            st.error(md(error))


def _release(study, actor, title: str, released: bool) -> None:
    if released:
        st.caption("Released to coders.")
        return
    left, right = st.columns(2)
    if left.button("Release to coders", key="release"):
        try:
            release(study, actor, [title], key=_key())
            st.session_state["anonymisation-toast"] = f"{title} is released to coders."
            st.rerun()
        except WorkbenchError as error:
            st.error(md(error))
    with right.expander("Release without finishing the review"):
        reason = st.text_input("Reason (recorded)", key="release-override-reason")
        if st.button("Release anyway", key="release-override"):
            try:
                release(study, actor, [title], override=reason, key=_key())
                st.session_state["anonymisation-toast"] = f"{title} is released (check overridden)."
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))


def _correction(study, actor, title: str) -> None:
    with st.expander("Correct a transcription error"):
        text = transcript_view(study, title).text
        wrong = st.text_input("Text to correct", key="correct-find")
        places = find_term(text, wrong) if wrong.strip() else []
        if wrong.strip() and not places:
            st.caption("Not found (whole words, any case).")
        if places:
            labels = [f"{a}–{b}: …{' '.join(text[max(0, a - 40):b + 40].split())}…" for a, b in places]
            chosen = st.selectbox("Which occurrence", range(len(places)), format_func=labels.__getitem__,
                                  key="correct-where")
            right = st.text_input("Correct text", key="correct-new")
            if st.button("Correct", key="correct-apply"):
                start, end = places[chosen]
                try:
                    done = correct_text(study, actor, title, start, end, right, expected=text[start:end])
                    st.session_state["anonymisation-toast"] = (
                        f"Corrected; {done.codings_moved} codings moved, {done.codings_flagged} flagged for review.")
                    st.rerun()
                except WorkbenchError as error:
                    st.error(md(error))


def _withdrawal(study, actor) -> None:
    with st.expander("Withdraw a participant"):
        st.caption("Removes their own transcripts, their turns in focus groups, the codings and memos on them, "
                   "and their entry in the key, in one step. The audit trail records counts, not who.")
        people = [p["pseudonym"] for p in list_participants(study)]
        if not people:
            return
        who = st.selectbox("Participant", people, key="withdraw-who")
        sure = st.checkbox("I understand this cannot be undone", key="withdraw-sure")
        if st.button("Withdraw", key="withdraw-apply", disabled=not sure):
            try:
                report = withdraw_participant(study, actor, who)
                st.session_state["anonymisation-toast"] = (
                    f"Withdrawn: {report.transcripts_deleted} transcripts deleted, {report.turns_removed} turns "
                    f"removed, {report.codings_removed} codings removed.")
                st.rerun()
            except WorkbenchError as error:
                st.error(md(error))


def render() -> None:
    actor = require_page("anonymisation")
    study = open_study()
    st.title("Anonymisation check")
    if message := st.session_state.pop("anonymisation-toast", None):
        st.toast(message)
    st.caption("Before coders see a transcript, look for names, places, schools, phone numbers and other "
               "identifiers that slipped through. Coders see a transcript only once it is released.")
    status = review_status(study)
    if not status:
        st.info("No transcripts yet: import them on the Transcripts page.")
        return
    _status_table(status)
    _key_settings()
    pending = [r["transcript"] for r in status if not r["released"]]
    titles = [r["transcript"] for r in status]
    if "anonymisation-transcript" not in st.session_state or st.session_state["anonymisation-transcript"] not in titles:
        st.session_state["anonymisation-transcript"] = (pending or titles)[0]
    title = st.selectbox("Transcript", titles, key="anonymisation-transcript")
    released = next(r["released"] for r in status if r["transcript"] == title)
    _review(study, actor, title)
    _release(study, actor, title, released)
    _correction(study, actor, title)
    _withdrawal(study, actor)
