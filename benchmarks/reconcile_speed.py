"""How long the Reconcile page's queue takes to build (items, statuses, consensus) per
transcript of the sample study, against reading the same transcript's codings alone in the
same process (the floor: `list_codings`).

Run: .venv/bin/python benchmarks/reconcile_speed.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(repeats: int = 5) -> None:
    from workbench.access import LEAD_CLI
    from workbench.coding.assignments import unblind
    from workbench.coding.codings import list_codings
    from workbench.reconcile.study import carry_agreed, reconcile_queue
    from workbench.sample import UNBLINDED, load_sample_study
    from workbench.store import Study

    with tempfile.TemporaryDirectory() as folder:
        study = Study.open(f"sqlite:///{folder}/s.db")
        titles = load_sample_study(study).transcripts
        for title in titles:
            if title not in UNBLINDED:
                unblind(study, LEAD_CLI, title, force=True)
            carry_agreed(study, LEAD_CLI, title)
        queue_times, read_times, items = [], [], 0
        for title in titles:
            q, r = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                queue = reconcile_queue(study, LEAD_CLI, title)
                q.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                list_codings(study, LEAD_CLI, transcript=title)
                r.append(time.perf_counter() - t0)
            queue_times.append(statistics.median(q))
            read_times.append(statistics.median(r))
            items += len(queue.items)
        study.close()
    worst = max(range(len(titles)), key=lambda k: queue_times[k])
    print(f"{len(titles)} transcripts, {items} reconcile items in all")
    print(f"queue build: median {statistics.median(queue_times) * 1000:.0f} ms, slowest "
          f"{queue_times[worst] * 1000:.0f} ms ({titles[worst]})")
    print(f"reading the codings alone: median {statistics.median(read_times) * 1000:.0f} ms; "
          f"ratio {statistics.median(queue_times) / statistics.median(read_times):.2f}")


if __name__ == "__main__":
    main()
