"""Two coders writing at once — two processes adding and deleting hundreds of codings on the same
database — lose and duplicate nothing (SQLite: WAL + BEGIN IMMEDIATE + busy timeout)."""

import json
import subprocess
import sys

from workbench.access import LEAD_CLI
from workbench.codebook.study import import_codebook
from workbench.coding.assignments import assign
from workbench.coding.codings import list_codings
from workbench.privacy.anonymisation import release
from workbench.store import Study
from workbench.transcripts.study import FileInput, import_transcripts
from workbench.users import add_user

WORKER = r"""
import json, sys
from workbench.access import actor_for
from workbench.coding.codings import add_coding, delete_coding
from workbench.store import Study

url, coder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
study = Study.open(url)
with study.session() as session:
    actor = actor_for(session, coder)
kept = []
for n in range(count):
    start = n * 3
    coding = add_coding(study, actor, "long", "Trust", start, start + 2, memo=f"{coder} {n}")
    if n % 3 == 0:
        delete_coding(study, actor, coding)
    else:
        kept.append([start, start + 2])
print(json.dumps(kept))
"""


def test_two_processes_code_at_once_and_nothing_is_lost_or_duplicated(db_url):
    study = Study.open(db_url)
    import_codebook(study, LEAD_CLI, b"path\nTrust\n", "c.csv")
    import_transcripts(study, LEAD_CLI, [FileInput("long.txt", ("Amy: " + "word " * 400 + "\n").encode())])
    release(study, LEAD_CLI, ["long"], override="written for this test")
    for name in ("priya", "tom"):
        add_user(study, LEAD_CLI, name, "coder")
    assign(study, LEAD_CLI, ["long"], ["priya", "tom"])
    study.close()
    count = 300
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, db_url, name, str(count)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name in ("priya", "tom")]
    results = [w.communicate(timeout=600) for w in workers]
    for worker, (_out, err) in zip(workers, results):
        assert worker.returncode == 0, err
    expected = {name: sorted(map(tuple, json.loads(out))) for name, (out, _) in zip(("priya", "tom"), results)}
    study = Study.open(db_url)
    rows = list_codings(study, LEAD_CLI, transcript="long")
    for name in ("priya", "tom"):
        spans = sorted((r.start, r.end) for r in rows if r.coder == name)
        assert spans == expected[name]
        assert len(spans) == count - len(range(0, count, 3))
        memos = {r.memo for r in rows if r.coder == name}
        assert len(memos) == len(spans)  # every kept coding is its own row: no duplicates
    study.close()
