"""Users, roles, agency scoping, API tokens and password hashing (argon2id).

Roles and what they may do:

* ``citizen`` — sees their own data and decisions, contests decisions, asks for erasure;
* ``officer`` — works for one agency: its feeds, uploads, quarantine and service queues;
* ``reviewer`` — decides appeals (no one else can);
* ``auditor`` — reads the register, the audit figures and the ledger's integrity, no personal payloads;
* ``admin`` — runs the instance: users, agencies, erasure requests.

The checks are functions over a :class:`Principal` so the API, the portal and the CLI apply the
same rules; the API's tests prove each boundary with real requests.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from civicbrain.core.errors import Conflict, Forbidden, Unauthenticated, ValidationFailed
from civicbrain.core.models import ApiToken, User
from civicbrain.core.timeutil import aware

_hasher = PasswordHasher()
MIN_PASSWORD = 10


def configure_password_hashing(*, time_cost: int, memory_kib: int) -> None:
    """Set the argon2id cost for this process (from settings; tests use a cheap one to stay fast).

    Hashes made with other parameters still verify, and are re-hashed at the next sign-in.
    """
    global _hasher
    if (_hasher.time_cost, _hasher.memory_cost) != (time_cost, memory_kib):
        _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


class Role(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is acting: what every permission check looks at."""

    user_id: int
    username: str
    display_name: str
    role: Role
    agency_id: str | None = None
    person_id: str | None = None

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise Forbidden(f"this needs the {allowed} role; you are signed in as {self.role.value}")

    def require_agency(self, agency_id: str) -> None:
        """Officers act for their own agency only; admins for any."""
        if self.role == Role.ADMIN:
            return
        self.require(Role.OFFICER)
        if self.agency_id != agency_id:
            raise Forbidden(f"you act for agency '{self.agency_id}', not '{agency_id}'")

    def require_person(self, person_id: str) -> None:
        """A citizen may see only their own records."""
        if self.role == Role.CITIZEN and self.person_id == person_id:
            return
        raise Forbidden("you can see only your own records")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    return _hasher.hash(password)


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        agency_id=user.agency_id,
        person_id=user.person_id,
    )


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    display_name: str | None = None,
    agency_id: str | None = None,
    person_id: str | None = None,
) -> User:
    role = Role(role)
    if role == Role.OFFICER and not agency_id:
        raise ValidationFailed("an officer belongs to an agency", field="agency_id")
    if role == Role.CITIZEN and not person_id:
        raise ValidationFailed("a citizen account is linked to a person", field="person_id")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"username '{username}' is taken", field="username")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role.value,
        agency_id=agency_id,
        person_id=person_id,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """The user, if the password is right. The same message whether the user exists or not."""
    user = session.scalar(select(User).where(User.username == username))
    failure = Unauthenticated("unknown username or wrong password", field="password")
    if user is None or not user.active:
        # Hash anyway so the response time does not reveal which usernames exist.
        _hasher.hash(password or "x")
        raise failure
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, now: datetime, ttl_hours: int) -> tuple[str, datetime]:
    """A new bearer token. Only its SHA-256 is stored: a database leak yields no usable tokens."""
    token = "cb_" + secrets.token_urlsafe(32)
    expires = now + timedelta(hours=ttl_hours)
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=expires))
    session.flush()
    return token, expires


def user_for_token(session: Session, token: str, *, now: datetime) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked or aware(row.expires_at) <= now:
        raise Unauthenticated("the bearer token is unknown, revoked or expired")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthenticated("the account behind this token is disabled")
    return user


_TOKENS, _USERS = ApiToken.__table__, User.__table__
_PRINCIPAL_BY_TOKEN = (
    select(
        _TOKENS.c.revoked,
        _TOKENS.c.expires_at,
        _USERS.c.id,
        _USERS.c.username,
        _USERS.c.display_name,
        _USERS.c.role,
        _USERS.c.agency_id,
        _USERS.c.person_id,
        _USERS.c.active,
    )
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)


def principal_for_token(session: Session, token: str, *, now: datetime) -> Principal:
    """``principal_of(user_for_token(...))`` in one fixed statement and no ORM objects, for endpoints
    called hundreds of times a second (the credit check API). Same rules, read fresh on every call:
    a revoked token or a disabled account is refused from the next request on."""
    row = session.execute(_PRINCIPAL_BY_TOKEN, {"token_hash": _digest(token)}).first()
    if row is None or row.revoked or aware(row.expires_at) <= now:
        raise Unauthenticated("the bearer token is unknown, revoked or expired")
    if not row.active:
        raise Unauthenticated("the account behind this token is disabled")
    return Principal(
        user_id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        agency_id=row.agency_id,
        person_id=row.person_id,
    )


def revoke_token(session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is not None:
        row.revoked = True
