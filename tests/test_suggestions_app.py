"""The Suggestions page and the coding screen's suggestions, driven through Streamlit's AppTest."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.test_app import (
    PAGE_SCRIPTS,
    app,  # noqa: F401  (the fixture)
    sign_in,
)
from workbench.access import LEAD_CLI
from workbench.coding.codings import list_codings
from workbench.store.models import SuggestionDecision

CODE = "Endings and ongoing risk/The 12-week limit"


def _cards(at):
    """The cards' headings, as a reader sees them (the page escapes user text for Markdown)."""
    shown = [m.value.replace("\\", "") for m in at.markdown]
    return [m for m in shown if re.match(r"\*\*\w+\*\* · score ", m)]


def _open_page(app, who="tom"):  # noqa: F811
    at = sign_in(app(), who)
    at.switch_page(PAGE_SCRIPTS["suggestions"]).run()
    at.selectbox(key="suggest-code").select(CODE).run()
    assert not at.exception, at.exception
    return at


def test_a_coder_accepts_rejects_and_skips_suggestions(app, sample_study):  # noqa: F811
    at = _open_page(app)
    first = _cards(at)
    assert len(first) == 10 and all("S03_CO01" in c or "S04_SM01" in c for c in first)  # tom's open transcripts
    assert any(c.value.startswith("Why: closest to") for c in at.caption)
    before = len(list_codings(sample_study, LEAD_CLI, coder="tom"))
    accept = next(b for b in at.button if b.key and b.key.startswith("accept-"))
    accept.click().run()
    assert not at.exception and "Coded." in [t.value for t in at.toast]
    codings = list_codings(sample_study, LEAD_CLI, coder="tom")
    assert len(codings) == before + 1 and max(codings, key=lambda c: c.id).origin == "suggestion"
    reject = next(b for b in at.button if b.key and b.key.startswith("reject-"))
    rejected_key = reject.key
    reject.click().run()
    with sample_study.session() as session:
        assert list(session.scalars(select(SuggestionDecision.decision).order_by(SuggestionDecision.id))) == [
            "rejected", "rejected", "accepted", "rejected"]  # the sample study's two, then ours
    assert rejected_key not in [b.key for b in at.button]
    skip = next(b for b in at.button if b.key and b.key.startswith("skip-"))
    skipped = skip.key.removeprefix("skip-")
    skip.click().run()
    assert f"accept-{skipped}" not in [b.key for b in at.button]
    assert len(_cards(at)) == 10  # the list refills
    forget = [b for b in at.button if b.key and b.key.startswith("forget-")]
    assert len(forget) == 3  # rejections are listed, and can be undone
    forget[-1].click().run()
    assert "Forgotten: it may be suggested again." in [t.value for t in at.toast]
    with sample_study.session() as session:
        assert list(session.scalars(select(SuggestionDecision.decision).order_by(SuggestionDecision.id))) == [
            "rejected", "rejected", "accepted"]


def test_a_lead_sees_a_coders_suggestions_read_only_and_may_seed_with_the_consensus(app):  # noqa: F811
    at = _open_page(app, "morgan")
    at.selectbox(key="suggest-coder").select("tom").run()
    assert _cards(at) and not [b for b in at.button if b.key and b.key.startswith("accept-")]
    at.selectbox(key="suggest-coder").select("consensus (reconciled)").run()
    assert not at.exception
    assert all("S01_KW01" in c or "S02_KW02" in c for c in _cards(at))


def test_the_coding_screen_suggests_passages_of_the_open_transcript(app):  # noqa: F811
    at = sign_in(app(), "tom")
    at.switch_page(PAGE_SCRIPTS["code"]).run()
    at.selectbox(key="transcript-choice").select("S03_CO01").run()
    at.toggle(key="suggest-toggle-S03_CO01").set_value(True).run()
    at.selectbox(key="suggest-code-S03_CO01").select(CODE).run()
    assert not at.exception, at.exception
    cards = _cards(at)
    assert len(cards) == 5 and all("S03_CO01" in c for c in cards)
