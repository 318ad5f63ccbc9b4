"""Recall and precision of the anonymisation check per identifier type, on the synthetic
evaluation corpus in benchmarks/anonymisation_corpus (planted identifiers, annotated).

The development corpus was used while writing the rules; the held-out corpus was written
separately, by someone who had not seen them, and measures how the rules generalise.

A planted identifier is *found* when a finding overlaps it (whatever type the finding has: the
lead is shown it either way); a finding is *correct* when it overlaps a planted identifier.
Recall is per planted type, precision per finding type. `--details` lists misses and false
findings. Run: .venv/bin/python benchmarks/anonymisation_eval.py
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import Counter
from pathlib import Path

CORPORA = {"development": Path(__file__).with_name("anonymisation_corpus"),
           "held-out": Path(__file__).with_name("anonymisation_heldout")}
CORPUS = CORPORA["development"]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def annotations(corpus: Path = CORPUS) -> dict[str, list[tuple[int, int, str]]]:
    out: dict[str, list[tuple[int, int, str]]] = {}
    with open(corpus / "annotations.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = (corpus / row["file"]).read_text(encoding="utf-8")
            wanted = row["text"].replace("\\n", "\n")
            start = -1
            for _ in range(int(row["occurrence"])):
                start = text.index(wanted, start + 1)
            out.setdefault(Path(row["file"]).stem, []).append((start, start + len(wanted), row["type"]))
    return out


def evaluate(corpus: Path = CORPUS, details: bool = False) -> dict[str, dict[str, float]]:
    from workbench.access import LEAD_CLI
    from workbench.privacy.private_key import load_private_key
    from workbench.privacy.scan import scan_transcripts
    from workbench.store import Study
    from workbench.transcripts.participants import import_participants
    from workbench.transcripts.study import FileInput, import_transcripts

    with tempfile.TemporaryDirectory() as folder:
        study = Study.open(f"sqlite:///{folder}/eval.db")
        key_file = corpus / "participant_key.csv"
        import_participants(study, LEAD_CLI, key_file.read_bytes(), key_file.name)
        import_transcripts(study, LEAD_CLI, [FileInput.from_path(p) for p in sorted(corpus.glob("*.txt"))])
        findings = scan_transcripts(study, LEAD_CLI, key=load_private_key(corpus / "private_key.csv"))
        study.close()
    truth = annotations(corpus)
    found, planted, correct, reported = Counter(), Counter(), Counter(), Counter()
    for title, spans in truth.items():
        mine = [f for f in findings if f.transcript == title]
        for start, end, kind in spans:
            planted[kind] += 1
            hit = any(f.start < end and start < f.end for f in mine)
            found[kind] += hit
            if details and not hit:
                print(f"MISSED  {kind:12} {title}: {' '.join(truth_text(corpus, title, start, end).split())!r}")
        for f in mine:
            reported[f.type] += 1
            ok = any(f.start < end and start < f.end for start, end, _ in spans)
            correct[f.type] += ok
            if details and not ok:
                print(f"FALSE   {f.type:12} {title}: {f.text!r} ({f.rule}, {f.confidence})")
    kinds = sorted(set(planted) | set(reported))
    return {k: {"planted": planted[k], "recall": found[k] / planted[k] if planted[k] else float("nan"),
                "reported": reported[k], "precision": correct[k] / reported[k] if reported[k] else float("nan")}
            for k in kinds}


def truth_text(corpus: Path, title: str, start: int, end: int) -> str:
    return (corpus / f"{title}.txt").read_text(encoding="utf-8")[start:end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--details", action="store_true", help="list misses and false findings")
    parser.add_argument("--corpus", choices=list(CORPORA), help="one corpus only (default: both)")
    args = parser.parse_args()
    for name in [args.corpus] if args.corpus else list(CORPORA):
        results = evaluate(CORPORA[name], args.details)
        print(f"\n{name} corpus ({CORPORA[name].name})")
        print(f"{'type':14}{'planted':>8}{'recall':>8}{'reported':>10}{'precision':>11}")
        for kind, r in results.items():
            print(f"{kind:14}{r['planted']:>8}{r['recall']:>8.2f}{r['reported']:>10}{r['precision']:>11.2f}")


if __name__ == "__main__":
    main()
