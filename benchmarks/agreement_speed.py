"""Agreement speed: 50 transcripts × 40 codes × 2 coders at sentence level, with and without
the bootstrap (1,000 draws), through `study_agreement` (database read, units, report). Baseline
in the same process: the `krippendorff` package computing one alpha over the same pooled
(unit, code) decisions. Targets: under 1 s without and 5 s with the bootstrap on 2 cores.

Run: .venv/bin/python benchmarks/agreement_speed.py [--repeat 3]
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

import krippendorff
import numpy as np
from coding_screen import long_transcript  # benchmarks/ is on sys.path when run as a script


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--transcripts", type=int, default=50)
    parser.add_argument("--codes", type=int, default=40)
    args = parser.parse_args()

    from workbench.access import LEAD_CLI
    from workbench.agreement.study import study_agreement
    from workbench.codebook.study import import_codebook
    from workbench.coding.codings import import_codings
    from workbench.store import Study
    from workbench.transcripts.study import FileInput, import_transcripts
    from workbench.users import add_user

    folder = tempfile.mkdtemp()
    study = Study.open(f"sqlite:///{Path(folder) / 'bench.db'}")
    codes = [f"Theme {t}/Code {t}.{k}" for t in range(args.codes // 5) for k in range(5)][: args.codes]
    themes = sorted({c.split("/")[0] for c in codes})
    import_codebook(study, LEAD_CLI, ("path\n" + "\n".join(themes + codes) + "\n").encode(), "codes.csv")
    random.seed(7)
    files = []
    for n in range(args.transcripts):
        random.seed(n)
        files.append(FileInput(f"T{n:02d}.txt", long_transcript(3000).replace("Pat:", f"P{n}:").encode()))
    start = time.perf_counter()
    import_transcripts(study, LEAD_CLI, files)
    setup = time.perf_counter() - start
    for coder in ("a", "b"):
        add_user(study, LEAD_CLI, coder, "coder")
    rng = random.Random(3)
    rows = ["transcript,coder,code,start,end"]
    with study.session() as session:
        from sqlalchemy import select

        from workbench.store.models import Segment, Transcript

        for title, tid in session.execute(select(Transcript.title, Transcript.id)):
            segments = session.execute(select(Segment.start, Segment.end).where(Segment.transcript_id == tid)
                                       .order_by(Segment.start)).all()
            for code in codes:
                for _ in range(rng.randint(0, 3)):
                    k = rng.randrange(len(segments) - 3)
                    first, last = segments[k], segments[k + rng.randint(0, 2)]
                    rows.append(f'{title},a,"{code}",{first[0]},{last[1]}')
                    if rng.random() < 0.75:  # b agrees, with its own boundaries
                        other = segments[min(k + rng.randint(0, 1), len(segments) - 1)]
                        rows.append(f'{title},b,"{code}",{first[0] if rng.random() < .6 else other[0]},{max(last[1], other[1])}')
    import_codings(study, LEAD_CLI, ("\n".join(rows) + "\n").encode(), "codings.csv")

    def run(draws: int):
        return study_agreement(study, LEAD_CLI, ["a", "b"], unit="sentence", draws=draws)

    result = run(0)
    flat = np.array([[d.coded[c].ravel() for d in result.decisions] for c in ("a", "b")], dtype=object)
    pooled = np.array([np.concatenate(flat[i]) for i in range(2)], dtype=float)
    baseline = statistics.median(
        [_time(lambda: krippendorff.alpha(reliability_data=pooled, level_of_measurement="nominal"))
         for _ in range(args.repeat)])
    without = statistics.median([_time(lambda: run(0)) for _ in range(args.repeat)])
    with_boot = statistics.median([_time(lambda: run(1000)) for _ in range(args.repeat)])
    units = result.report.overall.n_units
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"setup: {args.transcripts} transcripts imported in {setup:.1f} s; {len(rows) - 1} codings; "
          f"{units:,} (unit, code) decisions")
    print("| measure | median of %d | / baseline |" % args.repeat)
    print("|---|---|---|")
    print(f"| krippendorff.alpha on the pooled decisions (baseline) | {baseline:.3f} s | 1.0 |")
    print(f"| study_agreement, no bootstrap | {without:.3f} s | {without / baseline:.1f} |")
    print(f"| study_agreement, 1,000 bootstrap draws | {with_boot:.3f} s | {with_boot / baseline:.1f} |")


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
