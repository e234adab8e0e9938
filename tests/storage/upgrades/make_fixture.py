"""Write the upgrade test's fixture for one schema revision: ``python make_fixture.py 0011``.

Run by hand, never by the tests, once for every new migration (docs/contributing.md). It
checks out the last commit whose newest migration is that revision (``git worktree add``
into a temporary folder), runs THAT commit's ``tuopin`` on the current interpreter with
``PYTHONPATH=<worktree>/src`` to build a small SQLite store the way its code wrote one (a
seeded synthetic county, its assessment, plans, exits, monitoring, users and web logins,
funds, a verification sample, a token: whatever the commit's commands offer), and dumps
every table's rows to ``<revision>.json`` beside this file, one row a line, in key order.
When two migrations came in one commit, the earlier one's store is made by that commit and
downgraded to it. A revision not committed yet is made from the working tree.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
VERSIONS = "src/tuopin/storage/migrations/versions"
HOUSEHOLDS, SEED = 24, 8
GZIP_ABOVE = 200 * 1024
PASSWORD = "upgrade-fixture-password-1"  # noqa: S105 - a throwaway store's account
# a command's row in `--help`: typer's rich panel ("│ name  …", older commits) or click's
# plain list ("  name  …", from 0013 on)
COMMAND_ROW = r"^(?:│ |  )(\w[\w-]*) "


def listed(help_text: str) -> str:
    """The commands part of a help text (plain help lists the options above it)."""
    return help_text.split("Commands", 1)[-1]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def migration_files() -> dict[str, str]:
    """Revision -> its migration file, as the working tree has them."""
    return {p.name[:4]: f"{VERSIONS}/{p.name}" for p in sorted((ROOT / VERSIONS).glob("0*.py"))}


def added_in(path: str) -> str | None:
    commits = git("log", "--diff-filter=A", "--format=%H", "--", path).split()
    return commits[-1] if commits else None


def source_of(revision: str) -> tuple[str | None, bool]:
    """The commit whose code writes ``revision``'s store (None: the working tree), and
    whether its store must be downgraded to ``revision`` (the next came in the same commit)."""
    files = migration_files()
    if revision not in files:
        raise SystemExit(f"no migration {revision} in {VERSIONS}")
    mine = added_in(files[revision])
    if mine is None:
        return None, False
    later = [r for r in files if r > revision]
    if not later:
        return git("rev-parse", "HEAD"), False
    following = added_in(files[later[0]])
    if following is None:
        return git("rev-parse", "HEAD"), False
    if following == mine:
        return mine, True
    return git("rev-parse", f"{following}^"), False


class Old:
    """The old commit's ``tuopin``, run in a subprocess on a scratch store."""

    def __init__(self, src: Path, work: Path) -> None:
        self.db = work / "tuopin.db"
        self.work = work
        self.env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "200",
                    "TUOPIN_DATABASE_URL": f"sqlite:///{self.db}",
                    "TUOPIN_DATA_DIR": str(work / "data"), "TUOPIN_OPERATOR": "fixture",
                    "TUOPIN_SECRET_KEY": "upgrade-fixture-" + "k" * 40}
        self.ran: list[str] = []
        self.commands = self._commands()

    def python(self, code: str, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-c", code, *args], env=self.env, cwd=self.work,
                              capture_output=True, text=True, input=stdin)
        if done.returncode != 0:
            raise SystemExit(f"failed: {args}\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        self.ran.append("tuopin " + " ".join(args))
        return self.python("from tuopin.cli.main import main; main()", *args, stdin=stdin)

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--format", "json"))

    def _commands(self) -> set[str]:
        text = self.python("from tuopin.cli.main import main; main()", "--help")
        return set(re.findall(COMMAND_ROW, listed(text), re.M))

    def has(self, command: str, sub: str | None = None) -> bool:
        if command not in self.commands:
            return False
        if sub is None:
            return True
        text = self.python("from tuopin.cli.main import main; main()", command, "--help")
        return sub in re.findall(COMMAND_ROW, listed(text), re.M)

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db) as con:
            return con.execute(sql).fetchall()


