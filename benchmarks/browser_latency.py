"""What a coder waits for on the coding screen, in a real browser: the app served as the tests
serve it (`python -m workbench.ui.serve`, tests/test_browser.py `start_app`) against the sample
study plus two generated interviews (a 15,000-word one and a 300,000-character one, built from
the sample transcripts' talk, as benchmarks/import_cost.py builds them), driven by Playwright
through Debian's Chromium (/usr/bin/chromium), signed in as the coder priya.

Measured, each at least `--repeat` times (median and 95th percentile, nearest rank), on each
interview where it applies:

- selection → highlighted: a mouse drag across words; from the mouseup to the frame after the
  first `.wb-selected` piece appears (the selection snapped to words, the picker opened);
- apply → visible: Enter in the code picker; from the keydown to the frame after the pending
  mark (`.wb-mark.wb-pending`) appears. Drawn by the browser alone: it must not wait for the
  server;
- apply → stored: from pressing Enter to the coding being in the database (polled from here
  every few ms with a count query); "apply → saved" is the page's own view of the same thing
  (the status reads "All changes saved" once the server has acknowledged the action);
- undo → visible: "u" after an apply; from the keydown to the frame after the mark is gone
  (no target: an undo is drawn when the server answers, not before);
- page turn: "]" (or "["); from the keydown to the frame after the new page's text is drawn;
- open a transcript: choosing it in the "Transcript" box; from the mousedown on the option to
  the frame after its text is drawn (the first open of each, with the server's caches cold,
  is reported on its own line);
- retrieval: on the Coded passages page, choosing a code with 300 passages in the "Codes" box;
  from the mousedown on the option to the frame after the first passage is drawn.

Every time but "stored" is taken inside the page (`performance.now()` in a capture-phase
listener for the start, a MutationObserver for the condition, then requestAnimationFrame and a
task for "drawn"), so Playwright's own round trips are not counted. A WebSocket wrapper in the
page splits server-bound waits into the browser's part (before the message is sent; after the
last answer arrives) and the server's (sent → last answer before the page changed).
Codings are undone ("u") between repetitions, and each selection is a different sentence.

Baseline, in the same run: a one-button Streamlit app (`streamlit run`, the project's config),
click → updated text, timed the same way; half of its repetitions at the start, half at the
end. Targets (2-core machine): visible after apply ≤ 0.15 s, stored ≤ 0.5 s at p95, page turn
≤ 0.5 s, open ≤ 1.5 s, retrieval page ≤ 1 s (medians unless p95 is named).

Prints the machine, a markdown table (median, p95, n, target, ratio to the baseline's median) and
a second one splitting each wait (ms): until the page sent its message, until the server's last
answer before the page changed, the DOM changed, drawn. A run takes about five minutes on two
cores, one of them building the study (the sample study, then the NLP pass over 380,000
characters); `--reuse-study FILE` keeps the built database in FILE and copies it on later runs.

Run: .venv/bin/python benchmarks/browser_latency.py [--repeat 20] [--reuse-study FILE]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from import_cost import interviews  # benchmarks/ is on sys.path

from tests.conftest import SAMPLE_PASSWORDS
from tests.test_browser import ARGS, CHROMIUM, PHRASE_BOX, free_port, healthy, sign_in, start_app
from workbench.access import LEAD_CLI, actor_for
from workbench.coding.assignments import assign
from workbench.coding.codings import add_coding, list_codings
from workbench.coding.workspace import PAGE_TURNS, transcript_view
from workbench.privacy.anonymisation import release
from workbench.sample import load_sample_study
from workbench.store import Study
from workbench.transcripts.study import FileInput, import_transcripts

CODER = "priya"
SIZES = {"15,000 words": "Generated_15000_words", "300,000 characters": "Generated_300000_chars"}
# assigned too, and first in the list, so the Code page opens it and neither measured one is open
FIRST = ("A00_Short_call", "Interviewer: How did it go?\nG00: It went well, thank you. We talked for a bit.\n")
RETRIEVED = "Trust, confidentiality and reliability/Reliability and being rung back"  # 300 passages
APPLIED = "Taking part in group work/Group timing and practicalities"  # applied and undone
PASSAGES = 300
TIMEOUT_MS = 60_000

BASELINE_APP = """import streamlit as st

st.session_state.setdefault("presses", 0)
if st.button("Press"):
    st.session_state.presses += 1
