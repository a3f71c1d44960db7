"""Growth: active subscribers week by week, and who joined and left each week."""

from __future__ import annotations

from starlette.responses import Response

from newsletter import growth
from newsletter.models import utcnow
from newsletter.web.admin.door import Call

SPANS = (13, 26, 52, 104)
DEFAULT_SPAN = 26


def growth_page(call: Call) -> Response:
    """``/admin/growth?weeks=N``."""
    text = call.param("weeks", str(DEFAULT_SPAN))
    weeks = int(text) if text.isdigit() and int(text) in SPANS else DEFAULT_SPAN
    with call.session() as session:
        series = growth.weekly(session, call.admin.web.settings.schedule, utcnow(), weeks)
    return call.render("growth.html.j2", series=series, weeks=weeks, spans=SPANS)
