"""REFI-QDA project import at scale: the sample study exported, copied four times over (new
titles and GUIDs) to a project of about 600,000 characters and ~2,800 codings, imported into a
fresh SQLite study; against spaCy alone on the same text in the same process (the import's
floor: every transcript is analysed as on any import). Also the export's time.

Run: .venv/bin/python benchmarks/refi_speed.py
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def scaled(data: bytes, copies: int) -> tuple[bytes, int, int]:
    """The project with each source (and its selections) repeated `copies` times."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    xml = archive.read("project.qde").decode("utf-8")
    sources = re.search(r"<Sources>(.*)</Sources>", xml, re.S)
    blocks, files = [], {}
    for k in range(copies):
        block = sources.group(1)
        for guid in set(re.findall(r'guid="([0-9a-f-]{36})"', block)):
            block = block.replace(guid, str(uuid.uuid5(uuid.NAMESPACE_OID, f"{guid}-{k}")))
        block = re.sub(r'(<TextSource[^>]*name=")([^"]+)"', rf'\g<1>\g<2>_copy{k}"', block)
        blocks.append(block)
        for name in archive.namelist():
            if name.startswith("sources/"):
                guid = name[len("sources/"):-4]
                text = archive.read(name) + f"\nInterviewer: (copy {k})\n".encode()  # a different text each time
                files[f"sources/{uuid.uuid5(uuid.NAMESPACE_OID, f'{guid}-{k}')}.txt"] = text
    xml = xml[:sources.start(1)] + "".join(blocks) + xml[sources.end(1):]
    xml = re.sub(r"<Notes>.*</Notes>", "", xml, flags=re.S)
    xml = re.sub(r"<NoteRef [^>]*/>", "", xml)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("project.qde", xml)
        for name, content in files.items():
            target.writestr(name, content)
    characters = sum(len(c.decode("utf-8")) for c in files.values())
    return out.getvalue(), characters, xml.count("<PlainTextSelection ")


def main() -> None:
    from workbench.access import LEAD_CLI
    from workbench.nlp import load_pipeline
    from workbench.refi.project import export_project, import_project
    from workbench.sample import load_sample_study
    from workbench.store import Study

    with tempfile.TemporaryDirectory() as folder:
        study = Study.open(f"sqlite:///{folder}/s.db")
        load_sample_study(study)
        t0 = time.perf_counter()
        data = export_project(study, LEAD_CLI)
        export_time = time.perf_counter() - t0
        study.close()
        big, characters, selections = scaled(data, 4)
        texts = [c.decode("utf-8") for n, c in ((n, zipfile.ZipFile(io.BytesIO(big)).read(n))
                 for n in zipfile.ZipFile(io.BytesIO(big)).namelist()) if n.startswith("sources/")]
        nlp = load_pipeline().nlp
        t0 = time.perf_counter()
        list(nlp.pipe([line for text in texts for line in text.split("\n") if line.strip()], batch_size=256))
        spacy_time = time.perf_counter() - t0
        fresh = Study.open(f"sqlite:///{folder}/fresh.db")
        t0 = time.perf_counter()
        report = import_project(fresh, LEAD_CLI, big, "big.qdpx")
        import_time = time.perf_counter() - t0
        fresh.close()
    print(f"export of the sample study: {export_time:.2f} s ({len(data):,} bytes)")
    print(f"project: {characters:,} characters, {selections:,} selections, {report.transcripts} sources; "
          f"imported {report.codings:,} codings, skipped {len(report.skipped)}")
    print(f"spaCy alone: {spacy_time:.1f} s   import: {import_time:.1f} s   ratio {import_time / spacy_time:.2f}")


if __name__ == "__main__":
    main()
