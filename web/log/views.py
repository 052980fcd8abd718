from __future__ import annotations

from flask import render_template
from flask_login import login_required

from web.log import bp


@bp.get("/log")
@login_required
def index():
    return render_template("log/index.html")
