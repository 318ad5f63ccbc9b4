"""Anonymisation (lead): review the residual identifiers the check finds in a transcript, one
row per distinct term — replace (consistently across the study), ignore with a reason, or
allow-list, each decision for every occurrence —, add speakers the participant key does not
know to it, then release it to coders. Also corrections of transcription errors and withdrawal of a participant.
All rules live in `workbench.privacy.anonymisation` and `workbench.privacy.revisions`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.coding.workspace import transcript_view
from workbench.errors import WorkbenchError
from workbench.privacy.anonymisation import add_speaker_to_key, decide_terms, release, review_status
from workbench.privacy.private_key import ENV_KEY, PrivateKey, load_private_key
from workbench.privacy.review import TermDecision, TermGroup, occurrence_rows, split_context
from workbench.privacy.revisions import correct_text, find_term, withdraw_participant
from workbench.privacy.scan import review_terms
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


def _context(context: str) -> str:
    """A finding's context for st.markdown: its words inert, the finding itself in bold."""
    before, after = split_context(context)
    found = context.partition("⟦")[2].partition("⟧")[0]
    return f"…{md(before)}**{md(found)}**{md(after)}…"


def _occurrences(group: TermGroup) -> str:
    parts = [f"{group.count} occurrence{'s' if group.count != 1 else ''}"]
    if group.in_names:
        parts.append(f"{group.in_names} in the title or file name (replacing it renames the transcript)")
    if group.speaker_turns:
        parts.append(f"{group.speaker_turns} as a speaker label")
    return ", ".join(parts)


def _all_occurrences(group: TermGroup, view) -> None:
    if group.count > 1:
        with st.expander(f"All {group.count} occurrences"):
            st.dataframe(pd.DataFrame(occurrence_rows(group, view.turns)), hide_index=True, use_container_width=True,
                         column_config={"context": st.column_config.TextColumn(width="large")})


def _review(study, actor, title: str) -> None:
    key = _key()
    try:
        groups = review_terms(study, actor, [title], key)
    except WorkbenchError as error:
        st.error(md(error))
        return
    st.subheader(f"Findings in {md(title)}")
    if not groups:
        st.success("No possible identifiers remain in this transcript.")
        return
    view = transcript_view(study, title)
    st.caption(f"{sum(g.count for g in groups)} occurrence(s) of {len(groups)} distinct term(s). A decision on a "
               "term applies to every occurrence of it.")
    speakers = [g for g in groups if g.is_speaker]
    if speakers:
        _speakers(study, actor, title, speakers, view)
    terms = [g for g in groups if not g.is_speaker]
    if terms:
        _terms(study, actor, title, terms, view)


def _terms(study, actor, title: str, groups: list[TermGroup], view) -> None:
    key = _key()
    chosen = []
    with st.form(f"terms-{title}"):
        for group in groups:
            slot = f"term-{title}-{group.term}"
            with st.container(border=True):
                left, right = st.columns([3, 2])
                left.markdown(f"**{md(group.text)}** · {md(group.type)} · {md(_occurrences(group))}")
                left.markdown(_context(group.occurrences[0].context))
                with left:
                    _all_occurrences(group, view)
                action = right.radio("Decision", ACTIONS, horizontal=True, key=f"{slot}-action")
                first, second = right.columns(2)
                placeholder = first.text_input(
                    "Placeholder", value=group.placeholder, key=f"{slot}-placeholder",
                    help="Suggested from the words around it and its type; e.g. [son], [key worker], [town], or a "
                         "pseudonym. For a name in the file name, what the title says instead.")
                reason = second.text_input("Reason", key=f"{slot}-reason", help="Required to ignore or allow")
                chosen.append((group, action, placeholder, reason))
        everywhere = st.checkbox("Replace the same text wherever it occurs in the study", value=True,
                                 key="replace-everywhere")
        applied = st.form_submit_button("Apply decisions", type="primary")
    if not applied:
        return
    decisions = [TermDecision(group, {"replace": "replace", "ignore": "ignore", "allow everywhere": "allow"}[action],
                              placeholder or "", reason or "")
                 for group, action, placeholder, reason in chosen if action != "decide later"]
    if not decisions:
        st.info("Choose a decision for at least one term.")
        return
    try:
        report = decide_terms(study, actor, decisions, key, everywhere)
    except WorkbenchError as error:
        st.error(md(error))
        return
    replaced = report.replaced if report else 0
    st.session_state["anonymisation-toast"] = (
        f"{len(decisions)} decision(s) applied; {replaced} replacement(s) made"
        + (f" in {len(report.transcripts)} transcript(s)" if report else "") + ".")
    st.rerun()


def _speakers(study, actor, title: str, groups: list[TermGroup], view) -> None:
    st.markdown("**Speakers the participant key does not know**")
    st.caption("A speaker label may be a participant's real name. Add the speaker to the participant key: keep "
               "the label as their pseudonym, or give a new pseudonym (or an existing one) and every turn so "
               "labelled is relabelled with it.")
    for group in groups:
        slot = f"speaker-{title}-{group.term}"
        with st.container(border=True):
            st.markdown(f"**{md(group.text)}** · {md(_occurrences(group))}")
            st.markdown(_context(group.occurrences[0].context))
            _all_occurrences(group, view)
            with st.form(slot):
                first, second, third = st.columns(3)
                pseudonym = first.text_input("Pseudonym", value=group.text, key=f"{slot}-pseudonym",
                                             help="Keep the label, or give a new pseudonym or one already in the key "
                                                  "(the label is then replaced by it in every turn)")
                role = second.text_input("Role", key=f"{slot}-role", help="e.g. mother, young person, key worker")
                where = third.text_input("Group", key=f"{slot}-group", help="e.g. Service 4")
                said = group.count - group.speaker_turns
                everywhere = st.checkbox("With a new pseudonym, also replace the label where it is said in the study",
                                         value=said > 0, key=f"{slot}-everywhere")
                add = st.form_submit_button("Add to the participant key")
            if add:
                try:
                    done = add_speaker_to_key(study, actor, group.text, pseudonym, role, where, key=_key(),
                                              everywhere=everywhere)
                    st.session_state["anonymisation-toast"] = (
                        f"{md(done.pseudonym)} is {'added to' if done.added else 'linked in'} the participant key: "
                        f"{done.turns_linked} turn(s) linked" + (f", {done.labels_replaced} label(s) replaced"
                                                                 if done.labels_replaced else "") + ".")
                    st.rerun()
                except WorkbenchError as error:
                    st.error(md(error))
            with st.expander("Not a person: allow this label"):
                reason = st.text_input("Reason", key=f"{slot}-allow-reason", help="e.g. a label for several speakers")
                if st.button("Allow this label", key=f"{slot}-allow"):
                    try:
                        decide_terms(study, actor, [TermDecision(group, "allow", reason=reason)])
                        st.session_state["anonymisation-toast"] = "The label is allowed: it is no longer reported."
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
