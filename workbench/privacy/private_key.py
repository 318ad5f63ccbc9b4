"""The private key: real names (and other identifiers) mapped to the pseudonym or placeholder
that replaces them, e.g. `Kyle` → `[child]`.

It is the most sensitive data in a study, so it never enters the project database, exports,
REFI files, the audit trail or logs. It lives in memory for one review session, and in its own
CSV file (`real_name`, `replacement`) only when the lead chooses to keep it there
(`WORKBENCH_PRIVATE_KEY` or `--key FILE`). With the file, replacements stay consistent across
sessions; without it, within one session.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..csvio import read_rows, write_rows
from ..errors import ValidationError
from .identifiers import normalise_term

ENV_KEY = "WORKBENCH_PRIVATE_KEY"
COLUMNS = ("real_name", "replacement")


@dataclass
class PrivateKey:
    """Real name → replacement, matched case-insensitively with whitespace normalised."""

    entries: dict[str, str] = field(default_factory=dict)  # real name (as first written) -> replacement
    path: Path | None = None

    def lookup(self, real: str) -> str | None:
        wanted = normalise_term(real)
        for name, replacement in self.entries.items():
            if normalise_term(name) == wanted:
                return replacement
        return None

    def remember(self, real: str, replacement: str) -> None:
        """Record a replacement; the same real name must keep its replacement."""
        real, replacement = " ".join(real.split()), replacement.strip()
        if not real or not replacement:
            raise ValidationError("a private key entry needs a real name and its replacement")
        known = self.lookup(real)
        if known is not None and known != replacement:
            raise ValidationError(f"this name is already replaced by {known!r} elsewhere in the study; "
                                  "use the same replacement (or change the key file)")
        if known is None:
            self.entries[real] = replacement

    def names(self) -> list[str]:
        return list(self.entries)

    def save(self) -> None:
        """Write the key to its file (atomically, readable by the owner only)."""
        if self.path is None:
            return
        data = write_rows(list(COLUMNS), [{"real_name": k, "replacement": v} for k, v in self.entries.items()])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".private-key-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(data)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def load_private_key(path: str | Path | None = None) -> PrivateKey:
    """The key in `path` (or `WORKBENCH_PRIVATE_KEY`); an empty in-memory key when neither is
    given. A named file that does not exist yet starts empty and is created on save."""
    chosen = path or os.environ.get(ENV_KEY)
    if not chosen:
        return PrivateKey()
    file = Path(chosen)
    key = PrivateKey(path=file)
    if file.exists():
        for number, row in read_rows(file.read_bytes(), file.name, required=COLUMNS):
            try:
                key.remember(row["real_name"], row["replacement"])
            except ValidationError as error:
                raise ValidationError(str(error), f"{file.name}, row {number}") from None
    return key
