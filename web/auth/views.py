from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from scheduler.accounts import check_password, end_sessions
from scheduler.connections import offered_providers
from web.auth import bp
from web.auth.forms import LoginForm
from web.auth.session import SignedIn
from web.extensions import limiter
from web.runtime import runtime


def safe_next(target: str | None) -> str:
    """Only relative paths on this site: never an open redirect. Checked as the browser will
    read it: browsers drop tab, CR and LF anywhere in a URL and treat a backslash as a slash,
    so `/\t/evil.example` and `/\\evil.example` both mean another site."""
    cleaned = (target or "").translate(_DROPPED_BY_BROWSERS)
    parts = urlsplit(cleaned.replace("\\", "/"))
    if (cleaned.startswith("/") and not parts.scheme and not parts.netloc
            and not cleaned.replace("\\", "/").startswith("//")):
        return cleaned
    return url_for("live.screen")


_DROPPED_BY_BROWSERS = dict.fromkeys(map(ord, "\t\r\n"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = check_password(runtime().store, form.email.data, form.password.data)
        if user is not None:
            login_user(SignedIn(user))
            return redirect(safe_next(request.args.get("next")))
        error = "That email and password do not match."
    status = 401 if error else (422 if form.errors else 200)
    return render_template("auth/login.html", form=form, error=error,
                           providers=_sign_in_labels(),
                           next=safe_next(request.args.get("next"))), status


def _sign_in_labels() -> dict[str, str]:
    """"Sign in with ..." for each offered provider, by name."""
    providers = runtime().calendars.providers
    return {name: providers.get_or_raise(name).oauth.sign_in_label
            for name in offered_providers(calendars=runtime().calendars)}


@bp.post("/logout")
@login_required
def logout():
    """Ends the session everywhere: a copy of the cookie taken earlier stops working too."""
    end_sessions(runtime().store, current_user.user.id)
    logout_user()
    return redirect(url_for("auth.login"))