def populate(old: Old) -> None:
    """Every table a small county fills, through the old commit's own commands."""
    old("init")
    # by 2020 nearly every household has left poverty: survey earlier years where possible
    years = ["--years", "2016,2017"] if "--years" in old("synth", "--help") else []
    old.ran.pop()
    old("synth", "--households", str(HOUSEHOLDS), "--seed", str(SEED), *years, "--into-db")
    if not old.has("assess"):
        return
    surveyed = [year for (year,) in old.query("SELECT DISTINCT year FROM survey ORDER BY 1")]
    runs = [old.json("assess", "--standard", "cn-national", "--year", str(year))["run"]
            for year in surveyed[-2:]]
    if old.has("users"):
        _users(old)
    if old.has("plans"):
        _plans(old, runs[-1])
    if old.has("exit"):
        _exit(old, runs[-1])
    if old.has("monitor"):
        _monitoring(old, surveyed[-1])
    if old.has("serve"):
        _web_logins(old)
    if old.has("verify", "plan"):
        _verification(old, surveyed[-1])
    if old.has("tokens"):
        old("tokens", "create", "admin1", "--name", "fixture")
    if old.has("worker"):
        _jobs(old)
    if old.has("form"):
        _phone_surveys(old, surveyed[-1])
    old("audit", "verify")


JOBS = """
from tuopin.config import Settings
from tuopin.services import store
from tuopin.services.access.principal import Principal
from tuopin.services.jobs import starts
settings = Settings()
engine = store.engine_for(settings.database_url)
operator = Principal.of_operator("fixture")
with store.sessions(engine)() as db, db.begin():
    for kind, fmt in [(k, "csv") for k in sys.argv[1:]]:
        print(starts.start_export(db, principal=operator, kind=kind, fmt=fmt))
engine.dispose()
"""


def _jobs(old: Old) -> None:
    """Jobs run by a worker (done, with their files and a heartbeat), and one cancelled."""
    old.ran.append("python: two export jobs queued (households, members)")
    old.python("import sys\n" + JOBS, "households", "members")
    old("worker", "--once")
    old.ran.append("python: an export job queued (surveys)")
    waiting = old.python("import sys\n" + JOBS, "surveys").strip()
    old("jobs", "cancel", waiting)


def _phone_surveys(old: Old, year: int) -> None:
    """Two households' surveys of ``year`` collected on phones: an ODK Central export (one
    submission edited, one rejected) imported by `tuopin import odk`."""
    sys.path.insert(0, str(ROOT / "tests"))
    from odk_exports import central_zip

    homes = old.query("SELECT h.number, m.id_number, m.name FROM household h JOIN member m "
                      "ON m.household_id = h.id AND m.relation = 'head' ORDER BY h.number "
                      "LIMIT 3")
    main = [{"household_number": number, "year": str(year), "household_size": "2",
             "wage_income": "6800", "food_secure": "yes", "clothing_secure": "yes",
             "housing_grade": "B"} for number, _, _ in homes]
    main[1]["_instance_id"] = "uuid:fixture-edit"
    main[2]["_review"] = "rejected"
    people = [{"_parent": i, "id_number": id_number, "name": name, "relation": "head"}
              for i, (_, id_number, name) in enumerate(homes)]
    path = central_zip(old.work / "phones.csv.zip", f"tuopin_cn_national_{year}", main,
                       {"members": people})
    old("import", "odk", path.name)


