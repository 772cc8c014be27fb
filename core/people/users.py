"""Users: a name, a role (admin or operator) and a password hashed by argon2id.

argon2-cffi's default parameters are RFC 9106's low-memory profile; a hash made with
older parameters is replaced at the next sign-in. The password itself is never stored
or logged, and its audit entry names the user only.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.enums import Role
from core.errors import Conflict, InvalidState
from core.models import User

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1_000
PEOPLE_ROLES = (Role.admin, Role.operator)

_HASHER = PasswordHasher()
# Checked against when no user has the name, so that an unknown name costs what a wrong
# password does: the time taken does not tell which names exist.
_NOBODY = _HASHER.hash("no user has this password")


def create_user(session: Session, name: str, role: Role, password: str, actor: str) -> User:
    """Add a user and commit. `InvalidState` for a role people cannot have (worker), an
    empty name or a password shorter than `MIN_PASSWORD_CHARS`; `Conflict` for a name
    taken."""
    name = name.strip()
    if role not in PEOPLE_ROLES:
        raise InvalidState(f"a person is an admin or an operator, not a {role.value}")
    if not 1 <= len(name) <= 200:
        raise InvalidState("a user's name is 1 to 200 characters")
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidState(f"a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    user = User(name=name, role=role, password_hash=_HASHER.hash(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"a user named {name!r} exists") from exc
    audit.record(session, actor, "user.created", "user", user.id, name=name, role=role.value)
    session.commit()
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user `name` if `password` is theirs and they are not disabled, else None. A hash
    made with older parameters is replaced (the caller commits)."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    stored = _NOBODY if user is None else user.password_hash
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    if _HASHER.check_needs_rehash(stored):
        user.password_hash = _HASHER.hash(password)
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.name)))
