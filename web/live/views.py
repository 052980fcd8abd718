from __future__ import annotations

from flask import render_template
from flask_login import login_required

from web.live import bp


@bp.get("/live")
@login_required
def screen():
    return render_template("live/screen.html")
