"""SQLAlchemy models: the study's data model. One database holds one study.

Every span (turn, segment, coding, entity) is `[start, end)` in Unicode code points into
`Transcript.text`, the canonical text. See ARCHITECTURE.md for the picture.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_guid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


ROLES = ("lead", "coder", "viewer")
# The consensus coding is stored as its own coder: a user with this role, no password, who
# cannot sign in (see `workbench.reconcile.study`).
CONSENSUS_ROLE = "consensus"
CONSENSUS_NAME = "consensus"


class User(Base):
    """An account. Coders, leads and viewers; `role` decides what they may see and do."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (CheckConstraint("role IN ('lead', 'coder', 'viewer', 'consensus')", name="role"),)


class Participant(Base):
    """A person in the participant key, known only by pseudonym."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str | None] = mapped_column(String(100))
    group: Mapped[str | None] = mapped_column("group_name", String(100))
    age: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)


class ParticipantLink(Base):
    """An undirected relation between two participants (a mother and her child).
    Stored once per pair with `participant_id < linked_id`."""

    __tablename__ = "participant_links"
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    linked_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    __table_args__ = (CheckConstraint("participant_id < linked_id", name="ordered"),)


class Transcript(Base):
    """One interview or focus group: canonical text plus where it came from."""

    __tablename__ = "transcripts"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    source_filename: Mapped[str] = mapped_column(String(500))
    source_format: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    segmenter: Mapped[str] = mapped_column(String(100))
    nlp_pipeline: Mapped[str] = mapped_column(String(100))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    unblinded_at: Mapped[datetime | None] = mapped_column(DateTime)
    unblinded_by: Mapped[str | None] = mapped_column(String(100))
    # Released to coders once a lead reviewed the anonymisation check (or overrode it, with a reason).
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    review_note: Mapped[str] = mapped_column(Text, default="")
    # Counts edits of `text` after import (replacements, corrections): views cache by it.
    revision: Mapped[int] = mapped_column(Integer, default=0)

    turns: Mapped[list[Turn]] = relationship(
        back_populates="transcript", order_by="Turn.index", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Turn(Base):
    """A speaker turn: `[start, end)` covers label and talk; the talk starts at `text_start`."""

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column("idx", Integer)
    start: Mapped[int] = mapped_column(Integer)
    text_start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str | None] = mapped_column(String(100))
    is_interviewer: Mapped[bool] = mapped_column(Boolean, default=False)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    time_start: Mapped[float | None] = mapped_column(Float)
    time_end: Mapped[float | None] = mapped_column(Float)

    transcript: Mapped[Transcript] = relationship(back_populates="turns")
    segments: Mapped[list[Segment]] = relationship(
        back_populates="turn", order_by="Segment.index", cascade="all, delete-orphan",
        passive_deletes=True,
    )
    __table_args__ = (
        UniqueConstraint("transcript_id", "idx", name="uq_turns_position"),
        CheckConstraint("start <= text_start AND text_start <= \"end\"", name="span"),
    )


class Segment(Base):
    """A sentence inside a turn's talk: the default unit for coding and agreement.
    `lemmas` holds `[[start, end, lemma], ...]` of its tokens (absolute offsets) for search."""

    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column("idx", Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    lemmas: Mapped[list] = mapped_column(JSON, default=list)

    turn: Mapped[Turn] = relationship(back_populates="segments")
    __table_args__ = (
        UniqueConstraint("transcript_id", "idx", name="uq_segments_position"),
        CheckConstraint("start < \"end\"", name="span"),
    )


class Entity(Base):
    """A named entity found by the NLP pass at import (input to the anonymisation check)."""

    __tablename__ = "entities"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(20))


class Token(Base):
    """The lemma index: one row per word of talk, written at import (search finds "rang" when
    asked for "ring" through `lemma`)."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # word number within the transcript
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    lemma: Mapped[str] = mapped_column(String(100))
    __table_args__ = (
        Index("ix_tokens_lemma", "lemma"),
        Index("ix_tokens_transcript_position", "transcript_id", "position"),
    )


class Code(Base):
    """A code in the hierarchical codebook (theme → sub-theme → ...)."""

    __tablename__ = "codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("codes.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, default="")
    inclusion: Mapped[str] = mapped_column(Text, default="")
    exclusion: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[str] = mapped_column(Text, default="")
    color: Mapped[str] = mapped_column(String(7))
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    # A code a coder proposed while coding: visible to its author and to leads until a lead
    # accepts it (then NULL) — the Reconciliation issue owns accepting.
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Set when a lead merged this code into another: it is then retired, kept for history.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("codes.id", ondelete="SET NULL"))

    parent: Mapped[Code | None] = relationship(remote_side="Code.id", back_populates="children",
                                               foreign_keys="Code.parent_id")
    children: Mapped[list[Code]] = relationship(back_populates="parent", order_by="Code.position",
                                                foreign_keys="Code.parent_id")
    __table_args__ = (CheckConstraint("name NOT LIKE '%/%'", name="name_no_slash"),)


