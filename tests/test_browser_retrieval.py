"""Coded passages in a real browser (the app under `streamlit run`, Playwright on Debian's
Chromium, as in tests/test_browser.py): a lead opens the page, chooses a code, filters and reads
the passages; a coder's page never holds another coder's coding before unblinding."""

from pathlib import Path

import pytest

from tests.test_browser import ARGS, CHROMIUM, sign_in, start_app
from workbench.access import LEAD_CLI, actor_for
from workbench.coding.assignments import assign
from workbench.coding.codings import add_coding
from workbench.privacy.anonymisation import release
from workbench.transcripts.study import FileInput, import_transcripts

CODE = "Trust, confidentiality and reliability/Reliability and being rung back"
PRIYAS = "My key worker rang me back the same day"
TOMS = "When she was off sick nobody called to say the session was cancelled"
TOMS_MEMO = "TOMS-OWN-NOTE-ON-CANCELLING"
FILLER = " ".join(["We talked about the house and the children and how the mornings went."] * 8)
TEXT = ("Interviewer: How did the support start?\n"
        f"Zoë: {PRIYAS}, which never happened before with anyone.\n"
        "Interviewer: Tell me about the weeks after that.\n"
        f"Zoë: {FILLER}\n"
        "Interviewer: And when she was away?\n"
        f"Zoë: {TOMS}, I just sat there waiting.\n")
TITLE = "E2E_Retrieval"


@pytest.fixture
def retrieval_server(sample_study):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    import_transcripts(sample_study, LEAD_CLI, [FileInput(f"{TITLE}.txt", TEXT.encode())])
    release(sample_study, LEAD_CLI, [TITLE], override="written for this test")
    assign(sample_study, LEAD_CLI, [TITLE], ["priya", "tom"])
    with sample_study.session() as session:
        priya, tom = actor_for(session, "priya"), actor_for(session, "tom")
    start = TEXT.index(PRIYAS)
    add_coding(sample_study, priya, TITLE, CODE, start, start + len(PRIYAS), memo="rung back at once")
    start = TEXT.index(TOMS)
    add_coding(sample_study, tom, TITLE, CODE, start, start + len(TOMS), memo=TOMS_MEMO)
    process, url = start_app(sample_study)
    yield url
    process.terminate()
    process.wait(timeout=20)


def choose(page, label: str, option: str, typed: str | None = None) -> None:
    """Pick `option` in the select box or multiselect labelled `label`."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.keyboard.type(typed or option)
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")


def open_passages(page) -> None:
    page.get_by_role("link", name="Coded passages").click()
    page.get_by_role("heading", name="Coded passages").wait_for(timeout=30000)
    choose(page, "Codes", CODE, CODE.split("/")[-1])
    page.get_by_text("passages in", exact=False).first.wait_for(timeout=30000)
    choose(page, "Transcripts", TITLE)


def test_a_lead_reads_a_codes_passages_and_a_coder_only_her_own(retrieval_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        lead = sign_in(browser, retrieval_server, "morgan")
        open_passages(lead)
        lead.get_by_text("2 passages in 1 transcript").wait_for(timeout=30000)
        lead.get_by_text(TOMS).first.wait_for(timeout=30000)
        lead.get_by_text(PRIYAS).first.wait_for(timeout=30000)
        assert lead.get_by_text(f"Memo: {TOMS_MEMO}").count() == 1
        assert lead.get_by_text(f"{TITLE}, turn 2").count() >= 1  # places people read, not offsets
        choose(lead, "Whose coding", "tom")  # a filter: one coder
        lead.get_by_text("1 passage in 1 transcript").wait_for(timeout=30000)
        lead.wait_for_timeout(1000)  # the rerun has replaced the earlier cards
        assert PRIYAS not in lead.locator("mark").all_inner_texts()
        assert lead.locator("mark").all_inner_texts() == [TOMS]

        priya = sign_in(browser, retrieval_server, "priya")
        open_passages(priya)
        priya.get_by_text("1 passage in 1 transcript").wait_for(timeout=30000)
        priya.get_by_text(PRIYAS).first.wait_for(timeout=30000)
        priya.wait_for_timeout(1000)
        dom = priya.content()
        assert TOMS not in dom and TOMS_MEMO not in dom and "coded by tom" not in dom
        browser.close()
