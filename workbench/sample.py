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

from .access import CODER, LEAD, VIEWER, Actor, actor_for
from .codebook.study import import_codebook, propose_code
from .codebook.versions import create_version
from .coding.assignments import assign, submit, unblind
from .coding.codings import import_codings, locate_quote
from .coding.memos import add_memo
from .csvio import read_rows
from .errors import ValidationError
from .privacy.anonymisation import allow_term, ignore_finding, release
from .privacy.scan import scan_transcripts
from .reconcile.study import carry_agreed, decide_item, reconcile_queue
from .store import Study
from .store.models import Transcript, User
from .suggest.study import accept, reject
from .transcripts.participants import import_participants
from .transcripts.study import FileInput, Progress, import_transcripts
from .users import add_user

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPTS = ROOT / "transcripts"
CODEBOOK = ROOT / "codebooks" / "early_help_codebook.yaml"
PARTICIPANT_KEY = TRANSCRIPTS / "participant_key.csv"
CODINGS = TRANSCRIPTS / "codings"
TRANSCRIPT_FORMATS = (".txt", ".docx", ".vtt", ".srt")
# Each sample transcript's own participant, for respondent labels such as `R:`.
OWNERS = {"S01_KW01": "KW01"}
SAMPLE_CODERS = ("priya", "tom")
ACCOUNTS = (("morgan", LEAD), *((name, CODER) for name in SAMPLE_CODERS), ("jo", VIEWER))
PROPOSED_CODES = TRANSCRIPTS / "proposed_codes.csv"
MEMOS = TRANSCRIPTS / "memos.csv"
# Both coders are assigned every transcript; all is submitted except these (tom is behind).
IN_PROGRESS = {("S03_CO01", "tom"), ("S04_SM01", "tom")}
# The lead has unblinded these; the first is fully reconciled (decisions in RECONCILE_DECISIONS),
# the second only has its identical spans carried into the consensus.
UNBLINDED = ("S01_KW01", "S02_KW02")
RECONCILE_DECISIONS = TRANSCRIPTS / "reconcile_decisions.csv"
# The lead's review of the anonymisation check: every finding in the sample is a false alarm.
ANONYMISATION_REVIEW = TRANSCRIPTS / "anonymisation_review.csv"
SUGGESTION_ANSWERS = TRANSCRIPTS / "suggestion_answers.csv"
FIRST_VERSION = "Initial codebook"


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
    actor = Actor("demo", LEAD)
    generated = {}
    for name, role in ACCOUNTS:
        generated[name] = (passwords or {}).get(name) or secrets.token_urlsafe(9)
        add_user(study, actor, name, role, password=generated[name])
    import_participants(study, actor, PARTICIPANT_KEY.read_bytes(), PARTICIPANT_KEY.name)
    import_codebook(study, actor, CODEBOOK.read_bytes(), CODEBOOK.name)
    create_version(study, actor, FIRST_VERSION, "as agreed before coding began")
    with study.session() as session:
        coders = {name: actor_for(session, name) for name in SAMPLE_CODERS}
    for _number, row in read_rows(PROPOSED_CODES.read_bytes(), PROPOSED_CODES.name, ("coder", "path")):
        parent, _, name = row["path"].rpartition("/")
        propose_code(study, coders[row["coder"]], name, parent or None, row.get("definition", ""))
    files = sample_files()
    inputs = [FileInput.from_path(f, participant=OWNERS.get(f.stem)) for f in files]
    import_transcripts(study, actor, inputs, progress=progress)
    titles = [f.stem for f in files]
    _review_anonymisation(study, actor, titles)
    assign(study, actor, titles, list(coders))
    for path in sorted(CODINGS.glob("*.csv")):
        import_codings(study, actor, path.read_bytes(), path.name, origin="sample")
    with study.session() as session:
        authors = {name: actor_for(session, name) for name, _role in ACCOUNTS}
    for _number, row in read_rows(MEMOS.read_bytes(), MEMOS.name, ("author", "text")):
        add_memo(study, authors[row["author"]], row["text"], row.get("transcript") or None,
                 row.get("code") or None, row.get("title", ""))
    for title in titles:
        for coder in coders.values():
            if (title, coder.name) not in IN_PROGRESS:
                submit(study, coder, title)
    for title in UNBLINDED:
        unblind(study, actor, title)
        carry_agreed(study, actor, title)
    _reconcile(study, actor)
    _answer_suggestions(study, coders)
    return SampleStudy(titles, generated)


def _review_anonymisation(study: Study, actor: Actor, titles: list[str]) -> None:
    """Review every finding of the anonymisation check as the file says, then release."""
    decisions = {(row["transcript"], row["text"]): row for _n, row in
                 read_rows(ANONYMISATION_REVIEW.read_bytes(), ANONYMISATION_REVIEW.name,
                           ("transcript", "text", "decision", "reason"))}
    for finding in scan_transcripts(study, actor, titles):
        row = decisions.get((finding.transcript, finding.text))
        if row is None:
            raise ValidationError(f"the anonymisation check reports a finding in {finding.transcript} at "
                                  f"{finding.start}–{finding.end} that {ANONYMISATION_REVIEW.name} does not review")
        if row["decision"] == "allow":
            allow_term(study, actor, finding.text, row["reason"])
        else:
            ignore_finding(study, actor, finding.transcript, finding.start, finding.end, finding.type, row["reason"])
    release(study, actor, titles)


def _answer_suggestions(study: Study, coders: dict[str, Actor]) -> None:
    """A coder's remembered answers to suggestions (the reason column is for the reader)."""
    for number, row in read_rows(SUGGESTION_ANSWERS.read_bytes(), SUGGESTION_ANSWERS.name,
                                 ("coder", "code", "transcript", "sentence", "decision")):
        with study.session() as session:
            text = session.scalar(select(Transcript.text).where(Transcript.title == row["transcript"]))
        spans = locate_quote(text or "", row["sentence"])
        if len(spans) != 1:
            raise ValidationError(f"the sentence is found {len(spans)} times in {row['transcript']}",
                                  f"{SUGGESTION_ANSWERS.name}, row {number}")
        start, end = spans[0]
        if row["decision"] == "reject":
            reject(study, coders[row["coder"]], row["code"], row["transcript"], start, end)
        else:
            accept(study, coders[row["coder"]], row["code"], row["transcript"], start, end)


def _reconcile(study: Study, actor: Actor) -> None:
    """Apply the lead's recorded decisions, each found by its kind, passage and one of its codes."""
    for number, row in read_rows(RECONCILE_DECISIONS.read_bytes(), RECONCILE_DECISIONS.name,
                                 ("transcript", "kind", "start", "end", "code", "decision")):
        queue = reconcile_queue(study, actor, row["transcript"])
        found = [q for q in queue.items if q.item.kind == row["kind"] and q.item.start == int(row["start"])
                 and q.item.end == int(row["end"]) and row["code"] in q.item.codes]
        if len(found) != 1:
            raise ValidationError(f"matches {len(found)} reconcile items, not one", f"{RECONCILE_DECISIONS.name}, row {number}")
        how, _, what = row["decision"].partition(":")
        keep, spans = None, None
        if how == "keep":
            keep = [what]
        elif how == "both":
            keep = queue.coders
        elif how == "neither":
            keep = []
        else:
            code, _, where = what.rpartition("@")
            start, end = where.split("-")
            spans = [(code, int(start), int(end))]
        decide_item(study, actor, row["transcript"], found[0].key, keep=keep, spans=spans,
                    rationale=row.get("rationale", ""))
