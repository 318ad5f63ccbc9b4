"""Import limits: time and peak memory of large and hostile files (the "Hardening" review).

Each measurement runs in a fresh child process (so one's memory does not hide another's) and the
parent polls the child's peak resident memory (`VmHWM`) until it ends or the time limit stops
it. The baseline, in the same way, is a child that only opens a study and loads the NLP pipeline,
so "peak" minus the baseline is what the file itself cost.

- canonicalisation of a 5 MB text (CRLF line ends, decomposed accents, an emoji on each line):
  seconds, and peak bytes per character (tracemalloc);
- `.txt` imports of 5 MB and 20 MB (refused since the limit of 2,000,000 characters) and one of
  exactly 2,000,000 characters (the largest accepted);
- a 71 KB `.qdpx` whose one source inflates to 20 MB, and a 1 MB `.docx` whose thumbnail
  inflates to 1 GB.

Run: .venv/bin/python benchmarks/import_limits.py [--timeout 900] [--tree PATH] [--only NAME ...]
`--tree` measures the `workbench` package of another checkout (e.g. the commit before the
limits: `git archive <commit> workbench | tar -x -C /tmp/before`, then `--tree /tmp/before`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
LINE = "Amy: The caf\u0065\u0301 was na\u00efve, I said \u201cfine\u201d \U0001F600 and we went home after.\r\n"


def interview(size: int) -> str:
    """About `size` bytes of UTF-8 transcript: speaker turns, CRLF, a decomposed accent per line."""
    turns, n = [], 0
    while n < size:
        turn = (f"Interviewer: And then, question {len(turns)}?\r\n" if len(turns) % 2 == 0
                else LINE.replace("Amy:", "Amy:" + " ok" * (len(turns) % 7)))
        turns.append(turn)
        n += len(turn.encode("utf-8"))
    return "".join(turns)


def exactly(characters: int) -> str:
    text = interview(characters * 2)
    return text[:characters]


def qdpx_bomb() -> bytes:
    out = io.BytesIO()
    xml = ('<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="p">'
           '<Sources><TextSource guid="33333333-3333-4333-8333-333333333333" name="T1" '
           'plainTextPath="internal://t1.txt"/></Sources></Project>')
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("project.qde", xml)
        info = zipfile.ZipInfo("sources/t1.txt")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as member:
            line = b"Amy: I was fine.\n" * (MB // 17)
            for _ in range(20):
                member.write(line)
    return out.getvalue()


def docx_thumbnail_bomb() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Amy: She rang back every time.")
    plain = io.BytesIO()
    document.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if item.filename != "docProps/thumbnail.jpeg":
                target.writestr(item.filename, source.read(item.filename))
                continue
            info = zipfile.ZipInfo(item.filename)
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w", force_zip64=True) as member:
                zeros = bytes(MB)
                for _ in range(1024):
                    member.write(zeros)
    return out.getvalue()


# --- the child: one measurement ----------------------------------------------------------------

def child(kind: str, path: str) -> dict:
    from workbench import nlp
    from workbench.access import LEAD_CLI
    from workbench.errors import WorkbenchError
    from workbench.store import Study

    if kind == "canonical":
        import tracemalloc

        from workbench.canonical import canonicalize

        with open(path, encoding="utf-8", newline="") as handle:
            raw = handle.read()
        start = time.perf_counter()
        canonicalize(raw)
        seconds = time.perf_counter() - start
        tracemalloc.start()
        canonicalize(raw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"seconds": seconds, "outcome": f"{peak / len(raw):.1f} bytes a character (tracemalloc peak)",
                "characters": len(raw)}
    nlp.load_pipeline()
    with tempfile.TemporaryDirectory() as folder:
        study = Study.open(f"sqlite:///{Path(folder) / 'bench.db'}")
        start = time.perf_counter()
        try:
            if kind == "baseline":
                outcome = "opened a study, loaded the pipeline"
            elif kind == "qdpx":
                from workbench.refi.project import import_project

                report = import_project(study, LEAD_CLI, Path(path).read_bytes(), Path(path).name)
                outcome = f"imported {report.transcripts} transcripts; skipped: {'; '.join(report.skipped) or '-'}"
            else:
                from workbench.transcripts.study import FileInput, import_transcripts

                report = import_transcripts(study, LEAD_CLI, [FileInput.from_path(path)])
                outcome = f"imported {len(report.transcripts)} transcript ({report.transcripts[0].segments:,} segments)"
        except WorkbenchError as error:
            outcome = f"refused: {error}"
        except Exception as error:  # the "before" code fails some files with a traceback
            outcome = f"failed: {type(error).__name__}: {str(error)[:120]}"
        seconds = time.perf_counter() - start
        study.close()
    return {"seconds": seconds, "outcome": outcome}


# --- the parent ---------------------------------------------------------------------------------

def peak_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(kind: str, path: str, timeout: float, tree: str | None) -> dict:
    env = dict(os.environ, WORKBENCH_NLP_PROCESSES=os.environ.get("WORKBENCH_NLP_PROCESSES", "1"))
    if tree:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", kind, path], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, peak_rss(process.pid))
        if time.perf_counter() - started > timeout:
            process.kill()
            process.wait()
            return {"seconds": timeout, "outcome": f"stopped after {timeout:.0f} s", "peak_mb": peak / MB}
        time.sleep(0.2)
    out, err = process.communicate()
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"seconds": time.perf_counter() - started, "outcome": f"crashed: {err.strip()[-200:]}"}
    result["peak_mb"] = peak / MB
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a child is stopped")
    parser.add_argument("--tree", help="a checkout whose workbench package to measure")
    parser.add_argument("--only", nargs="*", help="names of the measurements to run")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files = {
            "canonicalise 5 MB": ("canonical", lambda p: p.write_bytes(interview(5 * MB).encode("utf-8"))),
            "baseline": ("baseline", lambda p: p.write_text("")),
            "txt 5 MB": ("txt", lambda p: p.write_bytes(interview(5 * MB).encode("utf-8"))),
            "txt 20 MB": ("txt", lambda p: p.write_bytes(interview(20 * MB).encode("utf-8"))),
            "txt 2,000,000 characters": ("txt", lambda p: p.write_bytes(exactly(2_000_000).encode("utf-8"))),
            "qdpx: 20 MB source": ("qdpx", lambda p: p.write_bytes(qdpx_bomb())),
            "docx: 1 GB thumbnail": ("txt", lambda p: p.write_bytes(docx_thumbnail_bomb())),
        }
        suffix = {"qdpx: 20 MB source": ".qdpx", "docx: 1 GB thumbnail": ".docx"}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"workbench from {args.tree or ROOT}")
        for name, (kind, make) in files.items():
            if args.only and name not in args.only:
                continue
            path = folder / (name.split(":")[0].replace(" ", "_").replace(",", "") + suffix.get(name, ".txt"))
            make(path)
            result = measure(kind, str(path), args.timeout, args.tree)
            print(f"{name:28} {path.stat().st_size / MB:8.2f} MB file  {result['seconds']:8.2f} s  "
                  f"peak {result['peak_mb']:7.0f} MB  {result['outcome'][:300]}", flush=True)


if __name__ == "__main__":
    main()
