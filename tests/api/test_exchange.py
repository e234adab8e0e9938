"""Exports of whole kinds and the changes feed, persona by persona: what each file holds
(the list endpoints' records, in scope, masked for roles that do not see numbers)."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.conftest import ALL, exports_recorded, principal_of
from tuopin.api.schemas import Household, Member, Survey
from tuopin.domain.fen import fen_text
from tuopin.io.schema import Kind
from tuopin.services.access import masking
from tuopin.services.exchange import masks
from tuopin.services.exchange.export import _yuan
from tuopin.services.imports.files import import_file
from web.personas import (
    OTHER_VILLAGE,
    OUTSIDE_VILLAGE,
    P_COUNTY,
    P_OTHER,
    P_OUTSIDE,
    P_VILLAGE,
    PERSONAS,
    TODAY_,
    VILLAGE,
)

COVERED = {("GET", "/v1/export/{kind}"), ("GET", "/v1/changes")}
Api = Callable[[str | None], TestClient]
REGISTRY = ("households", "members", "surveys")
FORMATS = ("csv", "parquet")
# the projects each persona's region holds (a project belongs to the region it is run in)
PROJECTS = {"county_officer": {P_VILLAGE, P_OTHER, P_COUNTY},
            "village_cadre": {P_VILLAGE}, "other_cadre": {P_OTHER}, "outsider": {P_OUTSIDE},
            "auditor": {P_VILLAGE, P_OTHER, P_COUNTY}, "verifier": {P_VILLAGE, P_OTHER, P_COUNTY},
            "admin": {P_VILLAGE, P_OTHER, P_COUNTY, P_OUTSIDE}}
MASKED = {"village_cadre", "other_cadre", "auditor", "verifier"}  # not county_officer, admin


def read(response: Any) -> list[dict[str, Any]]:
    """An export's rows; a CSV read with the Parquet file's types (the two must agree)."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("application/vnd.apache.parquet"):
        return pq.read_table(io.BytesIO(response.content)).to_pylist()
    assert response.content.startswith(b"\xef\xbb\xbf")
    return pa_csv.read_csv(io.BytesIO(response.content)).to_pylist()


