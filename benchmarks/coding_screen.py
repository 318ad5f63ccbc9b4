"""Server time of the coding screen: render, and apply a code, on the longest sample transcript
and on a generated 15,000-word transcript (a 90-minute interview). Measured with Streamlit's
AppTest (the whole script run a browser interaction triggers), against a baseline in the same
process: an AppTest run of a one-line app. Target: under 0.5 s per interaction.

Run: .venv/bin/python benchmarks/coding_screen.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"morgan": "benchmark-lead", "priya": "benchmark-coder", "tom": "benchmark-coder2", "jo": "benchmark-view"}


def long_transcript(words: int = 15000) -> str:
    """Interview-like text of about `words` words, built from the sample study's talk."""
    from workbench.sample import sample_files
    from workbench.transcripts.formats import read_source
    from workbench.transcripts.speakers import detect_turns

    sentences = []
    for path in sample_files():
        source = read_source(path.name, path.read_bytes())
        for turn in detect_turns(source.text, source.hints):
            for a, b in turn.talk:
                sentences += [s.strip() + "." for s in source.text[a:b].split(".") if len(s.split()) > 3]
    rng = random.Random(1)
    lines, count, k = [], 0, 0
    while count < words:
        speaker = "Interviewer" if k % 2 == 0 else "Pat"
        talk = " ".join(rng.choice(sentences) for _ in range(1 if speaker == "Interviewer" else rng.randint(3, 8)))
        lines.append(f"{speaker}: {talk}")
        count += len(talk.split())
        k += 1
    return "\n".join(lines) + "\n"


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    folder = tempfile.mkdtemp()
    url = f"sqlite:///{Path(folder) / 'bench.db'}"
    os.environ["WORKBENCH_DATABASE_URL"] = url

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from workbench.access import LEAD_CLI
    from workbench.coding.assignments import assign
    from workbench.sample import load_sample_study
    from workbench.store import Study
    from workbench.transcripts.study import FileInput, import_transcripts

    study = Study.open(url)
    load_sample_study(study, passwords=PASSWORDS)
    text = long_transcript()
    import_transcripts(study, LEAD_CLI, [FileInput("Long_90min.txt", text.encode())])
    assign(study, LEAD_CLI, ["Long_90min"], ["priya"])
    longest = "FG01_Girls_Service5"
    assign(study, LEAD_CLI, [longest], ["morgan"])

    baseline_script = Path(folder) / "baseline.py"
    baseline_script.write_text("import streamlit as st\nst.write('hello')\n")
    baseline_app = AppTest.from_file(str(baseline_script)).run()
    baseline = timed(lambda: baseline_app.run(), repeat)

    rows = []
    for title, who in ((longest, "morgan"), ("Long_90min", "priya")):
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        at.text_input[0].input(who)
        at.text_input[1].input(PASSWORDS[who])
        at.button[0].click().run()
        at.switch_page("workbench/ui/pages/code.py").run()
        start = time.perf_counter()
        at.selectbox(key="transcript-choice").select(title).run()
        first = time.perf_counter() - start
        render = timed(lambda: at.run(), repeat)
        at.radio[0].set_value("Segments").run()
        numbers = iter(range(1, 10_000))

        def choose() -> None:  # pick a segment and a code (two browser interactions)
            n = next(numbers)
            at.number_input[0].set_value(n)
            at.number_input[1].set_value(n)
            at.multiselect[0].select(at.multiselect[0].options[n % 30]).run()

        def apply() -> None:
            next(b for b in at.button if b.label == "Apply").click().run()
            assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])

        apply_times = []
        for _ in range(repeat):
            choose()
            start = time.perf_counter()
            apply()
            apply_times.append(time.perf_counter() - start)
        apply_time = statistics.median(apply_times)
        words = len(study.engine.connect().exec_driver_sql(
            f"SELECT text FROM transcripts WHERE title = '{title}'").scalar().split())
        rows.append((title, words, first, render, apply_time))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"baseline (one-line app run): {baseline * 1000:.0f} ms")
    print("| transcript | words | first open (cold cache) | render (rerun) | apply a code | render / baseline |")
    print("|---|---|---|---|---|---|")
    for title, words, first, render, apply_time in rows:
        print(f"| {title} | {words:,} | {first:.2f} s | {render:.2f} s | {apply_time:.2f} s | {render / baseline:.0f}× |")


if __name__ == "__main__":
    main()
