"""Coded retrieval speed: a code with 300 passages over 20 generated interviews (about 3,000
words each) added to the sample study. Times the domain function (`retrieve`, as the lead and as
the coder), the codebook's counts (`code_counts`) and the Coded passages page's server time
(Streamlit's AppTest: the whole script run a browser interaction triggers; 50 passages drawn,
then all 300), against a baseline in the same process: an AppTest run of a one-line app.
Target: the page in well under 1 s.

The interviews are imported with the rule-based pipeline (WORKBENCH_SPACY_MODEL=blank) to keep
set-up short; retrieval reads the same tables whichever pipeline filled them.

Run: .venv/bin/python benchmarks/retrieval_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WORKBENCH_SPACY_MODEL", "blank")

from coding_screen import PASSWORDS, long_transcript, timed  # noqa: E402  (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
CODE = "Trust, confidentiality and reliability/Reliability and being rung back"
INTERVIEWS, PER_INTERVIEW = 20, 15  # 300 passages


def build(url: str) -> None:
    from workbench.access import LEAD_CLI
    from workbench.coding.codings import import_codings
    from workbench.csvio import write_rows
    from workbench.privacy.anonymisation import release
    from workbench.sample import load_sample_study
    from workbench.store import Study
    from workbench.transcripts.participants import import_participants
    from workbench.transcripts.study import FileInput, import_transcripts

    study = Study.open(url)
    load_sample_study(study, passwords=PASSWORDS)
    key = "pseudonym,role,group\n" + "".join(f"G{n:02d},{'mother' if n % 2 else 'young person'},Service {n % 8 + 1}\n"
                                              for n in range(INTERVIEWS))
    import_participants(study, LEAD_CLI, key.encode(), "generated-key.csv")
    files, rows = [], []
    for n in range(INTERVIEWS):
        random.seed(n)
        text = long_transcript(3000).replace("Pat:", f"G{n:02d}:")
        files.append(FileInput(f"G{n:02d}_Interview.txt", text.encode()))
        talk = [m for m in re.finditer(rf"^G{n:02d}: (.+?\.)", text, re.M)]
        for m in random.sample(talk, PER_INTERVIEW):
            rows.append({"transcript": f"G{n:02d}_Interview", "coder": "priya", "code": CODE,
                         "start": m.start(1), "end": m.end(1), "memo": "generated"})
    import_transcripts(study, LEAD_CLI, files)
    release(study, LEAD_CLI, [f.name.removesuffix(".txt") for f in files], override="generated for the benchmark")
    import_codings(study, LEAD_CLI, write_rows(["transcript", "coder", "code", "start", "end", "memo"], rows).encode(),
                   "generated-codings.csv")
    study.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    folder = tempfile.mkdtemp()
    url = f"sqlite:///{Path(folder) / 'bench.db'}"
    os.environ["WORKBENCH_DATABASE_URL"] = url
    build(url)

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from workbench.access import LEAD_CLI, actor_for
    from workbench.analysis.retrieval import code_counts, retrieve
    from workbench.store import Study

    study = Study.open(url)
    with study.session() as session:
        priya = actor_for(session, "priya")
    passages = len(retrieve(study, LEAD_CLI, [CODE], coder="priya").passages)
    rows = [
        ("retrieve (lead, every coder)", timed(lambda: retrieve(study, LEAD_CLI, [CODE]), repeat)),
        ("retrieve (the coder, her own)", timed(lambda: retrieve(study, priya, [CODE]), repeat)),
        ("retrieve, mothers only, by length", timed(lambda: retrieve(study, LEAD_CLI, [CODE], roles=["mother"],
                                                                      order="length"), repeat)),
        ("code_counts (every code, one coder)", timed(lambda: code_counts(study, LEAD_CLI, "priya"), repeat)),
    ]

    baseline_script = Path(folder) / "baseline.py"
    baseline_script.write_text("import streamlit as st\nst.write('hello')\n")
    baseline_app = AppTest.from_file(str(baseline_script)).run()
    baseline = timed(lambda: baseline_app.run(), repeat)

    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.text_input[0].input("morgan")
    at.text_input[1].input(PASSWORDS["morgan"])
    at.button[0].click().run()
    at.switch_page("workbench/ui/pages/retrieve.py").run()
    start = time.perf_counter()
    at.multiselect(key="retrieve-codes").set_value([CODE]).run()
    first = time.perf_counter() - start
    at.selectbox(key="retrieve-coder").select("priya").run()
    assert not at.exception and f"**{passages}** passages" in at.markdown[0].value, at.markdown[0].value
    page_50 = timed(lambda: at.run(), repeat)
    while any(b.key == "retrieve-more" for b in at.button):
        at.button(key="retrieve-more").click().run()
    page_all = timed(lambda: at.run(), repeat)
    at.switch_page("workbench/ui/pages/codebook.py").run()
    codebook = timed(lambda: at.run(), repeat)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"study: the sample study plus {INTERVIEWS} generated interviews; {passages} passages of priya's "
          f"with {CODE.split('/')[-1]!r}")
    print(f"baseline (one-line app run): {baseline * 1000:.0f} ms")
    print(f"| step | median of {repeat} | / baseline |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1000:.0f} ms | {seconds / baseline:.1f}× |")
    print(f"| page: choose the code (first run) | {first * 1000:.0f} ms | {first / baseline:.1f}× |")
    print(f"| page: rerun, 50 of {passages} passages drawn | {page_50 * 1000:.0f} ms | {page_50 / baseline:.1f}× |")
    print(f"| page: rerun, all {passages} drawn | {page_all * 1000:.0f} ms | {page_all / baseline:.1f}× |")
    print(f"| codebook page with counts (rerun) | {codebook * 1000:.0f} ms | {codebook / baseline:.1f}× |")


if __name__ == "__main__":
    main()
