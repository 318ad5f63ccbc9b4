"""Accounts: name, role (lead, coder, viewer), optional e-mail, argon2 password hash.
An account without a password cannot log in to the app."""

from __future__ import annotations

import re

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
        record(session, actor.name, "user.add", user=name, role=role)
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


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def has_lead(study: Study) -> bool:
    with study.session() as session:
        return session.scalar(select(User.id).where(with_role(LEAD)).limit(1)) is not None


def authenticate(study: Study, name: str, password: str) -> Actor | None:
    """The actor signing in with this name and password; None if either is wrong."""
    with study.session() as session:
        user = session.scalar(select(User).where(User.name == name.strip()))
        if user is None or not verify_password(user, password):
            return None
        return Actor(user.name, user.role, user.id)


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
        record(session, actor.name, "user.password", user=name)
