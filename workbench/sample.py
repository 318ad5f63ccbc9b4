"""The sample study: synthetic transcripts, participant key, codebook, two coders' codings.

`load_sample_study` is the one loader the demo, the tests and the benchmarks use. The data
lives in the repository (`transcripts/`, `codebooks/`); all of it was written for this
project and describes no real person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from .access import Actor, actor_for
from .assignments import assign, submit
from .codebook import import_codebook, propose_code
from .csvio import read_rows
from .memos import add_memo
from .codings import import_codings
from .errors import ValidationError
from .participants import import_participants
from .store import Study
from .store.models import Transcript, User
from .transcripts import FileInput, Progress, import_transcripts
from .users import add_user

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPTS = ROOT / "transcripts"
CODEBOOK = ROOT / "codebooks" / "early_help_codebook.yaml"
PARTICIPANT_KEY = TRANSCRIPTS / "participant_key.csv"
CODINGS = TRANSCRIPTS / "codings"
TRANSCRIPT_FORMATS = (".txt", ".docx", ".vtt", ".srt")
# Each sample transcript's own participant, for respondent labels such as `R:`.
OWNERS = {"S01_KW01": "KW01"}
ACCOUNTS = (("morgan", "lead"), ("priya", "coder"), ("tom", "coder"), ("jo", "viewer"))
PROPOSED_CODES = TRANSCRIPTS / "proposed_codes.csv"
MEMOS = TRANSCRIPTS / "memos.csv"
# Both coders are assigned every transcript; all is submitted except these (tom is behind).
IN_PROGRESS = {("S03_CO01", "tom"), ("S04_SM01", "tom")}


@dataclass
class SampleStudy:
    transcripts: list[str]
    passwords: dict[str, str] = field(default_factory=dict)


def sample_files() -> list[Path]:
    return sorted(p for p in TRANSCRIPTS.iterdir() if p.suffix in TRANSCRIPT_FORMATS)


def has_study(study: Study) -> bool:
    """True if the database holds any transcript or account."""
    with study.session() as session:
        return bool(session.scalar(select(func.count()).select_from(Transcript))
                    or session.scalar(select(func.count()).select_from(User)))


def load_sample_study(study: Study, progress: Progress | None = None,
                      passwords: dict[str, str] | None = None) -> SampleStudy:
    """Build the sample study into an empty study database. Accounts get generated
    passwords (returned, never stored in clear) unless `passwords` gives them."""
    if has_study(study):
        raise ValidationError("the database already holds a study; the sample study needs an empty one")
    with study.transaction():
        return _load(study, progress, passwords)


def _load(study: Study, progress: Progress | None, passwords: dict[str, str] | None) -> SampleStudy:
    actor = Actor("demo", "lead")
    generated = {}
    for name, role in ACCOUNTS:
        generated[name] = (passwords or {}).get(name) or secrets.token_urlsafe(9)
        add_user(study, name, role, password=generated[name], actor=actor)
    import_participants(study, PARTICIPANT_KEY.read_bytes(), PARTICIPANT_KEY.name, actor=actor)
    import_codebook(study, CODEBOOK.read_bytes(), CODEBOOK.name, actor=actor)
    with study.session() as session:
        coders = {name: actor_for(session, name) for name, role in ACCOUNTS if role == "coder"}
    for _number, row in read_rows(PROPOSED_CODES.read_bytes(), PROPOSED_CODES.name, ("coder", "path")):
        parent, _, name = row["path"].rpartition("/")
        propose_code(study, coders[row["coder"]], name, parent or None, row.get("definition", ""))
    files = sample_files()
    inputs = [FileInput.from_path(f, participant=OWNERS.get(f.stem)) for f in files]
    import_transcripts(study, inputs, actor=actor, progress=progress)
    titles = [f.stem for f in files]
    assign(study, actor, titles, list(coders))
    for path in sorted(CODINGS.glob("*.csv")):
        import_codings(study, path.read_bytes(), path.name, actor=actor, origin="sample")
    with study.session() as session:
        authors = {name: actor_for(session, name) for name, _role in ACCOUNTS}
    for _number, row in read_rows(MEMOS.read_bytes(), MEMOS.name, ("author", "text")):
        add_memo(study, authors[row["author"]], row["text"], row.get("transcript") or None,
                 row.get("code") or None, row.get("title", ""))
    for title in titles:
        for coder in coders.values():
            if (title, coder.name) not in IN_PROGRESS:
                submit(study, coder, title)
    return SampleStudy(titles, generated)