def _users(old: Old) -> None:
    village = old.query("SELECT code FROM region WHERE level = 5 ORDER BY code LIMIT 1")[0][0]
    old("users", "add", "admin1", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    old("users", "add", "cadre1", "--role", "village_cadre", "--region", village,
        "--password-stdin", stdin=PASSWORD)


def _plans(old: Old, run: int) -> None:
    old("plans", "draft", "--run", str(run), "--as-of", "2021-01-10")
    old("plans", "approve", "--all", "--as-of", "2021-01-15")
    plan = old.query("SELECT p.id, h.number FROM plan p JOIN household h ON h.id = "
                     "p.household_id ORDER BY p.id LIMIT 1")
    if not plan:
        return
    measure = old.query(f"SELECT id FROM measure WHERE plan_id = {plan[0][0]} ORDER BY id")[0][0]
    receipt = old.work / "receipt.pdf"
    receipt.write_bytes(b"%PDF-1.4\n%%EOF\n")
    if old.has("measures"):
        old("measures", "start", str(measure), "--as-of", "2021-02-01")
        old("measures", "complete", str(measure), "--evidence", receipt.name,
            "--on", "2021-03-01", "--as-of", "2021-03-01")


def _exit(old: Old, run: int) -> None:
    """As a county does it: a household poor on income alone gets a top-up (兜底) in its
    survey, its year is assessed again, and it exits step by step."""
    found = old.query(
        "SELECT h.number, h.village_code, r.run_id FROM household h JOIN assessment_result r "
        f"ON r.household_id = h.id AND r.run_id = {run} WHERE h.status = 'poor' AND r.poor "
        "AND r.deprived = 'income' ORDER BY h.number LIMIT 1")
    if not found:
        return
    number, village, _ = found[0]
    year = old.query(f"SELECT year FROM assessment_run WHERE id = {run}")[0][0]
    old("export", "surveys", "--region", village, "--out", "surveys.csv")
    with open(old.work / "surveys.csv", encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source))
    row = next(r for r in rows if r["household_number"] == number and r["year"] == str(year))
    row["transfer_income"] = f"{float(row['transfer_income'] or 0) + 20000:.2f}"
    with open(old.work / "topup.csv", "w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    old("import", "surveys", "topup.csv")
    again = old.json("assess", "--standard", "cn-national", "--year", str(year))["run"]
    old("exit", "propose", number, "--run", str(again), "--minutes", "民主评议纪要 2021-04-01",
        "--as-of", "2021-04-01")
    old("exit", "notice", number, "--start", "2021-04-02")
    old("exit", "announce", number, "--as-of", "2021-05-10")


def _monitoring(old: Old, year: int) -> None:
    if year >= 2020:  # cn-monitoring begins in 2020; a shock opens a case in any year
        run = old.json("assess", "--standard", "cn-monitoring", "--year", str(year))["run"]
        old("monitor", "scan", "--run", str(run), "--as-of", "2021-01-05")
    ordinary = old.query("SELECT number FROM household WHERE status = 'ordinary' "
                         "ORDER BY number LIMIT 1")[0][0]
    old("monitor", "shock", ordinary, "--kind", "illness", "--on", "2021-06-01",
        "--amount", "30000", "--description", "fixture", "--as-of", "2021-06-02")


WEB = """
import re, sys
from fastapi.testclient import TestClient
from tuopin.config import Settings
from tuopin.web.app import create_app
def csrf(client, path):
    found = re.search(r'(?:data-csrf|name="csrf_token" value)="([^"]+)"', client.get(path).text)
    return found.group(1) if found else ""
def login(client, password):
    token = csrf(client, "/login")
    return client.post("/login", headers={"X-CSRF-Token": token}, data={
        "username": "admin1", "password": password, "csrf_token": token}).status_code
app = create_app(Settings())
with TestClient(app, follow_redirects=False) as admin:
    anonymous = TestClient(app, follow_redirects=False)
    print("failed login", login(anonymous, "wrong"))
    print("login", login(admin, sys.argv[1]))
    token = csrf(admin, "/import")  # the import page (none before 0006): an upload
    if token:
        with open("regions.csv", "rb") as upload:
            print("upload", admin.post("/import", headers={"X-CSRF-Token": token},
                                       data={"kind": "regions", "csrf_token": token},
                                       files={"file": ("regions.csv", upload, "text/csv")}
                                       ).status_code)
    print("failed login", login(anonymous, "wrong again"))  # kept: no good login follows
"""


def _web_logins(old: Old) -> None:
    """Logins through the web app: failed, good, failed (login failures, throttles, sessions)."""
    old("export", "regions", "--out", "regions.csv")
    old.ran.append("web: a failed login, a good one and an upload of regions.csv; a failed one")
    print(old.python(WEB, PASSWORD), end="")


def _verification(old: Old, year: int) -> None:
    county = old.query("SELECT code FROM region WHERE level = 3 ORDER BY code LIMIT 1")[0][0]
    plan = old.json("verify", "plan", "--region", county, "--year", str(year), "--seed", "2718",
                    "--size", "exited=3,unregistered=3,registered=3", "--as-of", "2021-03-01")
    number = str(plan["plan"] if isinstance(plan, dict) and "plan" in plan else plan["id"])
    old("verify", "draw", number, "--as-of", "2021-03-02")


DOWNGRADE = """
import sys
from alembic import command
from tuopin.storage import migrate
from tuopin.storage.db import make_engine
engine = make_engine(sys.argv[1])
command.downgrade(migrate.alembic_config(engine), sys.argv[2])
engine.dispose()
"""


def dump(db: Path, revision: str, commit: str | None, ran: list[str]) -> str:
    """Every table's rows, one a line, in primary-key order: a file to read in a review."""
    con = sqlite3.connect(db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == revision
    names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")
             if n != "alembic_version"]
    lines = ["{", f'  "revision": {json.dumps(revision)},', f'  "commit": {json.dumps(commit)},',
             f'  "made_by": {json.dumps(ran, ensure_ascii=False)},', '  "tables": {']
    for i, name in enumerate(names):
        info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
        columns = [c[1] for c in info]
        keys = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]] or columns
        order = ", ".join(f'"{k}"' for k in keys)
        rows = con.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall()
        lines.append(f"    {json.dumps(name)}: {{\"columns\": {json.dumps(columns)}, \"rows\": [")
        lines += [f"      {_row(row)}{',' if j < len(rows) - 1 else ''}"
                  for j, row in enumerate(rows)]
        lines.append(f"    ]}}{',' if i < len(names) - 1 else ''}")
    con.close()
    return "\n".join([*lines, "  }", "}", ""])


