"""The API's documentation page works offline: Swagger UI from tuopin's own files, the
schema from the API itself, no script inline (the CSP forbids it) and no other host."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient


def test_the_docs_page_loads_its_assets_and_the_schema_from_this_server(server: FastAPI) -> None:
    client = TestClient(server)
    page = client.get("/api/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "an asset from elsewhere"
    assert "<script>" not in page.text  # every script has a src
    assert 'data-schema="/api/v1/openapi.json"' in page.text
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "tuopin API"
    assert {"url": "/api"} in schema.get("servers", [])
