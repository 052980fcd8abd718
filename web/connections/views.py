from __future__ import annotations

from flask import render_template
from flask_login import login_required

from web.connections import bp


@bp.get("/connections")
@login_required
def index():
    return render_template("connections/index.html")
