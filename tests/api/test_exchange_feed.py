"""The changes feed keeps an exact copy: random edits of the registry (through the API and
the services), the feed applied to an empty copy from the start and bit by bit in between,
and the copy compared with the source read through the API - persona by persona."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.conftest import principal_of
from factories import person_id, write_csv
from tuopin.api.schemas import Household, Member, Survey
from tuopin.io.schema import Kind
from tuopin.services.imports.files import import_file
from tuopin.services.registry import registration
from web.personas import MINE, OTHER_VILLAGE, OTHERS, TODAY_, VILLAGE

COVERED: set[tuple[str, str]] = set()  # test_exchange.py holds the persona tables
Api = Callable[[str | None], TestClient]
KINDS = {"household": ("households", Household), "member": ("members", Member),
         "survey": ("surveys", Survey)}
Copy = dict[tuple[str, str], dict[str, Any]]


def key_of(entity: str, data: dict[str, Any]) -> str:
    if entity == "household":
        return str(data["number"])
    if entity == "member":
        return str(data["id"])
    return f"{data['household_number']}/{data['year']}"


class Consumer:
    """Another system keeping a copy by the feed, as the feed's documentation says."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.copy, self.since = client, {}, ""
        self.seen: list[dict[str, Any]] = []

    def sync(self, limit: int) -> None:
        while True:
            answer = self.client.get(f"/changes?limit={limit}&since={self.since}")
            assert answer.status_code == 200, answer.text
            page = answer.json()
            for entry in page["items"]:
                self.apply(entry)
            self.seen += page["items"]
            assert page["next"]  # never null, even for a page of nothing visible
            self.since = page["next"]
            if not page["more"]:
                return

    def apply(self, entry: dict[str, Any]) -> None:
        entity = entry["entity"]
        if entry["change"] == "reload":
            if entity not in KINDS:
                return  # the books of funds: this copy keeps the registry only
            kind, model = KINDS[entity]
            for key in [k for k in self.copy if k[0] == entity]:
                del self.copy[key]
            answer = self.client.get(f"/export/{kind}?format=parquet")
            for row in pq.read_table(io.BytesIO(answer.content)).to_pylist():
                data = model.model_validate(row).model_dump(mode="json")
                self.copy[entity, key_of(entity, data)] = data
        elif entry["change"] == "remove":
            self.copy.pop((entity, entry["id"]), None)
        else:
            assert entry["id"] == key_of(entity, entry["data"])
            self.copy[entity, entry["id"]] = entry["data"]


def source(client: TestClient) -> Copy:
    """What the caller sees of the registry, read through the list and detail endpoints."""
    found: Copy = {}
    for entity, path in (("household", "/households"), ("member", "/members")):
        cursor = ""
        while True:
            page = client.get(f"{path}?limit=1000&cursor={cursor}").json()
            found.update({(entity, key_of(entity, d)): d for d in page["items"]})
            if page["next"] is None:
                break
            cursor = page["next"]
    for number in [k[1] for k in found if k[0] == "household"]:
        for survey in client.get(f"/households/{number}").json()["surveys"]:
            found["survey", key_of("survey", survey)] = survey
    return found


