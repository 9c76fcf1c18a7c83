"""Passwords, tokens and role checks."""

from __future__ import annotations

import pytest

from civicbrain.core.errors import Conflict, Forbidden, Unauthenticated, ValidationFailed
from civicbrain.core.identity import (
    Role,
    authenticate,
    create_user,
    issue_token,
    principal_for_token,
    principal_of,
    revoke_token,
    user_for_token,
)
from civicbrain.core.models import Agency


def test_passwords_are_argon2_hashed_and_checked(ctx):
    user = create_user(ctx.session, username="ana", password="correct horse", role="admin")
    assert user.password_hash.startswith("$argon2id$") and "correct horse" not in user.password_hash
    assert authenticate(ctx.session, "ana", "correct horse").id == user.id
    with pytest.raises(Unauthenticated):
        authenticate(ctx.session, "ana", "wrong horse!")
    with pytest.raises(Unauthenticated):
        authenticate(ctx.session, "nobody", "correct horse")


def test_account_rules(ctx):
    with pytest.raises(ValidationFailed) as err:
        create_user(ctx.session, username="a", password="short", role="admin")
    assert err.value.field == "password"
    with pytest.raises(ValidationFailed, match="agency"):
        create_user(ctx.session, username="o", password="long enough pw", role="officer")
    create_user(ctx.session, username="dup", password="long enough pw", role="auditor")
    with pytest.raises(Conflict):
        create_user(ctx.session, username="dup", password="long enough pw", role="auditor")


def test_tokens_expire_and_store_only_a_digest(ctx, clock):
    user = create_user(ctx.session, username="tok", password="long enough pw", role="auditor")
    token, _ = issue_token(ctx.session, user, now=clock(), ttl_hours=1)
    assert user_for_token(ctx.session, token, now=clock()).id == user.id
    from civicbrain.core.models import ApiToken

    assert all(token not in row.token_hash for row in ctx.session.query(ApiToken))
    clock.advance(hours=2)
    with pytest.raises(Unauthenticated, match="expired"):
        user_for_token(ctx.session, token, now=clock())


def test_principal_for_token_is_user_for_token_in_one_query(ctx, clock):
    ctx.session.add(Agency(id="a1", name="A1"))
    user = create_user(ctx.session, username="fast", password="long enough pw", role="officer", agency_id="a1")
    token, _ = issue_token(ctx.session, user, now=clock(), ttl_hours=1)
    assert principal_for_token(ctx.session, token, now=clock()) == principal_of(user)
    with pytest.raises(Unauthenticated, match="unknown"):
        principal_for_token(ctx.session, token + "x", now=clock())
    user.active = False  # a disabled account is refused from the next request on
    with pytest.raises(Unauthenticated, match="disabled"):
        principal_for_token(ctx.session, token, now=clock())
    user.active = True
    revoke_token(ctx.session, token)  # so is a revoked token: nothing is cached
    with pytest.raises(Unauthenticated, match="revoked"):
        principal_for_token(ctx.session, token, now=clock())
    second, _ = issue_token(ctx.session, user, now=clock(), ttl_hours=1)
    clock.advance(hours=2)
    with pytest.raises(Unauthenticated, match="expired"):
        principal_for_token(ctx.session, second, now=clock())


def test_officers_act_for_their_own_agency_only(ctx):
    ctx.session.add_all([Agency(id="a1", name="A1"), Agency(id="a2", name="A2")])
    officer = principal_of(
        create_user(ctx.session, username="off", password="long enough pw", role="officer", agency_id="a1")
    )
    officer.require_agency("a1")
    with pytest.raises(Forbidden):
        officer.require_agency("a2")
    with pytest.raises(Forbidden):
        officer.require(Role.REVIEWER)
