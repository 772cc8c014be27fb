"""People who sign in to the operator console: users with argon2-hashed passwords
(`users`), their signed-in browsers (`sessions`), and sign-in itself, rate-limited
(`sign_in`). Scripts and workers keep their API keys (`core.auth`); a person's role is
an API key's, admin or operator."""

from core.people.sessions import OpenedSession, SignedIn, end_session, open_session, signed_in
from core.people.sign_in import SignInRefused, TooManySignIns, sign_in
from core.people.users import MIN_PASSWORD_CHARS, authenticate, create_user, list_users

__all__ = [
    "MIN_PASSWORD_CHARS",
    "OpenedSession",
    "SignInRefused",
    "SignedIn",
    "TooManySignIns",
    "authenticate",
    "create_user",
    "end_session",
    "list_users",
    "open_session",
    "sign_in",
    "signed_in",
]
