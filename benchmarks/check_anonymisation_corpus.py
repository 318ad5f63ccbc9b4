#!/usr/bin/env python3
"""Validate the synthetic anonymisation evaluation corpora (standard library only).

Usage: python3 benchmarks/check_anonymisation_corpus.py [FOLDER...]
(default: both anonymisation_corpus/ and anonymisation_heldout/).

Checks that every row of annotations.csv can be located in its transcript
(the n-th occurrence of the exact text, with a literal backslash-n in the CSV
meaning a line break), that no two annotations start at the same offset of
the same file, that every transcript has at least one annotation, and that
every speaker label is listed in participant_key.csv. Prints counts per type
on success; exits 1 and lists the problems otherwise.
"""
import csv
import re
import sys
from collections import Counter
from pathlib import Path

CORPORA = [Path(__file__).resolve().parent / name for name in ("anonymisation_corpus", "anonymisation_heldout")]
TYPES = {"name", "place", "school", "organisation", "phone", "email",
         "postcode", "url", "date"}
COLUMNS = ["file", "type", "text", "occurrence", "note"]
LABEL = re.compile(r"^([A-Z][A-Za-z]*): ")


def nth_start(content, text, n):
    """Start offset of the n-th (1-based) occurrence, counting overlaps."""
    pos = -1
    for _ in range(n):
        pos = content.find(text, pos + 1)
        if pos == -1:
            return None
    return pos


def check(HERE):
    """0 if the corpus in folder HERE is consistent, else 1 (problems on stderr)."""
    errors = []
    transcripts = {p.name: p.read_text(encoding="utf-8")
                   for p in sorted(HERE.glob("[A-Z][0-9][0-9]_*.txt"))}
    if not transcripts:
        errors.append("no transcripts (X00_*.txt) found")

    with open(HERE / "participant_key.csv", encoding="utf-8", newline="") as f:
        pseudonyms = {r["pseudonym"] for r in csv.DictReader(f)}

    with open(HERE / "annotations.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            errors.append(f"annotations.csv columns {reader.fieldnames} != {COLUMNS}")
        rows = list(reader)

    seen = {}
    counts = Counter()
    per_file = Counter()
    for lineno, row in enumerate(rows, start=2):
        where = f"annotations.csv line {lineno} ({row.get('file')}, {row.get('text')!r})"
        if row["file"] not in transcripts:
            errors.append(f"{where}: unknown file")
            continue
        if row["type"] not in TYPES:
            errors.append(f"{where}: unknown type {row['type']!r}")
        try:
            n = int(row["occurrence"])
            assert n >= 1
        except (ValueError, AssertionError):
            errors.append(f"{where}: bad occurrence {row['occurrence']!r}")
            continue
        text = row["text"].replace("\\n", "\n")
        if not text.strip():
            errors.append(f"{where}: empty text")
            continue
        if row["type"] == "name" and text in pseudonyms:
            errors.append(f"{where}: speaker pseudonym annotated as a name")
        start = nth_start(transcripts[row["file"]], text, n)
        if start is None:
            errors.append(f"{where}: occurrence {n} not found")
            continue
        key = (row["file"], start)
        if key in seen:
            errors.append(f"{where}: duplicate of line {seen[key]} (same file and start {start})")
        seen[key] = lineno
        counts[row["type"]] += 1
        per_file[row["file"]] += 1

    for name, content in transcripts.items():
        if per_file[name] == 0:
            errors.append(f"{name}: no annotations")
        for i, line in enumerate(content.splitlines(), start=1):
            m = LABEL.match(line)
            if m and m.group(1) not in pseudonyms:
                errors.append(f"{name} line {i}: speaker label {m.group(1)!r} not in participant_key.csv")

    if errors:
        print(f"{len(errors)} problem(s):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1

    print(f"OK: {sum(counts.values())} annotations in {len(transcripts)} files")
    for t in sorted(TYPES, key=lambda t: (-counts[t], t)):
        print(f"  {t:<13}{counts[t]:>4}")
    return 0


def main(folders):
    results = []
    for folder in folders or CORPORA:
        print(f"{Path(folder).name}:")
        results.append(check(Path(folder)))
    return max(results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
