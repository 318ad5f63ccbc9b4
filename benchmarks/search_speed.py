"""Search speed over a corpus of 100 one-hour interviews (about 9,000 words each, 900,000 words):
lemma, phrase and regular-expression search, with and without a participant filter. Baseline in
the same process: Python's `re` scanning the same texts for the same words (no turns, no
filters, no lemmas). Target: under a second per search.

The corpus is imported with the rule-based pipeline (WORKBENCH_SPACY_MODEL=blank) to keep set-up
short; the search path is the same whichever pipeline filled the lemma index.

Run: .venv/bin/python benchmarks/search_speed.py [--interviews 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WORKBENCH_SPACY_MODEL", "blank")

from coding_screen import long_transcript  # noqa: E402  (benchmarks/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import random

    from workbench.access import LEAD_CLI
    from workbench.analysis.search import Filters, search
    from workbench.store import Study
    from workbench.transcripts.participants import import_participants
    from workbench.transcripts.study import FileInput, import_transcripts

    study = Study.open(f"sqlite:///{Path(tempfile.mkdtemp()) / 'search.db'}")
    key = "pseudonym,role\n" + "\n".join(f"P{n:03d},{'mother' if n % 3 else 'staff'}" for n in range(args.interviews))
    import_participants(study, LEAD_CLI, (key + "\n").encode(), "key.csv")
    files = []
    for n in range(args.interviews):
        random.seed(n)
        files.append(FileInput(f"I{n:03d}.txt", long_transcript(9000).replace("Pat:", f"P{n:03d}:").encode()))
    start = time.perf_counter()
    import_transcripts(study, LEAD_CLI, files)
    setup = time.perf_counter() - start
    with study.session() as session:
        from sqlalchemy import select

        from workbench.store.models import Transcript

        texts = list(session.scalars(select(Transcript.text)))
    words = sum(len(t.split()) for t in texts)

    def timed(fn):
        runs = []
        for _ in range(args.repeat):
            begin = time.perf_counter()
            value = fn()
            runs.append(time.perf_counter() - begin)
        return statistics.median(runs), value

    pattern = re.compile(r"\brang\b|\bring(?:s|ing)?\b", re.IGNORECASE)
    baseline, base_hits = timed(lambda: sum(len(pattern.findall(t)) for t in texts))
    cases = [
        ("lemma 'ring'", lambda: search(study, LEAD_CLI, "ring")),
        ("lemma 'ring back'", lambda: search(study, LEAD_CLI, "ring back")),
        ("lemma 'ring', mothers only", lambda: search(study, LEAD_CLI, "ring", filters=Filters(roles=("mother",)))),
        ("phrase 'rang back'", lambda: search(study, LEAD_CLI, "rang back", "phrase")),
        ("regex ring|rang", lambda: search(study, LEAD_CLI, r"\brang\b|\bring(?:s|ing)?\b", "regex")),
    ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"corpus: {len(texts)} interviews, {words:,} words, imported in {setup:.0f} s")
    print(f"| search | hits | median of {args.repeat} | / baseline |")
    print("|---|---|---|---|")
    print(f"| re over the raw texts (baseline) | {base_hits} | {baseline:.3f} s | 1.0 |")
    for label, fn in cases:
        seconds, result = timed(fn)
        print(f"| {label} | {len(result.hits)} | {seconds:.3f} s | {seconds / baseline:.1f} |")


if __name__ == "__main__":
    main()
