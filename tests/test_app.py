"""The app, page by page and role by role (streamlit.testing.v1.AppTest on the sample study)."""

import json
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SAMPLE_PASSWORDS
from workbench.access import LEAD_CLI, PAGES, Actor, actor_for, allowed
from workbench.coding.codings import list_codings
from workbench.transcripts.study import FileInput, import_transcripts
from workbench.users import add_user

PAGE_SCRIPTS = {name: f"workbench/ui/pages/{name}.py" for name in PAGES}


def new_app(study, monkeypatch) -> AppTest:
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", study.engine.url.render_as_string(hide_password=False))
    st.cache_resource.clear()
    st.cache_data.clear()
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def sign_in(at: AppTest, name: str, password: str | None = None) -> AppTest:
    at.run()
    at.text_input[0].input(name)
    at.text_input[1].input(SAMPLE_PASSWORDS[name] if password is None else password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(sample_study, monkeypatch):
    yield lambda: new_app(sample_study, monkeypatch)
    st.cache_resource.clear()


def test_sign_in_is_required_and_wrong_passwords_fail(app, sample_study):
    at = app().run()
    assert [t.value for t in at.title] == ["Sign in"]
    sign_in(at, "priya", "wrong password")
    assert "wrong password" in at.error[0].value
    add_user(sample_study, LEAD_CLI, "nopass", "coder")
    sign_in(at, "nopass", "")
    assert at.error and [t.value for t in at.title] == ["Sign in"]


def test_a_database_without_a_lead_asks_for_the_first_lead(study, monkeypatch):
    from workbench.ui.auth import setup_code

    at = new_app(study, monkeypatch).run()
    assert [t.value for t in at.title] == ["Set up the study"]
    for field, value in zip(at.text_input, ["WRONG-CODE", "ana", "", "a long password", "a long password"]):
        field.input(value)
    at.button[0].click().run()
    assert "not the set-up code" in at.error[0].value and [t.value for t in at.title] == ["Set up the study"]
    at.text_input[0].input(setup_code().lower())  # as printed in the terminal, in any case
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Study overview"]
    assert "**ana** (lead)" in at.sidebar.markdown[0].value


@pytest.mark.parametrize("name", ["morgan", "priya", "jo"])
def test_the_navigation_offers_exactly_the_pages_the_policy_allows(app, name, sample_study):
    at = sign_in(app(), name)
    with sample_study.session() as session:
        actor = actor_for(session, name)
    for page, path in PAGE_SCRIPTS.items():
        if allowed(actor, f"see_page:{page}"):
            at.switch_page(path).run()
            assert not at.exception, (page, at.exception)
            assert not at.error, (page, [e.value for e in at.error])
        else:  # not registered for this role: unreachable by URL
            with pytest.raises(ValueError):
                at.switch_page(path)


@pytest.mark.parametrize("role", ["coder", "viewer"])
def test_a_page_refuses_a_role_the_policy_does_not_allow_even_by_its_script(sample_study, monkeypatch, role):
    actor = Actor("someone", role, 999)
    refused = [page for page in PAGES if not allowed(actor, f"see_page:{page}")]
    assert refused
    new_app(sample_study, monkeypatch)  # points the page at the sample study
    for page in refused:
        at = AppTest.from_file(str(ROOT / PAGE_SCRIPTS[page]), default_timeout=60)
        at.session_state["actor"] = actor
        at.run()
        assert not at.exception, (page, at.exception)
        assert [e.value for e in at.error] == ["This page is not available to your role."], page
        assert not at.title, page  # stopped before anything of the page was drawn


def test_idle_sessions_are_signed_out(app, monkeypatch):
    at = sign_in(app(), "priya")
    monkeypatch.setenv("WORKBENCH_IDLE_MINUTES", "0")
    at.session_state["last_active"] = 0
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert "inactivity" in at.info[0].value


def test_sign_out(app):
    at = sign_in(app(), "priya")
    at.sidebar.button[0].click().run()
    assert [t.value for t in at.title] == ["Sign in"] and "signed out" in at.info[0].value


def coding_page(at: AppTest, transcript: str) -> AppTest:
    at.switch_page(PAGE_SCRIPTS["code"]).run()
    at.selectbox(key="transcript-choice").select(transcript).run()
    assert not at.exception, at.exception
    return at


def surface_data(at: AppTest) -> dict:
    """What the coding surface was sent: the page's text, turns and the codings drawn."""
    (component,) = at.get("bidi_component")
    return json.loads(component.proto.json)


def test_a_coder_codes_changes_deletes_undoes_and_submits(app, sample_study):
    from workbench.access import actor_for
    from workbench.coding.workspace import transcript_view
    from workbench.ui.coding_surface import _do

    at = coding_page(sign_in(app(), "tom"), "S04_SM01")
    data = surface_data(at)
    assert data["editable"] and data["codes"] and data["text"]
    before = len(list_codings(sample_study, LEAD_CLI, transcript="S04_SM01", coder="tom"))
    view = transcript_view(sample_study, "S04_SM01")
    # a sentence that starts with a word and ends with a word of four letters and a full stop
    sentence = next(s for s in view.segments if re.fullmatch(r"\w{3,}\b.{20,}\b\w{4,}\.", view.text[s.start:s.end]))
    with sample_study.session() as session:
        tom = actor_for(session, "tom")
    state = {"page": 0, "ack": 0, "undo": [], "recent": [], "error": None, "focus": None}
    # a drag that starts and ends inside words is stored snapped to whole words
    _do(sample_study, tom, "S04_SM01", view, state,
        {"type": "apply", "start": sentence.start + 2, "end": sentence.end - 3, "snap": True,
         "code": "Delivering the model across the county"})
    rows = list_codings(sample_study, LEAD_CLI, transcript="S04_SM01", coder="tom")
    new = next(r for r in rows if r.start == sentence.start)
    assert len(rows) == before + 1 and (new.start, new.end) == (sentence.start, sentence.end - 1)  # no full stop
    assert state["recent"] == ["Delivering the model across the county"]
    _do(sample_study, tom, "S04_SM01", view, state, {"type": "change", "id": new.id, "memo": "a memo"})
    _do(sample_study, tom, "S04_SM01", view, state, {"type": "delete", "id": new.id})
    assert len(list_codings(sample_study, LEAD_CLI, transcript="S04_SM01", coder="tom")) == before
    _do(sample_study, tom, "S04_SM01", view, state, {"type": "undo"})  # the deletion is undone
    back = [r for r in list_codings(sample_study, LEAD_CLI, transcript="S04_SM01", coder="tom")
            if r.start == sentence.start and r.memo == "a memo"]
    assert len(back) == 1
    _do(sample_study, tom, "S04_SM01", view, state, {"type": "undo"})  # then the memo, on the new id
    assert [r.memo for r in list_codings(sample_study, LEAD_CLI, transcript="S04_SM01", coder="tom")
            if r.id == back[0].id] == [new.memo]
    at.checkbox(key="sure-S04_SM01").check().run()
    at.button(key="submit-S04_SM01").click().run()
    assert any("frozen" in i.value for i in at.info)
    assert not surface_data(at)["editable"]


def test_a_coder_proposes_a_code_and_uses_it(app, sample_study):
    at = coding_page(sign_in(app(), "tom"), "S03_CO01")
    at.text_input(key="proposal-name-S03_CO01").input("Waiting room design").run()
    at.button(key="propose-S03_CO01").click().run()
    assert not at.error
    assert "Waiting room design" in [c["path"] for c in surface_data(at)["codes"]]


def test_the_coding_screen_shows_only_own_codings_before_unblinding(app, sample_study):
    at = coding_page(sign_in(app(), "priya"), "M01_Amy")
    own = list_codings(sample_study, LEAD_CLI, transcript="M01_Amy", coder="priya")
    assert f"Your codings ({len(own)})" in [e.label for e in at.expander]
    data = surface_data(at)
    sent = json.dumps(data)
    assert data["codings"] and "(tom)" not in sent and '"coder": "tom"' not in sent
    assert {c["id"] for c in data["codings"]} <= {c.id for c in own}
    tom = list_codings(sample_study, LEAD_CLI, transcript="M01_Amy", coder="tom")
    assert tom and not any(c.memo and c.memo in sent for c in tom if c.memo not in {o.memo for o in own})


def test_after_unblinding_the_other_coders_work_shows_in_grey(app, sample_study):
    from workbench.coding.assignments import unblind

    unblind(sample_study, LEAD_CLI, "M01_Amy")
    at = coding_page(sign_in(app(), "priya"), "M01_Amy")
    toms = [c for c in surface_data(at)["codings"] if c["coder"] == "tom"]
    assert toms and all(c["label"].endswith("(tom)") and not c["own"] for c in toms)


def test_a_viewer_has_no_coding_screen_and_leads_review_everything(app):
    at = sign_in(app(), "morgan")
    at = coding_page(at, "M01_Amy")
    assert any("Codings by priya, tom are shown" in i.value for i in at.info)


def test_a_lead_assigns_and_unblinds_in_the_app(app, sample_study):
    import_transcripts(sample_study, LEAD_CLI, [FileInput("new.txt", b"Interviewer: Hello.\nAmy: Hi there. Fine.\n")])
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["assignments"]).run()
    at.multiselect[0].select("new")  # inside a form: values are sent with the submit
    at.multiselect[1].select("priya").select("tom")
    next(b for b in at.button if b.label == "Assign").click().run()
    assert any("2 assignments added" in t.value for t in at.toast)
    at.selectbox[0].select("new").run()
    at.checkbox[0].check().run()
    next(b for b in at.button if b.label == "Unblind").click().run()
    assert not at.error
    with sample_study.session() as session:
        priya = actor_for(session, "priya")
    assert list_codings(sample_study, priya, transcript="new", coder="tom") == []  # allowed now: no error