st.write(f"pressed {st.session_state.presses} times")
"""

# Timestamps of the page's WebSocket traffic (sent / received), for the server's share of a wait.
WEBSOCKET_LOG = """(() => {
  const log = [];
  window.__benchWs = log;
  const Original = window.WebSocket;
  const send = Original.prototype.send;
  Original.prototype.send = function (data) { log.push(["s", performance.now()]); return send.call(this, data); };
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => log.push(["r", performance.now()]));
    }
  };
})();"""

# Arm a measurement: the start is the first `start` event (capture phase, optionally only for
# `key` or on an element matching `within`); each condition is done when it holds after the
# start (one true at the start must first turn false: "All changes saved" → "Saving…" → ...).
# For each: the time the DOM first satisfied it, and the time of the frame after (drawn).
ARM = """({start, key, within, conds}) => {
  const visible = (node) => !!node && node.getClientRects().length > 0;
  const checks = {
    selected: () => !!document.querySelector(".wb-surface .wb-selected"),
    pending: () => !!document.querySelector(".wb-surface .wb-mark.wb-pending"),
    saved: () => {
      const s = document.querySelector(".wb-surface .wb-status");
      return !!s && s.textContent === "All changes saved" && !document.querySelector(".wb-surface .wb-mark.wb-pending");
    },
    page: (text) => {
      const p = document.querySelector(".wb-surface .wb-page"), s = document.querySelector(".wb-surface .wb-scroll");
      return !!p && p.textContent === text && !!s && !s.classList.contains("wb-loading")
        && !!document.querySelector(".wb-surface .wb-talk [data-o]");
    },
    surface: (title) => [...document.querySelectorAll(".wb-surface")].some((r) =>
      r.__wb && typeof r.__wb.key === "string" && r.__wb.key.startsWith(title + ":")
      && visible(r.querySelector(".wb-talk [data-o]"))),
    unmarked: (id) => ![...document.querySelectorAll(".wb-surface .wb-mark")]
      .some((m) => (m.dataset.ids || "").split(" ").includes(id)),
    passage: () => visible(document.querySelector('[data-testid="stMain"] mark')),
    text: (text) => [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
      .some((m) => m.textContent.trim() === text),
  };
  const ws = window.__benchWs || [];
  ws.length = 0;
  const bench = { t0: null, results: {} };
  window.__bench = bench;
  bench.done = new Promise((resolve, reject) => {
    const todo = conds.map(([name, arg]) => ({ name, arg, check: () => checks[name](arg), wasTrue: false,
      done: false }));
    let remaining = todo.length;
    const test = () => {
      for (const c of todo) {
        if (c.done) continue;
        const now = c.check();
        if (c.wasTrue) { if (!now) c.wasTrue = false; continue; }
        if (!now) continue;
        c.done = true;
        const dom = performance.now();
        requestAnimationFrame(() => setTimeout(() => {
          const drawn = performance.now();
          const sent = ws.find(([kind, t]) => kind === "s" && t >= bench.t0);
          const received = ws.filter(([kind, t]) => kind === "r" && sent && t >= sent[1] && t <= dom);
          bench.results[c.name] = { dom: dom - bench.t0, drawn: drawn - bench.t0,
            sent: sent ? sent[1] - bench.t0 : null,
            answered: received.length ? received[received.length - 1][1] - bench.t0 : null };
          if (--remaining === 0) { observer.disconnect(); resolve(bench.results); }
        }, 0));
      }
    };
    const observer = new MutationObserver(() => { if (bench.t0 !== null) test(); });
    const onStart = (event) => {
      if (bench.t0 !== null) return;
      if (key && event.key !== key) return;
      if (within && !(event.target.closest && event.target.closest(within))) return;
      bench.t0 = performance.now();
      for (const c of todo) c.wasTrue = c.check();
      window.removeEventListener(start, onStart, true);
    };
    window.addEventListener(start, onStart, true);
    observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true,
      characterData: true });
  });
}"""

# --- the study ---------------------------------------------------------------------------------
def generated_texts() -> dict[str, str]:
    """The two interviews: about 15,000 words, and 300,000 characters (whole turns, cut there)."""
    short = interviews(1, 15_000, seed=15)[0]
    long = "".join(line + "\n" for line in interviews(1, 70_000, seed=300)[0].splitlines())
    cut = long.rfind("\n", 0, 300_000) + 1
    texts = [short, long[:cut]]
    return {title: re.sub(r"^P01:", f"G{n:02d}:", text, flags=re.MULTILINE)
            for n, (title, text) in enumerate(zip(SIZES.values(), texts), start=1)}


def build(path: Path) -> None:
    """The sample study, the two interviews released to and assigned to priya, and 300 of her
    codings of RETRIEVED (sentences of the interviewees' turns, across both)."""
    started = time.perf_counter()
    study = Study.open(f"sqlite:///{path}")
    load_sample_study(study, passwords=SAMPLE_PASSWORDS)
    say(f"sample study built ({time.perf_counter() - started:.0f} s)")
    texts = generated_texts()
    import_transcripts(study, LEAD_CLI, [FileInput(f"{title}.txt", text.encode())
                                         for title, text in [FIRST, *texts.items()]])
    say(f"interviews imported ({time.perf_counter() - started:.0f} s): "
        + ", ".join(f"{t} {len(x.split()):,} words {len(x):,} characters" for t, x in texts.items()))
    titles = list(texts)
    release(study, LEAD_CLI, [FIRST[0], *titles], override="generated for the benchmark")
    assign(study, LEAD_CLI, [FIRST[0], *titles], [CODER])
    with study.session() as session:
        coder = actor_for(session, CODER)
    existing = sum(1 for c in list_codings(study, coder, coder=CODER) if c.code == RETRIEVED)
    rng = random.Random(300)
    spans = []
    for title in titles:
        view = transcript_view(study, title)
        spans.append([(title, s.start, s.end) for t in view.turns if not t.interviewer for s in t.segments])
    wanted = PASSAGES - existing
    chosen = rng.sample(spans[0], wanted // 2) + rng.sample(spans[1], wanted - wanted // 2)
    for title, start, end in chosen:
        add_coding(study, coder, title, RETRIEVED, start, end)
    with study.engine.connect() as connection:  # fold the WAL into the file so a copy is whole
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    study.close()
    say(f"study ready ({time.perf_counter() - started:.0f} s): {existing} + {len(chosen)} passages of {RETRIEVED}")


def newest_coding(study: Study, title: str) -> int:
    with study.engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT max(codings.id) FROM codings JOIN transcripts ON codings.transcript_id = transcripts.id "
            "WHERE transcripts.title = ?", (title,)).scalar()


def stored_count(study: Study, title: str) -> int:
    with study.engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT count(*) FROM codings JOIN transcripts ON codings.transcript_id = transcripts.id "
            "WHERE transcripts.title = ?", (title,)).scalar()


