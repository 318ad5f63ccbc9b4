"""Generate the command reference in docs/cli.md from the commands' own `--help`.

    python scripts/cli_reference.py          # rewrite the reference in docs/cli.md
    python scripts/cli_reference.py --check  # exit 1 if docs/cli.md is stale

Only the part of docs/cli.md between the two marker lines is generated: an index of every
command, then one section per command with its `--help` output, in the order the commands
are defined in workbench/cli.py (a group, then its commands). Everything outside the markers
is written by hand. tests/test_docs.py fails when the file is stale, as sqlite-utils checks
its CLI reference.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "cli.md"
BEGIN = "<!-- BEGIN GENERATED REFERENCE -->"
END = "<!-- END GENERATED REFERENCE -->"
PROG = "workbench"
WIDTH = 100  # fixed, so the output does not depend on the terminal that runs the script


def walk(command: click.Command | None = None, parent: click.Context | None = None) -> Iterator[click.Context]:
    """A context for every visible command, depth first: a group, then its commands in the
    order they are defined. Contexts are chained as when the command runs, so usage lines and
    inherited settings (`-h, --help`, the width) are the real ones."""
    if command is None:
        from workbench.cli import cli as command
    if parent is None:
        ctx = click.Context(command, info_name=PROG, terminal_width=WIDTH, max_content_width=WIDTH,
                            **command.context_settings)
    else:
        ctx = click.Context(command, info_name=command.name, parent=parent, **command.context_settings)
    yield ctx
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            if not sub.hidden:
                yield from walk(sub, ctx)


def anchor(ctx: click.Context) -> str:
    """The heading's anchor on GitHub (command names are lower case letters and hyphens)."""
    return ctx.command_path.replace(" ", "-")


def summary(command: click.Command) -> str:
    """The first paragraph of a command's help, on one line (click's own short help stops at
    the first full stop, even in "e.g.")."""
    text = command.short_help or (command.help or "").split("\f", 1)[0].strip().split("\n\n", 1)[0]
    return " ".join(text.replace("\b", "").split()).replace("|", "\\|")


def render_reference() -> str:
    """The generated Markdown: what goes between the markers."""
    contexts = list(walk())
    lines = [
        "| command | what it does |",
        "|---|---|",
    ]
    for ctx in contexts[1:]:
        lines.append(f"| [`{ctx.command_path}`](#{anchor(ctx)}) | {summary(ctx.command)} |")
    for ctx in contexts:
        help_text = "\n".join(line.rstrip() for line in ctx.get_help().splitlines()).strip("\n")
        lines += ["", f"### {ctx.command_path}", "", "```text", help_text, "```"]
    return "\n".join(lines) + "\n"


def updated_document(text: str) -> str:
    """`text` (docs/cli.md) with the part between the markers replaced by the reference."""
    lines = text.splitlines()
    for marker in (BEGIN, END):
        if lines.count(marker) != 1:
            raise ValueError(f"the line {marker} must appear exactly once")
    if lines.index(END) < lines.index(BEGIN):
        raise ValueError(f"{END} comes before {BEGIN}")
    head, rest = text.split(f"{BEGIN}\n", 1)
    _, tail = rest.split(f"{END}\n", 1)
    return f"{head}{BEGIN}\n\n{render_reference()}\n{END}\n{tail}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print("usage: python scripts/cli_reference.py [--check]", file=sys.stderr)
        return 2
    shown = DOC.relative_to(ROOT) if DOC.is_relative_to(ROOT) else DOC
    current = DOC.read_text(encoding="utf-8")
    try:
        wanted = updated_document(current)
    except ValueError as exc:
        print(f"{shown}: {exc}", file=sys.stderr)
        return 2
    if args == ["--check"]:
        if current != wanted:
            print(f"{shown} is stale: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        DOC.write_text(wanted, encoding="utf-8", newline="\n")
        print(f"rewrote the command reference in {shown}")
    else:
        print(f"{shown} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
