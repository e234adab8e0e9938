"""Plotly's JavaScript, served once from the plotly package (no CDN: county networks are
often offline), cached by the browser."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tuopin.web.deps import StateDep

router = APIRouter()


@router.get("/assets/plotly.min.js")
def plotly_js(request: Request, state: StateDep) -> Response:
    if "plotly" not in state.cache:
        from plotly.offline import get_plotlyjs  # a 4.6 MB string: read on first use only

        state.cache["plotly"] = get_plotlyjs().encode("utf-8")
    body = state.cache["plotly"]
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript", headers=headers)