def test_transcripts_page_imports_files_and_the_key(app, sample_study):
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["transcripts"]).run()
    assert not at.exception
    assert at.dataframe[0].value.shape[0] == 12


def test_a_lead_adds_an_account_in_the_app_and_it_can_sign_in(app, sample_study):
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["accounts"]).run()
    at.text_input[0].input("sam")
    at.text_input[2].input("sam's long password")  # name, e-mail, password
    next(b for b in at.button if b.label == "Add account").click().run()
    assert any("Added coder sam" in t.value for t in at.toast)
    assert "sam" in set(at.dataframe[0].value["name"])  # the table shows the new account at once
    fresh = app()
    sign_in(fresh, "sam", "sam's long password")
    assert "**sam** (coder)" in fresh.sidebar.markdown[0].value


def test_leads_read_the_audit_trail(app):
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["audit"]).run()
    table = at.dataframe[0].value
    actions = set(table["action"])
    assert any("transcript: M01_Amy" in d for d in table["detail"])
    assert {"assignment.add", "assignment.submit", "codings.import", "transcript.import"} <= actions


def test_the_same_name_in_another_case_is_refused(sample_study):
    from workbench.errors import ValidationError

    with pytest.raises(ValidationError, match="'priya' already exists"):
        add_user(sample_study, LEAD_CLI, "Priya", "coder")


def test_the_memos_and_search_pages_are_blind_too(app):
    at = sign_in(app(), "priya")
    at.switch_page(PAGE_SCRIPTS["memos"]).run()
    shown = " ".join(m.value for m in at.markdown)
    assert "Reliability as trust" in shown and "Round 1 plan" in shown  # her own, and the lead's
    assert "Court timetable" not in shown and "Twelve weeks" not in shown  # tom's, still blind
    at.switch_page(PAGE_SCRIPTS["search"]).run()
    at.text_input[0].input("school").run()
    assert not at.exception and any("hits" in m.value for m in at.markdown)
