"""Who is asking: the signed-in rep (pages) or the token's rep (API)."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_login import UserMixin, current_user

from scheduler.access import Viewer
from scheduler.accounts import authenticate_token, get_user
from scheduler.errors import Unauthorized
from scheduler.store.models import User
from web.extensions import login_manager
from web.runtime import runtime


class SignedIn(UserMixin):
    """Flask-Login's view of a rep; the domain object stays in `.user`. The id in the cookie
    is "<rep id>.<session generation>", so raising the generation ends every copy."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = f"{user.id}.{user.session_generation}"


@login_manager.user_loader
def load_user(session_id: str) -> SignedIn | None:
    user_id, _, generation = session_id.partition(".")
    user = get_user(runtime().store, int(user_id)) if user_id.isdigit() else None
    if user is None or generation != str(user.session_generation):
        return None
    return SignedIn(user)


def token_required(view):
    """API views: `Authorization: Bearer <token>` or 401 in the error shape of API.md."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = authenticate_token(runtime().store, token.strip(),
                                  clock=runtime().clock) if scheme == "Bearer" else None
        if user is None:
            raise Unauthorized("a valid bearer token is required", field="Authorization")
        g.rep = user
        return view(*args, **kwargs)
    return wrapper


def current_viewer() -> Viewer:
    """Who is asking: the API token's rep, else the signed-in rep. Views pass this to the
    services and never compare rep ids themselves."""
    rep = g.get("rep") or current_user.user
    return Viewer.rep(rep.id)
