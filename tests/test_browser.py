"""End to end in a real browser: the app under `streamlit run`, driven by Playwright through
Debian's Chromium. A coder codes two passages and submits; the second coder cannot see them;
the lead unblinds and sees both coders' work."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_PASSWORDS
from workbench.access import LEAD_CLI
from workbench.coding.assignments import assign
from workbench.coding.codings import list_codings
from workbench.privacy.anonymisation import release
from workbench.transcripts.study import FileInput, import_transcripts

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CALL = ("Interviewer: Thanks for talking to me. How did the support start?\n"
        "Zoë: My key worker rang me back the same day. That never happened before.\n"
        "Interviewer: And the group?\n"
        "Zoë: The group was on a Tuesday morning, so I couldn’t go. I work mornings.\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(sample_study, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    import_transcripts(sample_study, LEAD_CLI, [FileInput("E2E_Call.txt", CALL.encode())])
    release(sample_study, LEAD_CLI, ["E2E_Call"], override="written for this test")
    assign(sample_study, LEAD_CLI, ["E2E_Call"], ["priya", "tom"])
    process, url = start_app(sample_study)
    yield url
    process.terminate()
    process.wait(timeout=20)


def start_app(study, prefix: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """The app served as `./run.sh` serves it (optionally under `prefix`, e.g. strace), on a free
    port, once its health check answers."""
    port = free_port()
    env = dict(os.environ, WORKBENCH_DATABASE_URL=study.engine.url.render_as_string(hide_password=False))
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", "workbench.ui.serve", "--server.headless=true",
         "--server.address=127.0.0.1", f"--server.port={port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if not healthy(process, url):
        pytest.fail("the app did not start")
    return process, url


def healthy(process: subprocess.Popen, url: str, seconds: float = 120) -> bool:
    """Wait until the Streamlit server at `url` answers its health check; kill it if it never does."""
    for _ in range(int(seconds * 2)):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return True
        except OSError:
            time.sleep(0.5)
    process.kill()
    return False


def sign_in(browser, url: str, name: str):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(url)
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(SAMPLE_PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for(timeout=30000)
    return page


def open_transcript(page, label: str) -> None:
    page.get_by_role("link", name="Code", exact=True).click()
    page.get_by_role("heading", name="Code", exact=True).wait_for(timeout=30000)
    page.get_by_text("Page 1 of").wait_for(timeout=30000)  # the coding screen has rendered
    page.get_by_role("combobox", name="Transcript", exact=True).click()
    page.keyboard.type(label.split(" — ")[0])  # long lists render only the options in view
    page.get_by_role("option", name=label).click()
    page.locator(".wb-talk").first.wait_for(timeout=30000)
    page.wait_for_timeout(500)


# Where to drag for `phrase` in the transcript: scrolled into the middle of the view first.
PHRASE_BOX = """(phrase) => {
  for (const talk of document.querySelectorAll('.wb-surface .wb-talk')) {
    const nodes = [], walker = document.createTreeWalker(talk, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) if (walker.currentNode.parentElement.closest('[data-o]')) nodes.push(walker.currentNode);
    const whole = nodes.map((n) => n.textContent).join('');
    const at = whole.indexOf(phrase);
    if (at < 0) continue;
    const place = (k, end) => {
      for (const n of nodes) {
        if (k < n.textContent.length || (end && k === n.textContent.length)) return [n, k];
        k -= n.textContent.length;
      }
    };
    const range = document.createRange();
    range.setStart(...place(at, false));
    range.setEnd(...place(at + phrase.length, true));
    range.startContainer.parentElement.scrollIntoView({ block: 'center' });
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    const first = rects[0], last = rects[rects.length - 1];
    return { x0: first.left + 1, y0: first.top + first.height / 2, x1: last.right - 1, y1: last.top + last.height / 2 };
  }
  return null;
}"""


def select_text(page, phrase: str) -> None:
    """Drag the mouse across `phrase` in the transcript, as a coder would; the code picker opens
    at the selection."""
    box = page.evaluate(PHRASE_BOX, phrase)
    assert box, phrase
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move(box["x1"], box["y1"], steps=8)
    page.mouse.up()
    page.locator(".wb-picker .wb-filter").wait_for(state="visible", timeout=10000)


def apply_code(page, code: str) -> None:
    """With the keyboard only: filter the picker by the code's name, Enter."""
    page.keyboard.type(code.split("/")[-1])
    page.locator(".wb-picker .wb-option.wb-active", has_text=code.split("/")[-1]).wait_for(timeout=10000)
    page.keyboard.press("Enter")
    saved(page)


def saved(page) -> None:
    page.wait_for_function("() => { const s = document.querySelector('.wb-status');"
                           " return s && s.textContent === 'All changes saved'; }", timeout=30000)


def stored(study, transcript: str, count: int, timeout: float = 30) -> list:
    """Poll the database until the transcript holds `count` codings."""
    deadline = time.monotonic() + timeout
    while True:
        rows = list_codings(study, LEAD_CLI, transcript=transcript)
        if len(rows) == count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def submit_transcript(page) -> None:
    page.get_by_role("button", name="Submit transcript…").click()
    page.get_by_text("I have finished coding this transcript").click()
    page.get_by_role("button", name="Submit transcript", exact=True).click()
    page.get_by_text("You submitted this transcript").wait_for(timeout=30000)


RELIABILITY = "Trust, confidentiality and reliability/Reliability and being rung back"
TIMING = "Taking part in group work/Group timing and practicalities"