# --- measuring in the page ---------------------------------------------------------------------
def arm(page, start: str, conds: list[tuple[str, str | None]], key: str | None = None,
        within: str | None = None) -> None:
    page.evaluate(ARM, {"start": start, "key": key, "within": within, "conds": [list(c) for c in conds]})


def finish(page, timeout_s: float = 60) -> dict:
    """The armed measurement's results (ms from the start), once every condition has held."""
    return page.evaluate("""(ms) => Promise.race([window.__bench.done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' +
          JSON.stringify({t0: window.__bench.t0, results: window.__bench.results}))), ms))])""", timeout_s * 1000)


def settle(page, quiet_ms: int = 300) -> None:
    """Wait until the page has heard nothing from the server for `quiet_ms` (the script run an
    interaction started has finished), so one measurement does not run into the last."""
    page.wait_for_function("""(quiet) => { const log = window.__benchWs || [];
        return performance.now() - (log.length ? log[log.length - 1][1] : 0) > quiet; }""",
                           arg=quiet_ms, polling=50, timeout=TIMEOUT_MS)


def blur(page) -> None:
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")


def saved(page) -> None:
    page.wait_for_function("""() => { const s = document.querySelector('.wb-surface .wb-status');
        return s && s.textContent === 'All changes saved' && !document.querySelector('.wb-surface .wb-pending'); }""",
                           timeout=TIMEOUT_MS)


def wait_stored(study: Study, title: str, count: int, timeout: float = 60) -> float:
    """Poll the database until `title` holds `count` codings; the time it was seen."""
    deadline = time.perf_counter() + timeout
    while stored_count(study, title) != count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{title} never held {count} codings")
        time.sleep(0.005)
    return time.perf_counter()