def both(client: TestClient, kind: str, query: str = "") -> list[dict[str, Any]]:
    """The rows of the Parquet export, checked equal to those of the CSV export."""
    parquet = client.get(f"/export/{kind}?format=parquet{query}")
    assert parquet.status_code == 200, parquet.text
    table = pq.read_table(io.BytesIO(parquet.content))
    csv = client.get(f"/export/{kind}?format=csv{query}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert f'filename="{kind}' in csv.headers["content-disposition"]
    options = pa_csv.ConvertOptions(column_types=table.schema, strings_can_be_null=True,
                                    quoted_strings_can_be_null=False)
    from_csv = pa_csv.read_csv(io.BytesIO(csv.content), convert_options=options)
    assert from_csv.column_names == table.column_names
    assert from_csv.cast(table.schema).to_pylist() == table.to_pylist()
    return table.to_pylist()


def api_shape(model: type[BaseModel], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [model.model_validate(r).model_dump(mode="json") for r in rows]


def listed(client: TestClient, path: str) -> list[dict[str, Any]]:
    """Every record of a list endpoint, page by page."""
    items, cursor = [], ""
    while True:
        page = client.get(f"{path}?limit=2&cursor={cursor}").json()
        items += page["items"]
        if page["next"] is None:
            return items
        cursor = page["next"]


@pytest.mark.parametrize("persona", [*ALL, None])
def test_each_persona_exports_what_its_lists_show(api_for: Api, persona: str | None) -> None:
    client = api_for(persona)
    if persona is None or persona == "helper":
        for kind in (*REGISTRY, "results", "projects", "disbursements"):
            for fmt in FORMATS:
                answer = client.get(f"/export/{kind}?format={fmt}&run=1")
                assert answer.status_code == (401 if persona is None else 403), answer.text
        assert client.get("/changes").status_code == (401 if persona is None else 403)
        return
    feed = client.get("/changes").json()
    # the world was imported: one reload of each kind, and nothing else
    assert [(e["entity"], e["change"]) for e in feed["items"]] == [
        (entity, "reload") for entity in ("household", "member", "survey", "fund", "project",
                                          "disbursement")]
    again = client.get(f"/changes?since={feed['next']}").json()
    assert again == {"items": [], "next": feed["next"], "more": False}
    sees = PERSONAS[persona].sees
    homes = both(client, "households")
    assert {h["number"] for h in homes} == sees
    assert api_shape(Household, homes) == listed(client, "/households")
    people = both(client, "members")
    assert {m["household_number"] for m in people} == sees
    assert api_shape(Member, people) == listed(client, "/members")
    surveys = both(client, "surveys")
    files = [client.get(f"/households/{n}").json() for n in sorted(sees)]
    assert sorted(api_shape(Survey, surveys), key=lambda s: s["household_number"]) == [
        s for f in files for s in f["surveys"]]
    results = both(client, "results", "&run=1")
    assert {r["household_number"] for r in results} == sees
    assert {r["run"] for r in results} == {1}
    assert {p["number"] for p in both(client, "projects")} == PROJECTS[persona]
    paid = both(client, "disbursements")
    assert {p["project"] for p in paid} <= PROJECTS[persona]
    numbers = [v for m in people for v in (m["id_number"], m["phone"]) if v] + [
        v for h in homes for v in (h["phone"], h["bank_account"]) if v] + [
        v for p in paid for v in (p["payee_id_number"], p["account"]) if v]
    assert numbers
    assert all(("*" in v) == (persona in MASKED) for v in numbers), numbers


def test_a_region_filter_narrows_an_export_and_one_beside_the_scope_is_refused(
        api_for: Api) -> None:
    cadre = api_for("village_cadre")
    assert cadre.get(f"/export/households?region={OTHER_VILLAGE}").status_code == 403
    wider = read(cadre.get("/export/households?region=6211"))  # wider: the scope applies
    assert {str(h["number"]) for h in wider} == PERSONAS["village_cadre"].sees
    for persona in ("county_officer", "admin"):
        client = api_for(persona)
        homes = both(client, "households", f"&region={OTHER_VILLAGE}")
        assert {h["number"] for h in homes} == {n for n in PERSONAS[persona].sees
                                                if n.startswith(OTHER_VILLAGE)}
        assert {p["number"] for p in both(client, "projects", f"&region={OTHER_VILLAGE}")
                } == {P_OTHER}


def test_an_export_re_imports_unchanged_and_a_bad_request_is_refused(
        server: FastAPI, api_for: Api, tmp_path: Path) -> None:
    client = api_for("county_officer")
    engine = server.state.web.sessions.kw["bind"]
    officer = principal_of(server, "county_officer")
    for kind in (Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        path = tmp_path / f"{kind.value}.csv"
        path.write_bytes(client.get(f"/export/{kind.value}").content)
        result = import_file(engine, principal=officer, kind=kind, path=path, today=TODAY_,
                             dry_run=True)
        assert result.ok, result.problems
        assert result.preview is not None and result.preview.inserted == 0
        assert result.preview.updated == 0 and result.preview.unchanged > 0
    assert client.get("/export/users").status_code == 400
    assert client.get("/export/households?format=xlsx").status_code == 400
    assert client.get("/export/households?region=abc").status_code == 400
    assert client.get("/export/results").status_code == 404  # which run?
    assert client.get("/export/results?run=99").status_code == 404
    assert client.get("/changes?since=nonsense").status_code == 400
    assert client.get("/changes?limit=1001").status_code == 400


def test_an_empty_export_is_a_header_or_an_empty_parquet_file(api_for: Api) -> None:
    client = api_for("admin")
    empty = client.get("/export/households?region=6299")
    assert empty.status_code == 200
    assert empty.content.decode("utf-8-sig").strip().startswith('"number","village_code"')
    assert read(empty) == []
    parquet = client.get("/export/households?region=6299&format=parquet")
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 0 and "version" in table.column_names


def test_an_export_streams_in_batches(api_for: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuopin.services.exchange import export
    monkeypatch.setattr(export, "BATCH_ROWS", 2)  # 12 members: 6 batches, 6 row groups
    client = api_for("admin")
    parquet = client.get("/export/members?format=parquet")
    assert pq.ParquetFile(io.BytesIO(parquet.content)).num_row_groups == 6
    rows = read(parquet)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert len(rows) == len(read(client.get("/export/members"))) == 12


def test_csv_cells_that_look_like_formulas_are_neutralised(api_for: Api) -> None:
    admin = api_for("admin")
    number = sorted(PERSONAS["admin"].sees)[0]
    tag = admin.get(f"/households/{number}").headers["etag"]
    assert admin.patch(f"/households/{number}", json={"address": "=1+2"},
                       headers={"If-Match": tag}).status_code == 200
    rows = read(admin.get("/export/households"))
    assert {r["address"] for r in rows if str(r["number"]) == number} == {"'=1+2"}
    parquet = read(admin.get("/export/households?format=parquet"))
    assert {r["address"] for r in parquet if r["number"] == number} == {"=1+2"}



def test_the_exports_masks_are_the_pages_masks_cell_for_cell() -> None:
    rng = random.Random(6)
    alphabet = "0123456789X中文-= *"
    values = [None, "", *("".join(rng.choice(alphabet) for _ in range(size))
                          for size in range(30) for _ in range(300))]
    assert set(masks.MASKS) == set(masking.MASKS)
    for field, mask in masks.MASKS.items():
        expected = [masking.mask_payload(v, field=field) for v in values]
        assert mask(pa.array(values, pa.string())).to_pylist() == expected, field


def test_money_is_written_as_exact_yuan() -> None:
    fen = [0, 1, -1, 5, -5, 99, 100, 123450, -123456, 2**62, -(2**62), None]
    yuan = _yuan(pa.array([7, *fen], pa.int64()).slice(1), pa.decimal128(20, 2))  # a view
    assert [None if v is None else str(v) for v in yuan.to_pylist()] == [
        None if f is None else fen_text(f) for f in fen]


@pytest.mark.parametrize("persona,region", [("village_cadre", VILLAGE),
                                            ("other_cadre", OTHER_VILLAGE),
                                            ("outsider", OUTSIDE_VILLAGE)])
def test_an_export_holds_only_the_principals_region(api_for: Api, persona: str,
                                                    region: str) -> None:
    client = api_for(persona)
    for kind, column in (("households", "village_code"), ("members", "household_number"),
                         ("surveys", "household_number"), ("results", "village_code")):
        for fmt in FORMATS:
            rows = read(client.get(f"/export/{kind}?format={fmt}&run=1"))
            assert rows and {str(r[column])[:len(region)] for r in rows} == {region}, kind
    projects = both(client, "projects")
    assert projects and {str(p["region_code"])[:len(region)] for p in projects} == {region}


def test_every_export_is_on_the_audit_trail_and_a_refused_one_is_not(
        server: FastAPI, api_for: Api) -> None:
    cadre, officer = api_for("village_cadre"), api_for("county_officer")
    feed = cadre.get("/changes").json()
    assert read(cadre.get("/export/members?format=csv"))
    assert read(officer.get(f"/export/households?format=parquet&region={VILLAGE}"))
    refused = cadre.get(f"/export/members?region={OTHER_VILLAGE}")  # beside the cadre's
    assert refused.status_code == 403
    assert api_for("helper").get("/export/members").status_code == 403
    cadre_scope = principal_of(server, "village_cadre").scope.region_code
    officer_scope = principal_of(server, "county_officer").scope.region_code
    assert exports_recorded(server) == [
        ("api:village-cadre", "members.csv",
         {"kind": "members", "format": "csv", "region": "", "run": None,
          "scope": cadre_scope, "masked": True}),
        ("api:county-officer", f"households-{VILLAGE}.parquet",
         {"kind": "households", "format": "parquet", "region": VILLAGE, "run": None,
          "scope": officer_scope, "masked": False}),
    ]
    # an export changes no record: the changes feed has nothing new
    assert cadre.get(f"/changes?since={feed['next']}").json()["items"] == []