def test_blind_double_coding_in_a_real_browser(server, sample_study):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        priya = sign_in(browser, server, "priya")
        open_transcript(priya, "E2E_Call — to do")
        select_text(priya, "y key worker rang me ba")  # starts and ends inside words
        apply_code(priya, RELIABILITY)
        (first,) = stored(sample_study, "E2E_Call", 1)
        assert first.text == "My key worker rang me back"  # snapped to whole words
        select_text(priya, "rang me back the same day.")  # overlaps the first
        apply_code(priya, TIMING)
        assert len(stored(sample_study, "E2E_Call", 2)) == 2
        # two overlapping codings: two stripes with their labels, one piece underlined twice
        priya.wait_for_function("() => document.querySelectorAll('.wb-stripe').length === 2")
        labels = priya.locator(".wb-stripe-label").all_inner_texts()
        assert sorted(labels) == sorted([RELIABILITY.split("/")[-1], TIMING.split("/")[-1]])
        assert priya.locator(".wb-mark[data-ids*=' ']").count() >= 1
        assert priya.locator(".wb-mark.wb-first").count() == 2  # each label shown where it starts
        priya.keyboard.press("u")  # undo the second coding
        saved(priya)
        assert [c.code for c in stored(sample_study, "E2E_Call", 1)] == [RELIABILITY]
        priya.wait_for_function("() => document.querySelectorAll('.wb-stripe').length === 1")
        # a drag released outside the transcript does not leave the surface waiting for it
        box = priya.evaluate(PHRASE_BOX, "That never happened")
        priya.mouse.move(box["x0"], box["y0"])
        priya.mouse.down()
        priya.mouse.move(box["x0"], 40, steps=6)
        priya.mouse.up()
        priya.wait_for_function("() => !document.querySelector('.wb-surface').__wb.dragging", timeout=5000)
        priya.keyboard.press("Escape")
        select_text(priya, "so I couldn’t go")
        apply_code(priya, TIMING)
        priya.get_by_text("Your codings (2)").wait_for(timeout=30000)
        if os.environ.get("WORKBENCH_SAVE_SCREENSHOT"):
            priya.screenshot(path=str(ROOT / "docs" / "coding-screen.png"))
        submit_transcript(priya)
        coded = {(c.text, c.code) for c in list_codings(sample_study, LEAD_CLI, transcript="E2E_Call")}
        assert coded == {("My key worker rang me back", RELIABILITY), ("so I couldn’t go", TIMING)}

        tom = sign_in(browser, server, "tom")
        open_transcript(tom, "E2E_Call — to do")
        tom.get_by_text("Your codings (0)").wait_for(timeout=30000)
        assert tom.locator(".wb-mark").count() == 0 and tom.locator(".wb-stripe").count() == 0
        assert "priya" not in tom.content()  # nothing of her coding in his page, DOM included
        select_text(tom, "I work mornings.")
        apply_code(tom, TIMING)
        tom.get_by_text("Your codings (1)").wait_for(timeout=30000)
        assert tom.locator(".wb-mark").count() == 1  # still only his own
        assert "priya" not in tom.content()
        submit_transcript(tom)

        lead = sign_in(browser, server, "morgan")
        lead.get_by_role("link", name="Assignments").click()
        lead.get_by_role("heading", name="Assignments").wait_for(timeout=30000)
        lead.get_by_text("Unblind or reopen").wait_for(timeout=30000)
        lead.get_by_role("combobox", name="Transcript", exact=True).click()
        lead.keyboard.type("E2E_Call")
        lead.get_by_role("option", name="E2E_Call", exact=True).click()
        lead.get_by_role("button", name="Unblind", exact=True).click()
        lead.wait_for_timeout(1500)
        open_transcript(lead, "E2E_Call — review")
        lead.get_by_text("Codings by priya, tom are shown.").wait_for(timeout=30000)
        assert lead.locator(".wb-mark").count() >= 3

        tom = sign_in(browser, server, "tom")  # a reload is a new session: sign in again
        open_transcript(tom, "E2E_Call — submitted · unblinded")
        assert "(priya)" in tom.locator(".wb-surface").inner_html()  # now the other coder's work shows
        browser.close()


def test_a_memo_with_an_image_fetches_nothing_and_the_page_breaks_no_policy(server, sample_study):
    """A memo holding Markdown (and HTML) images pointing at another server: the lead's browser
    shows the text and requests nothing from it; the app's own pages raise no CSP violation."""
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    from workbench.access import actor_for
    from workbench.coding.memos import add_memo

    requests = []

    class Beacon(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    beacon = http.server.HTTPServer(("127.0.0.1", free_port()), Beacon)
    threading.Thread(target=beacon.serve_forever, daemon=True).start()
    where = f"http://127.0.0.1:{beacon.server_address[1]}"
    with sample_study.session() as session:
        priya = actor_for(session, "priya")
    add_memo(sample_study, priya, f"Seen at ![pixel]({where}/markdown.png) and <img src='{where}/html.png'> today")
    violations = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            lead = sign_in(browser, server, "morgan")
            lead.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            lead.get_by_role("link", name="Memos").click()
            lead.get_by_text("Seen at").first.wait_for(timeout=30000)
            lead.wait_for_timeout(1500)
            assert "pixel" in lead.get_by_text("Seen at").first.inner_text()  # shown as text
            lead.get_by_role("link", name="Agreement").click()  # charts: the heaviest page for a policy
            lead.get_by_role("heading", name="Agreement").wait_for(timeout=30000)
            lead.wait_for_timeout(1500)
            browser.close()
    finally:
        beacon.shutdown()
    assert requests == []
    assert violations == []