class World:
    """Random edits of the test world, as a county officer makes them."""

    def __init__(self, server: FastAPI, api: TestClient, rng: random.Random,
                 folder: Path) -> None:
        self.server, self.api, self.rng, self.folder = server, api, rng, folder
        self.principal = principal_of(server, "county_officer")
        self.village_of = {n: VILLAGE for n in MINE} | {n: OTHER_VILLAGE for n in OTHERS}
        self.ever_mine = set(MINE)
        self.people = 0

    def new_id(self) -> str:
        self.people += 1
        return person_id(date(1990, 1, 1) + timedelta(days=self.people), 30 + self.people % 60)

    def step(self) -> str:
        action = self.rng.choice([self.edit_household, self.edit_household, self.move,
                                  self.add_member, self.edit_member, self.enter_survey,
                                  self.enter_survey, self.register])
        action()
        return action.__name__

    def number(self) -> str:
        return self.rng.choice(sorted(self.village_of))

    def edit_household(self) -> None:
        number = self.number()
        tag = self.api.get(f"/households/{number}").headers["etag"]
        change = self.rng.choice([{"address": f"{self.rng.randint(1, 9)}组"},
                                  {"phone": f"139{self.rng.randint(0, 10**8 - 1):08d}"}])
        answer = self.api.patch(f"/households/{number}", json=change, headers={"If-Match": tag})
        assert answer.status_code == 200, answer.text

    def move(self) -> None:
        number = self.number()
        there = OTHER_VILLAGE if self.village_of[number] == VILLAGE else VILLAGE
        tag = self.api.get(f"/households/{number}").headers["etag"]
        answer = self.api.patch(f"/households/{number}", json={"village_code": there},
                                headers={"If-Match": tag})
        assert answer.status_code == 200, answer.text
        self.village_of[number] = there
        if there == VILLAGE:
            self.ever_mine.add(number)

    def add_member(self) -> None:
        with self.server.state.web.sessions() as db, db.begin():
            registration.add_member(db, principal=self.principal, number=self.number(),
                                    values={"name": "新成员", "id_number": self.new_id(),
                                            "relation": "child"}, today=TODAY_)

    def edit_member(self) -> None:
        people = self.api.get(f"/members?household={self.number()}").json()["items"]
        person = self.rng.choice(people)
        with self.server.state.web.sessions() as db, db.begin():
            registration.edit_member(
                db, principal=self.principal, number=person["household_number"],
                member_id=person["id"], expected_version=person["version"],
                changes={"name": self.rng.choice(["张三", "李四", "王五"]),
                         "dibao": self.rng.choice(["是", "否"])}, today=TODAY_)

    def enter_survey(self) -> None:
        number, year = self.number(), self.rng.choice([2019, 2020, 2021])
        read = self.api.get(f"/households/{number}/surveys/{year}")
        tag = read.headers["etag"] if read.status_code == 200 else '"new"'
        values = {"household_size": str(self.rng.randint(1, 6)),
                  "wage_income": str(self.rng.randint(0, 30000)), "food_secure": "是",
                  "clothing_secure": "是", "housing_grade": self.rng.choice("ABC")}
        answer = self.api.put(f"/households/{number}/surveys/{year}", json=values,
                              headers={"If-Match": tag})
        assert answer.status_code == 200, answer.text

    def register(self) -> None:
        village = self.rng.choice([VILLAGE, OTHER_VILLAGE])
        with self.server.state.web.sessions() as db, db.begin():
            added = registration.register_household(
                db, principal=self.principal,
                household={"village_code": village, "status": "贫困户", "main_cause": "illness"},
                members=[{"name": "新户主", "id_number": self.new_id(), "relation": "户主"},
                         {"name": "新孩子", "id_number": self.new_id(), "relation": "child"}],
                today=TODAY_)
        self.village_of[added["number"]] = village
        if village == VILLAGE:
            self.ever_mine.add(added["number"])

    def import_members(self) -> None:
        """A file of members: one audit event for the whole file (a reload)."""
        path = write_csv(self.folder / f"members-{self.people}.csv", [
            {"household_number": self.number(), "id_number": self.new_id(), "name": "导入成员",
             "relation": "other"}])
        engine = self.server.state.web.sessions.kw["bind"]
        assert import_file(engine, principal=self.principal, kind=Kind.MEMBERS, path=path,
                           today=TODAY_).ok