class Coding(Base):
    """One coder's application of one code to a span of one transcript."""

    __tablename__ = "codings"
    id: Mapped[int] = mapped_column(primary_key=True)
    coder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("codes.id", ondelete="RESTRICT"), index=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(20), default="manual")
    # 1 = coded blind; a coding added after its transcript was unblinded has round 2.
    round: Mapped[int] = mapped_column(Integer, default=1)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when an edit of the transcript's text cut through this coding's span (review it).
    flag: Mapped[str | None] = mapped_column(String(200))
    # A consensus coding records the reconcile decision that produced it (deleted with it).
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("reconcile_decisions.id", ondelete="CASCADE"), index=True
    )

    coder: Mapped[User] = relationship()
    code: Mapped[Code] = relationship()
    transcript: Mapped[Transcript] = relationship()
    __table_args__ = (
        CheckConstraint("0 <= start AND start < \"end\"", name="span"),
        UniqueConstraint("coder_id", "code_id", "transcript_id", "start", "end",
                         name="uq_codings_same_span"),
        Index("ix_codings_transcript_coder", "transcript_id", "coder_id"),
    )


class Memo(Base):
    """A memo on the project (no target), a transcript or a code. Memos on a single coding are
    that coding's `memo`. Visibility follows blindness (see `workbench.coding.memos`)."""

    __tablename__ = "memos"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    transcript_id: Mapped[int | None] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    code_id: Mapped[int | None] = mapped_column(ForeignKey("codes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    author: Mapped[User] = relationship()
    transcript: Mapped[Transcript | None] = relationship()
    code: Mapped[Code | None] = relationship()


ASSIGNMENT_STATUSES = ("assigned", "submitted")


class Assignment(Base):
    """A coder's assignment to code one transcript. After submission the coder's codings on
    it are frozen until a lead reopens it."""

    __tablename__ = "assignments"
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), primary_key=True
    )
    coder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="assigned")
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    assigned_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)

    transcript: Mapped[Transcript] = relationship()
    coder: Mapped[User] = relationship()
    __table_args__ = (CheckConstraint("status IN ('assigned', 'submitted')", name="status"),)


class AuditEntry(Base):
    """Who changed what and when. `detail` names objects by title/name/position, never
    quotes transcript text."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ReconcileDecision(Base):
    """A lead's decision on one reconcile item (a place where the coders differ, or a span they
    gave identically). `coding_guids` and `signature` pin down the coders' codings it was made
    on: when a codebook change re-points them, the signature no longer matches and the item is
    flagged for review. The consensus codings it produced point back here."""

    __tablename__ = "reconcile_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    item_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    coding_guids: Mapped[list] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(20))
    choice: Mapped[str] = mapped_column(String(20))
    kept: Mapped[list] = mapped_column(JSON, default=list)  # coder names whose codings were kept
    rationale: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("transcript_id", "item_key", name="uq_reconcile_decisions_item"),
        CheckConstraint("choice IN ('agreed', 'keep', 'neither', 'edit')", name="choice"),
    )


class CodebookVersion(Base):
    """A named snapshot of the codebook a lead made (e.g. "after round 1"); `snapshot` holds
    every code with its GUID, parent GUID, name, definition fields, colour and state."""

    __tablename__ = "codebook_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    snapshot: Mapped[list] = mapped_column(JSON, default=list)


class AllowedTerm(Base):
    """A term the anonymisation check never reports in this study (e.g. a programme's name)."""

    __tablename__ = "allowed_terms"
    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(200), unique=True)  # casefolded, whitespace normalised
    reason: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IgnoredFinding(Base):
    """One finding a lead decided is not an identifier, with the reason. Its span moves with
    edits of the text like a coding's."""

    __tablename__ = "ignored_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    ignored_by: Mapped[str] = mapped_column(String(100))
    ignored_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FrameworkSummary(Base):
    """The lead's summary of what one participant says about one theme: a cell of the
    Framework matrix (cases × themes)."""

    __tablename__ = "framework_summaries"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("codes.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("participant_id", "code_id", name="uq_framework_summaries_cell"),)


class Embedding(Base):
    """A sentence-embedding vector (float32 bytes) of one text under one model: derived data,
    shared by every segment, window or turn with the same text (see `workbench.suggest.embeddings`)."""

    __tablename__ = "embeddings"
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class SuggestionDecision(Base):
    """A coder's answer to one suggested sentence for one code. Rejections are remembered (never
    suggested again, and used as negative examples); acceptances also create a coding with origin
    "suggestion". The sentence is found again by its offsets and text hash (by the hash alone
    when an edit moved it and the text is unique in the transcript)."""

    __tablename__ = "suggestion_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    coder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("codes.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    text_hash: Mapped[str] = mapped_column(String(64))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(10))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("coder_id", "code_id", "transcript_id", "start", "text_hash",
                         name="uq_suggestion_decisions_sentence"),
        CheckConstraint("decision IN ('accepted', 'rejected')", name="decision"),
    )


class StudySecret(Base):
    """A secret of this study, made when the database is created. `text_hash_key` keys every
    stored text hash (HMAC-SHA-256: segments, transcripts, embeddings, suggestion decisions), so
    a hash copied out of the database cannot be tested against guessed sentences."""

    __tablename__ = "study_secrets"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
