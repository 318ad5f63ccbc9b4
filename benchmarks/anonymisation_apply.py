"""How long applying anonymisation decisions to one transcript takes on the sample study: ten
replacements as ten decisions (one per finding, as the page used to send them), and the same ten
occurrences as one decision on their distinct term (`review.group_findings` + `decide_terms`,
as the page sends them now) — against one run of the check on that transcript
(`scan_transcripts`, what the page does on every visit), in the same process. Each run starts
from a fresh copy of the sample study (the copy is not timed). Median of 5.

Run: .venv/bin/python benchmarks/anonymisation_apply.py
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TITLE = "M01_Amy"
TERM = "school"  # said often enough in M01_Amy: its first ten occurrences stand for ten findings
PLACEHOLDER = "[school]"
REPLACEMENTS = 10


def main(repeats: int = 5) -> None:
    from workbench.access import LEAD_CLI
    from workbench.coding.workspace import transcript_view
    from workbench.privacy.anonymisation import Decision, apply_decisions, decide_terms
    from workbench.privacy.identifiers import context
    from workbench.privacy.private_key import PrivateKey
    from workbench.privacy.review import TermDecision, group_findings
    from workbench.privacy.revisions import find_term
    from workbench.privacy.scan import ScanFinding, scan_transcripts
    from workbench.sample import load_sample_study
    from workbench.store import Study

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base.db"
        study = Study.open(f"sqlite:///{base}")
        t0 = time.perf_counter()
        load_sample_study(study)
        built = time.perf_counter() - t0
        with study.engine.connect() as connection:  # fold the WAL into the file so a copy is whole
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        text = transcript_view(study, TITLE).text
        study.close()
        spans = find_term(text, TERM)
        if len(spans) < REPLACEMENTS:
            raise SystemExit(f"{TERM!r} occurs only {len(spans)} times in {TITLE}")
        findings = [ScanFinding(TITLE, a, b, text[a:b], "school", 0.9, "benchmark", context(text, a, b))
                    for a, b in spans[:REPLACEMENTS]]

        def fresh(n: int) -> Study:
            copy = Path(folder) / f"run{n}.db"
            shutil.copy(base, copy)
            return Study.open(f"sqlite:///{copy}")

        def timed(action) -> list[float]:
            times = []
            for _ in range(repeats):
                run = fresh(len(list(Path(folder).glob("run*.db"))))
                t0 = time.perf_counter()
                result = action(run)
                times.append(time.perf_counter() - t0)
                timed.last = result
                run.close()
            return times

        warm = fresh(99)
        scan_transcripts(warm, LEAD_CLI, [TITLE])  # load the NLP pipeline and the name lists once
        warm.close()
        scan = timed(lambda s: scan_transcripts(s, LEAD_CLI, [TITLE]))
        ten = timed(lambda s: apply_decisions(s, LEAD_CLI, [Decision(f, "replace", PLACEHOLDER) for f in findings],
                                              PrivateKey(), everywhere=False))
        ten_replaced = timed.last.replaced
        rows = group_findings(findings)
        assert len(rows) == 1 and rows[0].count == REPLACEMENTS
        one = timed(lambda s: decide_terms(s, LEAD_CLI, [TermDecision(rows[0], "replace", PLACEHOLDER)], PrivateKey(),
                                           everywhere=False))
        one_replaced = timed.last.replaced
        study_wide = timed(lambda s: decide_terms(s, LEAD_CLI, [TermDecision(rows[0], "replace", PLACEHOLDER)],
                                                  PrivateKey(), everywhere=True))
        wide = timed.last
    s = statistics.median(scan)
    print(f"sample study built in {built:.0f} s; {TITLE}: {len(text.split())} words, "
          f"{len(spans)} occurrences of {TERM!r}")
    print(f"baseline, the check on {TITLE} (scan_transcripts): {s:.2f} s")
    for label, times, replaced in (
            (f"{REPLACEMENTS} decisions, one per finding", ten, f"{ten_replaced} replacements"),
            ("one distinct-term decision (same 10)", one, f"{one_replaced} replacements"),
            ("one distinct-term decision, everywhere in the study", study_wide,
             f"{wide.replaced} replacements in {len(wide.transcripts)} transcripts")):
        m = statistics.median(times)
        print(f"{label}: {m:.2f} s (min {min(times):.2f}, max {max(times):.2f}; {replaced}; "
              f"{m / s:.2f}x the check; with the page's check afterwards {m + s:.2f} s)")


if __name__ == "__main__":
    main()