class Results:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}  # seconds
        self.parts: dict[str, list[dict]] = {}

    def add(self, name: str, seconds: float, part: dict | None = None) -> None:
        self.times.setdefault(name, []).append(seconds)
        if part is not None:
            self.parts.setdefault(name, []).append(part)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the measurements --------------------------------------------------------------------------
def phrases(view, page_number: int) -> list[str]:
    """Words 2–7 of each interviewee sentence on the page (starting and ending inside the
    sentence, on one line), each once."""
    out, seen = [], set()
    for turn in view.page(page_number):
        if turn.interviewer:
            continue
        for segment in turn.segments:
            text = view.text[segment.start:segment.end]
            words = list(re.finditer(r"\S+", text))
            if len(words) < 9 or "\n" in text:
                continue
            phrase = text[words[1].start():words[6].end()]
            if phrase not in seen:
                seen.add(phrase)
                out.append(phrase)
    return out


def select_apply_undo(page, study: Study, title: str, phrase: str, results: Results, label: str,
                      measured: bool) -> None:
    box = page.evaluate(PHRASE_BOX, phrase)
    if not box:
        raise RuntimeError(f"phrase not on the page: {phrase!r}")
    arm(page, "mouseup", [("selected", None)])
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move(box["x1"], box["y1"], steps=8)
    page.mouse.up()
    selection = finish(page)
    page.locator(".wb-picker .wb-filter").wait_for(state="visible", timeout=TIMEOUT_MS)
    name = APPLIED.split("/")[-1]
    page.keyboard.type(name)
    page.locator(".wb-picker .wb-option.wb-active", has_text=name).wait_for(timeout=TIMEOUT_MS)
    before = stored_count(study, title)
    arm(page, "keydown", [("pending", None), ("saved", None)], key="Enter")
    pressed = time.perf_counter()
    page.keyboard.press("Enter")
    stored = wait_stored(study, title, before + 1) - pressed
    applied = finish(page)
    if measured:
        results.add(f"selection → highlighted|{label}", selection["selected"]["drawn"] / 1000, selection["selected"])
        results.add(f"apply → visible|{label}", applied["pending"]["drawn"] / 1000, applied["pending"])
        results.add(f"apply → saved (page)|{label}", applied["saved"]["drawn"] / 1000, applied["saved"])
        results.add(f"apply → stored (database)|{label}", stored)
    settle(page)
    blur(page)
    arm(page, "keydown", [("unmarked", str(newest_coding(study, title)))], key="u")
    page.keyboard.press("u")
    undone = finish(page)["unmarked"]
    wait_stored(study, title, before)
    saved(page)
    settle(page)
    if measured:
        results.add(f"undo → visible|{label}", undone["drawn"] / 1000, undone)


def page_turns(page, view, results: Results, label: str, repeat: int) -> None:
    pages = view.pages()
    current = int(re.match(r"Page (\d+)", page.locator(".wb-surface .wb-page").inner_text()).group(1)) - 1
    direction = 1
    for n in range(repeat + 1):
        if not 0 <= current + direction < pages:
            direction = -direction
        target = current + direction
        blur(page)
        arm(page, "keydown", [("page", f"Page {target + 1} of {pages}")], key="]" if direction > 0 else "[")
        page.keyboard.press("]" if direction > 0 else "[")
        turned = finish(page)["page"]
        current = target
        if n:  # the first is a warm-up
            results.add(f"page turn|{label}", turned["drawn"] / 1000, turned)
        settle(page)


def open_one(page, title: str) -> dict:
    page.get_by_role("combobox", name="Transcript", exact=True).click()
    page.keyboard.type(title)
    option = page.get_by_role("option", name=re.compile("^" + re.escape(title) + " — "))
    option.wait_for(timeout=TIMEOUT_MS)
    arm(page, "mousedown", [("surface", title)], within='[role="option"]')
    option.click()
    opened = finish(page)["surface"]
    settle(page)  # the rest of the page (the codings list...) is drawn after the text
    return opened