def _row(row: tuple) -> str:
    def encode(v: object) -> object:
        return {"base64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v

    return json.dumps([encode(v) for v in row], ensure_ascii=False)


def make(revision: str, keep: bool) -> Path:
    commit, downgrade = source_of(revision)
    with tempfile.TemporaryDirectory(prefix=f"tuopin-fixture-{revision}-") as scratch:
        work = Path(scratch)
        tree = work / "tree"
        if commit is not None:
            git("worktree", "add", "--detach", str(tree), commit)
        try:
            old = Old((tree if commit else ROOT) / "src", work)
            populate(old)
            if downgrade:
                old.ran.append(f"alembic downgrade {revision}")
                old.python(DOWNGRADE, f"sqlite:///{old.db}", revision)
            text = dump(old.db, revision, commit, old.ran).encode()
            for stale in HERE.glob(f"{revision}.json*"):
                stale.unlink()
            # a readable file in a review, unless it grew too big for one (then gzip)
            target = HERE / f"{revision}.json{'.gz' if len(text) > GZIP_ABOVE else ''}"
            target.write_bytes(gzip.compress(text, mtime=0) if len(text) > GZIP_ABOVE else text)
            if keep:
                kept = HERE / f"{revision}.db"
                kept.write_bytes(old.db.read_bytes())
        finally:
            if commit is not None:
                git("worktree", "remove", "--force", str(tree))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="+", help="e.g. 0011 (or 'all')")
    parser.add_argument("--keep", action="store_true", help="also keep the SQLite file")
    args = parser.parse_args()
    wanted = list(migration_files()) if args.revisions == ["all"] else args.revisions
    for revision in wanted:
        target = make(revision, args.keep)
        print(f"{revision}: {target.relative_to(ROOT)} ({target.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
