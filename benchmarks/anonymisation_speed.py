"""How long the anonymisation check takes on the sample study, against spaCy alone on the same
talk in the same process (the check's floor: it needs the tagger and the entities).

Run: .venv/bin/python benchmarks/anonymisation_speed.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(repeats: int = 3) -> None:
    from workbench.access import LEAD_CLI
    from workbench.nlp import load_pipeline
    from workbench.privacy.scan import _talk, scan_transcripts
    from workbench.sample import load_sample_study
    from workbench.store import Study
    from workbench.store.models import Transcript

    with tempfile.TemporaryDirectory() as folder:
        study = Study.open(f"sqlite:///{folder}/s.db")
        load_sample_study(study)
        with study.session() as session:
            pieces = [t.text[a:b] for t in session.query(Transcript) for a, b in _talk(session, t)]
        words = sum(len(p.split()) for p in pieces)
        nlp = load_pipeline().nlp
        list(nlp.pipe(pieces[:50]))  # warm up
        spacy_times, scan_times = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(nlp.pipe(pieces, batch_size=256))
            spacy_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            findings = scan_transcripts(study, LEAD_CLI)
            scan_times.append(time.perf_counter() - t0)
        one = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            scan_transcripts(study, LEAD_CLI, ["M01_Amy"])
            one.append(time.perf_counter() - t0)
        study.close()
    s, c = statistics.median(spacy_times), statistics.median(scan_times)
    print(f"sample study: {len(pieces)} turns, {words} words, {len(findings)} findings left after review")
    print(f"spaCy alone (tagger + entities): {s:.2f} s   whole check: {c:.2f} s   ratio {c / s:.2f}")
    print(f"one transcript (M01_Amy) on the Anonymisation page: {statistics.median(one):.2f} s")


if __name__ == "__main__":
    main()