def retrievals(page, results: Results, repeat: int) -> None:
    page.get_by_role("link", name="Coded passages").click()
    page.get_by_role("heading", name="Coded passages").wait_for(timeout=TIMEOUT_MS)
    leaf = RETRIEVED.split("/")[-1]
    for n in range(repeat + 1):
        page.get_by_text("Choose a code to read every passage").wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("combobox", name="Codes", exact=True).click()
        page.keyboard.type(leaf)
        option = page.get_by_role("option", name=RETRIEVED, exact=True)
        option.wait_for(timeout=TIMEOUT_MS)
        arm(page, "mousedown", [("passage", None)], within='[role="option"]')
        option.click()
        shown = finish(page)["passage"]
        page.keyboard.press("Escape")
        page.get_by_text(f"{PASSAGES} passages in", exact=False).first.wait_for(timeout=TIMEOUT_MS)
        if n:  # the first is a warm-up
            results.add("retrieval page (300 passages)|", shown["drawn"] / 1000, shown)
        settle(page)
        page.get_by_role("combobox", name="Codes", exact=True).click()  # clear the choice again
        page.keyboard.press("Backspace")
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stMain\"] mark')", timeout=TIMEOUT_MS)
        settle(page)


def baseline(browser, url: str, page, results: Results, repeat: int):
    if page is None:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.add_init_script(WEBSOCKET_LOG)
        page.goto(url)
        page.get_by_text("pressed 0 times").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_timeout(500)
    for n in range(repeat + 1):
        presses = int(re.search(r"pressed (\d+) times", page.get_by_text("pressed ").inner_text()).group(1))
        arm(page, "mousedown", [("text", f"pressed {presses + 1} times")], within="button")
        page.get_by_role("button", name="Press").click()
        pressed = finish(page)["text"]
        if n:
            results.add("baseline: one-button app, click → text|", pressed["drawn"] / 1000, pressed)
        settle(page)
    return page


def serve_baseline(folder: Path) -> tuple[subprocess.Popen, str]:
    script = folder / "baseline_app.py"
    script.write_text(BASELINE_APP)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless=true",
         "--server.address=127.0.0.1", f"--server.port={port}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if not healthy(process, url):
        raise RuntimeError("the baseline app did not start")
    return process, url