def as_json(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    return model.model_validate(data).model_dump(mode="json")


def test_the_feed_keeps_an_exact_copy_through_random_edits(
        server: FastAPI, api_for: Api, tmp_path: Path) -> None:
    rng = random.Random(13)
    personas = ("county_officer", "village_cadre", "auditor")  # in full, a village, masked
    world = World(server, api_for("county_officer"), rng, tmp_path)
    clients = {p: api_for(p) for p in personas}
    live = {p: Consumer(clients[p]) for p in personas}
    done = []
    for step in range(60):
        done.append(world.step() if step != 30 else (world.import_members() or "import"))
        for consumer in live.values():
            if rng.random() < 0.3:
                consumer.sync(limit=rng.randint(1, 6))
    assert {"move", "register", "add_member", "edit_member", "enter_survey"} <= set(done)
    fresh = {p: Consumer(clients[p]) for p in personas}
    for persona in personas:
        live[persona].sync(limit=1000)
        fresh[persona].sync(limit=7)
        expected = source(clients[persona])
        assert live[persona].copy == expected, persona
        assert fresh[persona].copy == expected, persona
    # the village cadre's feed named only records that were in their village at some time
    member_home = {k[1]: d["household_number"] for k, d in live["county_officer"].copy.items()
                   if k[0] == "member"}
    for entry in live["village_cadre"].seen + fresh["village_cadre"].seen:
        if entry["change"] == "reload":
            continue
        number = {"household": entry["id"], "survey": entry["id"].split("/")[0],
                  "member": member_home.get(entry["id"])}[entry["entity"]]
        assert number in world.ever_mine, entry
        if entry["entity"] == "household" and entry["data"] is not None:
            assert entry["data"]["village_code"] == VILLAGE, entry  # as it was when read
    for entry in fresh["village_cadre"].seen:  # read at the end: their village now
        if entry["data"] is not None and entry["change"] != "reload":
            number = entry["data"].get("household_number") or entry["data"]["number"]
            home = live["county_officer"].copy["household", number]
            assert home["village_code"] == VILLAGE, entry


def test_a_village_cadres_feed_holds_nothing_of_another_village(api_for: Api) -> None:
    cadre, other = api_for("village_cadre"), api_for("other_cadre")
    start = cadre.get("/changes?limit=1000").json()["next"]
    seen_by_other = other.get("/changes?limit=1000").json()["next"]
    for number in OTHERS:  # the other village's cadre edits their households
        tag = other.get(f"/households/{number}").headers["etag"]
        assert other.patch(f"/households/{number}", json={"address": "他村"},
                           headers={"If-Match": tag}).status_code == 200
        answer = other.put(f"/households/{number}/surveys/2020", headers={"If-Match": '"new"'},
                           json={"household_size": "2", "food_secure": "是",
                                 "clothing_secure": "是", "housing_grade": "B"})
        assert answer.status_code == 200, answer.text
    page = cadre.get(f"/changes?limit=1&since={start}").json()
    assert page["items"] == [] and page["more"] and page["next"] != start  # never stalls
    rest = cadre.get(f"/changes?limit=1000&since={start}").json()
    assert rest["items"] == [] and not rest["more"]
    theirs = other.get(f"/changes?limit=1000&since={seen_by_other}").json()["items"]
    assert [(e["entity"], e["id"], e["change"]) for e in theirs] == [
        (entity, key, "add" if entity == "survey" else "edit") for number in OTHERS
        for entity, key in (("household", number), ("survey", f"{number}/2020"))]
    assert all(e["data"]["address"] == "他村" for e in theirs if e["entity"] == "household")


def test_a_household_moved_out_of_a_village_is_removed_with_its_members_and_surveys(
        api_for: Api) -> None:
    cadre, county = api_for("village_cadre"), api_for("county_officer")
    start = cadre.get("/changes?limit=1000").json()["next"]
    number = MINE[2]
    tag = county.get(f"/households/{number}").headers["etag"]
    assert county.patch(f"/households/{number}", json={"village_code": OTHER_VILLAGE},
                        headers={"If-Match": tag}).status_code == 200
    gone = cadre.get(f"/changes?since={start}").json()
    members = [str(m["id"]) for m in county.get(f"/members?household={number}").json()["items"]]
    assert [(e["entity"], e["id"], e["change"], e["data"]) for e in gone["items"]] == [
        ("household", number, "remove", None),
        *[("member", m, "remove", None) for m in members],
        ("survey", f"{number}/2019", "remove", None)]
    other = api_for("other_cadre")  # for the other village it arrives, whole
    arrived = other.get(f"/changes?since={start}").json()["items"]
    assert [(e["entity"], e["change"]) for e in arrived] == [
        ("household", "edit"), *[("member", "edit")] * len(members), ("survey", "edit")]
    assert arrived[0]["data"]["village_code"] == OTHER_VILLAGE
    assert as_json(Member, arrived[1]["data"])["id_number"].count("*") > 0  # masked
