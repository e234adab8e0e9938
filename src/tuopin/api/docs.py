"""The API's documentation page (/api/docs): Swagger UI from tuopin's own static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tuopin API</title>
<link rel="stylesheet" href="{root}/static/swagger-ui.css"></head>
<body><div id="swagger-ui" data-schema="{root}{schema}"></div>
<script src="{root}/static/swagger-ui-bundle.js"></script>
<script src="{root}/static/docs.js"></script></body></html>"""


def install(app: FastAPI) -> None:
    """/docs (the page) and /static (its files) on the API's application."""
    app.mount("/static", StaticFiles(directory=STATIC), name="api-static")

    @app.get("/docs", include_in_schema=False)
    def docs_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(PAGE.format(root=root, schema=app.openapi_url or ""),
                            headers={"Cache-Control": "no-cache"})