def run(study: Study, url: str, baseline_url: str, repeat: int, results: Results) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        version = browser.version
        say("baseline (first half)")
        base_page = baseline(browser, baseline_url, None, results, (repeat + 1) // 2)

        page = sign_in(browser, url, CODER)
        page.add_init_script(WEBSOCKET_LOG)  # a new document from here on: reload to take it
        page.reload()
        page.get_by_text(f"Signed in as {CODER}").or_(page.get_by_role("textbox", name="Name")).first.wait_for(
            timeout=TIMEOUT_MS)
        if page.get_by_role("textbox", name="Name").count():  # a reload is a new session: sign in again
            page.get_by_role("textbox", name="Name").fill(CODER)
            page.get_by_role("textbox", name="Password").fill(SAMPLE_PASSWORDS[CODER])
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text(f"Signed in as {CODER}").wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("link", name="Code", exact=True).click()
        page.get_by_role("heading", name="Code", exact=True).wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Page 1 of").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_timeout(500)
        default = page.evaluate("() => { const r = document.querySelector('.wb-surface'); return r && r.__wb.key; }")
        if not default or default.split(":")[0] != FIRST[0]:
            raise RuntimeError(f"the Code page opened {default} by itself, not {FIRST[0]}")

        say("open a transcript")
        titles = list(SIZES.items())
        for n in range(repeat + 1):
            for label, title in titles:
                opened = open_one(page, title)
                name = "open a transcript (first, server cache cold)" if n == 0 else "open a transcript"
                results.add(f"{name}|{label}", opened["drawn"] / 1000, opened)

        for label, title in titles:
            say(f"select, apply, undo: {label}")
            open_one(page, title)
            blur(page)
            view = transcript_view(study, title)
            done = 0
            while done < repeat + 1:  # a different sentence each time, page after page
                page_text = page.locator(".wb-surface .wb-page").inner_text()
                number = int(re.match(r"Page (\d+)", page_text).group(1)) - 1
                for phrase in phrases(view, number)[:repeat + 1 - done]:
                    select_apply_undo(page, study, title, phrase, results, label, measured=done > 0)
                    done += 1
                if done < repeat + 1:
                    blur(page)
                    page.keyboard.press("]")
                    page.get_by_text(f"Page {number + 2} of").wait_for(timeout=TIMEOUT_MS)
                    settle(page)
            say(f"page turns: {label} ({view.pages()} pages of {PAGE_TURNS} turns)")
            page_turns(page, view, results, label, repeat)

        say("retrieval")
        retrievals(page, results, repeat)
        say("baseline (second half)")
        baseline(browser, baseline_url, base_page, results, repeat // 2)
        browser.close()
    return version


# --- the report --------------------------------------------------------------------------------
def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


TARGETS = {  # row name → (seconds, statistic)
    "apply → visible": (0.15, "median"),
    "apply → stored (database)": (0.5, "p95"),
    "page turn": (0.5, "median"),
    "open a transcript": (1.5, "median"),
    "open a transcript (first, server cache cold)": (1.5, "median"),
    "retrieval page (300 passages)": (1.0, "median"),
}
ORDER = ["selection → highlighted", "apply → visible", "apply → saved (page)", "apply → stored (database)",
         "undo → visible",
         "page turn", "open a transcript", "open a transcript (first, server cache cold)",
         "retrieval page (300 passages)", "baseline: one-button app, click → text"]


def machine(version: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory = next((int(line.split()[1]) // 1024 ** 2 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    from importlib.metadata import version as package_version

    import streamlit

    return (f"machine: {platform.platform()}, {cpu}, {os.cpu_count()} cores, {memory} GiB; "
            f"Chromium {version} (headless, {CHROMIUM}); Python {platform.python_version()}, "
            f"Streamlit {streamlit.__version__}, Playwright {package_version('playwright')}")


def row_order(key: str) -> tuple[int, bool]:
    """Table rows in the order of ORDER, the 15,000-word interview before the long one."""
    name, label = key.split("|")
    return ORDER.index(name), label != "15,000 words"


def report(results: Results, version: str, repeat: int, sizes: dict[str, tuple[int, int]], load: tuple) -> None:
    base = statistics.median(results.times["baseline: one-button app, click → text|"])
    print(machine(version))
    print(f"load average before / after: {load[0]:.2f} / {load[1]:.2f}; interviews: "
          + "; ".join(f"{label} ({words:,} words, {chars:,} characters)" for label, (words, chars) in sizes.items()))
    print()
    print("| measurement | interview | median | p95 | n | target | ratio to baseline median |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(results.times, key=row_order):
        name, label = key.split("|")
        values = results.times[key]
        median, high = statistics.median(values), p95(values)
        target = TARGETS.get(name)
        if target:
            limit, stat = target
            met = (high if stat == "p95" else median) <= limit
            goal = f"≤ {limit:g} s{' p95' if stat == 'p95' else ''} {'✓' if met else '✗'}"
        else:
            goal = "—"
        print(f"| {name} | {label or '—'} | {median:.3f} s | {high:.3f} s | {len(values)} | {goal} | "
              f"{median / base:.1f}× |")
    print()
    print("Where the time goes (medians, ms from the start of each wait: DOM changed / drawn; for waits on the"
          " server: browser until the message is sent, server until its last answer before the page changed):")
    print()
    print("| measurement | interview | sent | answered | DOM changed | drawn |")
    print("|---|---|---|---|---|---|")
    for key in sorted(results.parts, key=row_order):
        name, label = key.split("|")
        parts = results.parts[key]

        def med(field: str, parts: list[dict] = parts) -> str:
            values = [p[field] for p in parts if p.get(field) is not None]
            return f"{statistics.median(values):.0f}" if values else "—"

        print(f"| {name} | {label or '—'} | {med('sent')} | {med('answered')} | {med('dom')} | {med('drawn')} |")
    print(f"\nrepetitions: {repeat} (after one warm-up) per measurement; baseline half before, half after the rest")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse-study", type=Path, default=None,
                        help="keep the built study database in this file; copy it on later runs")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    folder = Path(tempfile.mkdtemp(prefix="browser-latency-"))
    path = folder / "study.db"
    if args.reuse_study and args.reuse_study.exists():
        shutil.copy(args.reuse_study, path)
        say(f"study copied from {args.reuse_study}")
    else:
        build(path)
        if args.reuse_study:
            shutil.copy(path, args.reuse_study)
    study = Study.open(f"sqlite:///{path}")
    sizes = {}
    for label, title in SIZES.items():
        text = transcript_view(study, title).text
        sizes[label] = (len(text.split()), len(text))
    results = Results()
    load_before = os.getloadavg()[0]
    processes = []
    try:
        app, url = start_app(study)
        processes.append(app)
        base_app, base_url = serve_baseline(folder)
        processes.append(base_app)
        version = run(study, url, base_url, args.repeat, results)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        study.close()
        shutil.rmtree(folder, ignore_errors=True)
    report(results, version, args.repeat, sizes, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
