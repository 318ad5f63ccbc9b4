"""End to end in a real browser (the app under `streamlit run`, Playwright through Debian's
Chromium, as in tests/test_browser.py): a coder searches a word in her assigned transcript and
codes the hit with "Code this", keeping the default sentence; the stored coding is the whole
sentence, hers, made through add_coding."""

import pytest

from tests.test_browser import ARGS, CHROMIUM, sign_in, start_app
from workbench.access import LEAD_CLI
from workbench.coding.assignments import assign
from workbench.coding.codings import list_codings
from workbench.privacy.anonymisation import release
from workbench.transcripts.study import FileInput, import_transcripts

pytestmark = pytest.mark.slow  # starts the app in a subprocess

CODE = "Trust, confidentiality and reliability/Reliability and being rung back"
SENTENCE = "We made a kaleidoscope out of an old crisp tube in the first session."
TALK = ("Interviewer: What did you do in the group?\n"
        f"Zoë: 👩‍👧 Loads. {SENTENCE} It was brilliant, honestly.\n")


@pytest.fixture
def server(sample_study):
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    import_transcripts(sample_study, LEAD_CLI, [FileInput("E2E_Search.txt", TALK.encode())])
    release(sample_study, LEAD_CLI, ["E2E_Search"], override="written for this test")
    assign(sample_study, LEAD_CLI, ["E2E_Search"], ["priya"])
    process, url = start_app(sample_study)
    yield url
    process.terminate()
    process.wait(timeout=20)


def test_code_this_codes_the_whole_sentence_in_a_real_browser(server, sample_study):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        priya = sign_in(browser, server, "priya")
        priya.get_by_role("link", name="Search", exact=True).click()
        priya.get_by_role("heading", name="Search", exact=True).wait_for(timeout=30000)
        box = priya.get_by_role("textbox", name="Search participants' talk")
        box.fill("kaleidoscope")
        box.press("Enter")
        priya.get_by_text("E2E_Search, turn 2").wait_for(timeout=30000)  # the place, not offsets
        priya.locator("mark", has_text="kaleidoscope").wait_for(timeout=30000)  # the keyword highlighted
        assert priya.locator("mark").count() == 1
        priya.get_by_role("button", name="Code this").click()
        priya.get_by_text("Sentence", exact=True).click()
        priya.locator("blockquote", has_text=SENTENCE).wait_for(timeout=30000)  # the span to be coded
        priya.get_by_role("combobox", name="Code", exact=True).click()
        priya.keyboard.type("being rung back")
        priya.get_by_role("option", name=CODE).first.click()
        priya.get_by_role("button", name="Apply", exact=True).click()
        priya.get_by_text("Coded the sentence").wait_for(timeout=30000)
        browser.close()
    (coding,) = list_codings(sample_study, LEAD_CLI, transcript="E2E_Search")
    assert (coding.coder, coding.code, coding.text, coding.origin) == ("priya", CODE, SENTENCE, "search")
    with sample_study.session() as session:
        from sqlalchemy import select

        from workbench.store.models import Transcript

        text = session.scalar(select(Transcript.text).where(Transcript.title == "E2E_Search"))
    assert (coding.start, coding.end) == (text.index(SENTENCE), text.index(SENTENCE) + len(SENTENCE))
