"""Domain errors: every mistake a user can make surfaces as one of these, with a message
fit to print as one line (the CLI prints it without a traceback)."""

from __future__ import annotations


class WorkbenchError(Exception):
    """A user-facing error. `where` names the file, row or line at fault, if any."""

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InputError(WorkbenchError):
    """Bad input file: unreadable, empty, wrong format. Nothing of the import is written."""


class ValidationError(WorkbenchError):
    """Input that parses but breaks a rule (duplicate name, missing parent, bad offsets)."""


class NotFound(WorkbenchError):
    """A transcript, code, participant or user named by the caller does not exist."""
