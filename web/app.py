"""The app factory. Nothing happens at import time: settings, store and workers are built
here, once per app."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, redirect, url_for

from scheduler.jobs import InlineJobs, background_jobs
from scheduler.runtime import Nextstep
from scheduler.settings import Settings, load_settings
from scheduler.spoken import local_label
from web import errors, outage, security
from web.extensions import csrf, limiter, login_manager


def create_app(settings: Settings | None = None, *, runtime: Nextstep | None = None,
               start_jobs: bool = True) -> Flask:
    settings = settings or (runtime.settings if runtime else load_settings())
    settings.require_secrets()
    if runtime is None:
        runtime = Nextstep.build(settings)
        if start_jobs:
            runtime.use_jobs(background_jobs(settings, runtime.tick))
        else:
            runtime.use_jobs(InlineJobs(runtime.tick))

    app = Flask(__name__)
    secure = settings.base_url.startswith("https://")
    app.config.update(
        SECRET_KEY=settings.signing_key,
        MAX_CONTENT_LENGTH=256 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.extensions["nextstep"] = runtime

    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    errors.register(app)
    security.register(app)
    # Every area's templates write instants as 'Tue 24 Nov 10:00' in a zone they name.
    app.add_template_filter(local_label, "local")

    from web.api import bp as api_bp
    from web.auth import bp as auth_bp
    from web.connections import bp as connections_bp
    from web.hooks import bp as hooks_bp
    from web.live import bp as live_bp
    from web.log import bp as log_bp
    from web.offers import bp as offers_bp
    from web.settings import bp as settings_bp

    csrf.exempt(api_bp)  # bearer tokens, no cookies: CSRF does not apply
    csrf.exempt(hooks_bp)  # providers call these; each checks its own channel secret
    for blueprint in (auth_bp, live_bp, log_bp, offers_bp, connections_bp, settings_bp,
                      hooks_bp, api_bp):
        app.register_blueprint(blueprint)

    @app.get("/")
    def index():
        return redirect(url_for("live.screen"))

    outage.register(app)

    return app
