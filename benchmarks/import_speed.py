"""Import throughput: the sample transcripts imported into a fresh SQLite study, against a
baseline run in the same process — spaCy's `nlp.pipe` alone over the same talk — so the ratio
shows what reading, turn detection and storage add on a shared, noisy machine.

Run: .venv/bin/python benchmarks/import_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from workbench import nlp
from workbench.access import LEAD_CLI
from workbench.sample import sample_files
from workbench.store import Study
from workbench.transcripts.formats import read_source
from workbench.transcripts.speakers import detect_turns
from workbench.transcripts.study import FileInput, import_transcripts


def talk_lines() -> list[str]:
    lines = []
    for path in sample_files():
        source = read_source(path.name, path.read_bytes())
        for turn in detect_turns(source.text, source.hints):
            lines += [source.text[a:b] for a, b in turn.talk]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    pipeline = nlp.load_pipeline()
    lines = talk_lines()
    words = sum(len(line.split()) for line in lines)
    files = [FileInput.from_path(p) for p in sample_files()]
    baseline, ours = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        list(pipeline.nlp.pipe(lines, batch_size=256))
        baseline.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as folder:
            study = Study.open(f"sqlite:///{Path(folder) / 'bench.db'}")
            start = time.perf_counter()
            import_transcripts(study, LEAD_CLI, files)
            ours.append(time.perf_counter() - start)
            study.close()
    best_base, best_ours = min(baseline), min(ours)
    print(f"machine: {platform.machine()}, {platform.python_version()}, {pipeline.name}")
    print(f"{len(files)} transcripts, {words} words of talk, best of {repeat}")
    print(f"spaCy pipe alone : {best_base:6.2f} s  ({words / best_base:,.0f} words/s)")
    print(f"workbench import : {best_ours:6.2f} s  ({words / best_ours:,.0f} words/s)")
    print(f"ratio import / spaCy alone: {best_ours / best_base:.2f}")


if __name__ == "__main__":
    main()
