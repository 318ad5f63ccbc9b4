"""Import cost as a person pays it: `workbench import` of ten 6,000-word interviews, as a whole
process, against a whole process that runs spaCy's full English pipeline (tagger, parser,
lemmatizer, NER: `spacy.load(MODEL)` and `nlp.pipe`) over the same text. Both start Python and
load their models, so the ratio is what the workbench's import costs beyond "just run spaCy".

The two commands alternate (A, B, A, B, ...) so a busy shared machine slows both alike; the
report gives each one's median and the ratio of medians.

The interviews are built from the sample transcripts' talk (turns shuffled with a fixed seed and
re-labelled), so the text is interview talk, not lorem ipsum.

Run: .venv/bin/python benchmarks/import_cost.py [--repeat 5] [--interviews 10] [--words 6000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workbench import nlp
from workbench.sample import sample_files
from workbench.transcripts.formats import read_source
from workbench.transcripts.speakers import detect_turns

BIN = Path(sys.executable).parent
SPACY_ALONE = """
import sys, pathlib, spacy
nlp = spacy.load(sys.argv[1])
texts = [line for path in sys.argv[2:] for line in pathlib.Path(path).read_text().splitlines() if line]
for doc in nlp.pipe(texts, batch_size=256):
    pass
"""


def sample_turns() -> list[str]:
    turns = []
    for path in sample_files():
        source = read_source(path.name, path.read_bytes())
        for turn in detect_turns(source.text, source.hints):
            talk = " ".join(source.text[a:b] for a, b in turn.talk).strip()
            if talk:
                turns.append(talk)
    return turns


def interviews(count: int, words: int, seed: int = 7) -> list[str]:
    """`count` interviews of about `words` words each, alternating interviewer and participant."""
    turns = sample_turns()
    rng = random.Random(seed)
    out = []
    for number in range(count):
        lines, total = [], 0
        while total < words:
            talk = rng.choice(turns)
            speaker = "Interviewer" if len(lines) % 2 == 0 else f"P{number + 1:02d}"
            lines.append(f"{speaker}: {talk}")
            total += len(talk.split())
        out.append("\n".join(lines) + "\n")
    return out


def run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--interviews", type=int, default=10)
    parser.add_argument("--words", type=int, default=6000)
    args = parser.parse_args()
    model = nlp.load_pipeline().nlp.meta
    model_name = f"{model['lang']}_{model['name']}"
    env = dict(os.environ, WORKBENCH_SPACY_MODEL=model_name)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number, text in enumerate(interviews(args.interviews, args.words), start=1):
            path = Path(folder) / f"I{number:02d}.txt"
            path.write_text(text)
            paths.append(str(path))
        words = sum(len(Path(p).read_text().split()) for p in paths)
        alone, ours = [], []
        for attempt in range(args.repeat):
            alone.append(run([str(BIN / "python"), "-c", SPACY_ALONE, model_name, *paths], env))
            db = Path(folder) / f"study{attempt}.db"
            ours.append(run([str(BIN / "workbench"), "--db", f"sqlite:///{db}", "import", *paths], env))
    a, b = statistics.median(alone), statistics.median(ours)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{model_name} {model['version']}")
    print(f"{args.interviews} interviews, {words:,} words, median of {args.repeat} (alternating)")
    print(f"spaCy full pipeline (process): {a:6.2f} s   runs {', '.join(f'{t:.2f}' for t in alone)}")
    print(f"workbench import (process)   : {b:6.2f} s   runs {', '.join(f'{t:.2f}' for t in ours)}")
    print(f"ratio import / spaCy full pipeline: {b / a:.2f}")


if __name__ == "__main__":
    main()
