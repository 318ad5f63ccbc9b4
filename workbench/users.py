"""Accounts: name, role (lead, coder, viewer), optional e-mail, argon2 password hash.
An account without a password cannot log in to the app."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .access import CODER, LEAD, AccessDenied, Actor, require, with_role
from .audit import record
from .errors import NotFound, ValidationError
from .store import Study
from .store.models import CONSENSUS_NAME, CONSENSUS_ROLE, ROLES, User

_NAME = re.compile(r"^[\w.@\- ]{1,100}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def add_user(study: Study, actor: Actor, name: str, role: str, password: str | None = None,
             email: str | None = None) -> User:
    require(actor, "manage_accounts")
    name = name.strip()
    if not _NAME.match(name):
        raise ValidationError(f"user name {name!r} must be 1–100 letters, digits, spaces or . @ - _")
    check_role(role)
    if name.lower() == CONSENSUS_NAME:
        raise ValidationError(f"{CONSENSUS_NAME!r} is reserved for the reconciled coding")
    with study.transaction() as session:
        clash = session.scalar(select(User.name).where(func.lower(User.name) == name.lower()))
        if clash:
            raise ValidationError(f"a user named {clash!r} already exists")
        if email and session.scalar(select(User.id).where(User.email == email)):
            raise ValidationError(f"the e-mail {email!r} already belongs to another user")
        user = User(name=name, role=role, email=email or None,
                    password_hash=_hasher.hash(check_password(password)) if password else None)
        session.add(user)
        record(session, actor.signature, "user.add", user=name, role=role)
    return user


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def ensure_coder(session: Session, name: str) -> tuple[User, bool]:
    """The user `name`, created as a coder without a password if absent (codings imported from
    spreadsheets name their coders). Returns (user, created)."""
    user = session.scalar(select(User).where(User.name == name))
    if user is not None:
        return user, False
    if not _NAME.match(name):
        raise ValidationError(f"coder name {name!r} must be 1–100 letters, digits, spaces or . @ - _")
    user = User(name=name, role=CONSENSUS_ROLE if name == CONSENSUS_NAME else CODER)
    session.add(user)
    session.flush()
    return user, True


def verify_password(user: User | None, password: str) -> bool:
    """Whether `password` is `user`'s. Costs one argon2 verification whether or not the account
    exists or has a password, so the time taken does not tell which names exist."""
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        return _hasher.verify(stored or _decoy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def session_fingerprint(study: Study, name: str) -> str | None:
    """Changes when the account's password is set or reset (or the account goes): a signed-in
    session that recorded it at sign-in ends when it no longer matches."""
    with study.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            return None
        return hashlib.sha256(f"{user.id}:{user.role}:{user.password_hash}".encode()).hexdigest()[:32]


class SignInThrottle:
    """Failed sign-ins, per name and per client (an address), in this server process. After
    `free` failures within `window` seconds, each further attempt must wait: 30 s, doubling with
    every failure, at most 15 minutes. A success clears the name's count."""

    def __init__(self, free: int = 5, client_free: int = 20, window: float = 900.0, clock=time.monotonic):
        self.free, self.client_free, self.window, self.clock = free, client_free, window, clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> list[float]:
        now = self.clock()
        kept = [t for t in self._failures.get(key, []) if now - t < self.window]
        self._failures[key] = kept
        return kept

    def wait(self, name: str, client: str) -> float:
        """Seconds before another attempt for `name` from `client` is heard (0: now)."""
        with self._lock:
            waits = [0.0]
            for key, free in ((("name", name.strip().casefold()), self.free), (("client", client), self.client_free)):
                recent = self._recent(key)
                if len(recent) >= free:
                    delay = min(30.0 * 2 ** (len(recent) - free), 900.0)
                    waits.append(recent[-1] + delay - self.clock())
            return max(waits)

    def failed(self, name: str, client: str) -> None:
        with self._lock:
            for key in (("name", name.strip().casefold()), ("client", client)):
                self._recent(key).append(self.clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name.strip().casefold()), None)


SIGN_IN_THROTTLE = SignInThrottle()


def has_lead(study: Study) -> bool:
    with study.session() as session:
        return session.scalar(select(User.id).where(with_role(LEAD)).limit(1)) is not None


def authenticate(study: Study, name: str, password: str) -> Actor | None:
    """The actor signing in with this name and password; None if either is wrong."""
    with study.session() as session:
        user = session.scalar(select(User).where(User.name == name.strip()))
        if not verify_password(user, password):
            return None
        return Actor(user.name, user.role, user.id)


class TooManyAttempts(AccessDenied):
    """Sign-in refused for a while after repeated failures."""


def sign_in(study: Study, name: str, password: str, client: str,
            throttle: SignInThrottle = SIGN_IN_THROTTLE) -> Actor | None:
    """`authenticate`, throttled per name and per client; failures on an existing account are
    audited (never the password). Raises TooManyAttempts while a name or client must wait."""
    wait = throttle.wait(name, client)
    if wait > 0:
        raise TooManyAttempts(f"too many failed sign-ins: try again in {max(1, round(wait))} seconds")
    actor = authenticate(study, name, password)
    if actor is None:
        throttle.failed(name, client)
        with study.transaction() as session:  # an account's failures only: a mistyped "name" may be a password
            if session.scalar(select(User.id).where(User.name == name.strip())):
                record(session, None, "sign_in.failed", account=name.strip(), client=client)
    else:
        throttle.succeeded(name)
    return actor


def actor_by_email(study: Study, email: str | None) -> Actor | None:
    """The account registered with `email` (single sign-on), if any."""
    if not email:
        return None
    with study.session() as session:
        user = session.scalar(select(User).where(User.email == email))
        return Actor(user.name, user.role, user.id) if user else None


def create_first_lead(study: Study, name: str, password: str, email: str | None = None) -> Actor:
    """The first lead of a study without one, signed in as themselves. Refused once a lead exists."""
    if has_lead(study):
        raise AccessDenied("this study already has a lead: ask them for an account")
    add_user(study, Actor(name.strip() or "setup", LEAD), name, LEAD, password=password, email=email)
    return authenticate(study, name, password)


def list_users(study: Study) -> list[dict]:
    with study.session() as session:
        return [dict(name=u.name, role=u.role, email=u.email, has_password=bool(u.password_hash))
                for u in session.scalars(select(User).order_by(User.name))]


def set_password(study: Study, actor: Actor, name: str, password: str) -> None:
    """A lead sets (or resets) an account's password; anyone may change their own."""
    if actor.name != name:
        require(actor, "manage_accounts")
    with study.transaction() as session:
        user = get_user(session, name)
        user.password_hash = _hasher.hash(check_password(password))
        record(session, actor.signature, "user.password", user=name)
