"""No personal data in any log line: the scan of the run's logs, the JSON lines, the sources.

tests/logscan.py writes every record of the test run as JSON and scans it at the end; these
tests show that the scan finds what it must (and not what it must not), that it is on, and
that tuopin's own lines are made without personal data.
"""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from logscan import Capture, findings, scan
from tuopin.logs import JsonFormatter, masked
from tuopin.web.app import create_app
from web.personas import CHEAP, settings_for

SRC = Path(__file__).parents[1] / "src" / "tuopin"


@pytest.mark.parametrize("line", [
    '{"message": "found 110101199003077777"}',
    '{"message": "id=11010119900307777X."}',
    '{"message": "id=11010119900307777x"}',
    '{"message": "old form 110101900307777 still"}',
    '{"message": "call 13812345678"}',
    '{"message": "手机13812345678，身份证110101199003077777号"}',
    '{"exception": "Key (id_number)=(620102198001010011) already exists"}',
    '"19912345678"',
])
def test_the_scan_finds_id_and_phone_numbers(line: str) -> None:
    assert findings(line), line


@pytest.mark.parametrize("line", [
    '{"request_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}',  # hex, digits and letters mixed
    '{"request_id": "a13812345678b110101199003077777c"}',
    '{"time": "2026-11-29T08:00:00.123+00:00", "duration_ms": 12.3}',
    '{"message": "epoch ms 1764403200123"}',  # 13 digits
    '{"message": "household 6211210010010001"}',  # 16 digits
    '{"message": "account 6217000011112222333"}',  # 19 digits
    '{"message": "region 621121001001"}',  # 12 digits
    '{"message": "took 0.123456789012345 s"}',  # a float's fraction
    '{"message": "12345678901"}',  # 11 digits, but no mobile prefix
    '{"message": "1101011990030777771"}',  # 19 digits: not an ID number
])
def test_the_scan_lets_other_numbers_be(line: str) -> None:
    assert findings(line) == [], line


def test_the_scan_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "gw0.jsonl").write_text('{"message": "ok"}\n{"message": "13812345678"}\n',
                                        encoding="utf-8")
    (tmp_path / "gw1.jsonl").write_text('{"message": "fine"}\n', encoding="utf-8")
    found = list(scan(sorted(tmp_path.glob("*.jsonl"))))
    assert len(found) == 1
    assert found[0].startswith("gw0.jsonl:2: mobile phone number: 13812345678")


def test_every_record_of_the_run_is_captured_as_json() -> None:
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, Capture)]
    assert len(handlers) == 1, "tests/conftest.py loads the logscan plugin"
    assert logging.getLogger().level == logging.DEBUG
    capture = handlers[0]
    logging.getLogger("tuopin.test").debug("a line for the capture %s", "check")
    capture.flush()
    capture.stream.flush()
    last = Path(capture.stream.name).read_text(encoding="utf-8").splitlines()[-1]
    assert json.loads(last)["message"] == "a line for the capture check"


def test_a_json_line_masks_numbers_in_an_exception() -> None:
    try:
        raise ValueError("duplicate key (id_number)=(110101199003077777), phone 13812345678")
    except ValueError:
        record = logging.LogRecord("tuopin.x", logging.ERROR, __file__, 1, "import failed",
                                   (), sys.exc_info())
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "import failed"
    assert "110101199003077777" not in line and "13812345678" not in line
    assert "(id_number)=([masked]), phone [masked]" in entry["exception"]
    assert masked("11010119900307777X and 110101900307777") == "[masked] and [masked]"


def test_an_access_line_holds_the_route_template_never_the_path_or_query(
        sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings_for(sqlite_url, data_dir=tmp_path / "data"), hasher=CHEAP)
    with caplog.at_level(logging.DEBUG), TestClient(app, follow_redirects=False) as client:
        client.get("/households/6211210010010001?q=13812345678&name=张三")
        client.get("/search?q=110101199003077777")
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "tuopin.access"]
    assert len(lines) == 2
    assert json.loads(lines[0])["route"] == "/households/{number}"
    for line in lines:
        assert not findings(line)
        for secret in ("6211210010010001", "张三", "q="):
            assert secret not in line


def test_tuopin_serve_and_worker_log_json_lines_without_sql() -> None:
    code = ("import logging; from tuopin import logs; logs.configure(); "
            "logging.getLogger('tuopin.worker').info('job %s done', 'j1'); "
            "logging.getLogger('sqlalchemy.engine.Engine').info('SELECT 1'); "
            "logging.getLogger('uvicorn.access').info('GET /households?q=1 200')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e["level"], e["logger"], e["message"]) for e in lines] == [
        ("INFO", "tuopin.worker", "job j1 done")]


# names that hold personal data in tuopin's records and forms
PERSONAL = {"username", "id_number", "phone", "account", "bank_account", "password",
            "full_name", "head_name", "payee", "holder"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _log_calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"log", "logger", "access", "logging"}]


def test_no_log_call_in_the_sources_passes_personal_data() -> None:
    offending = []
    for path in sorted(SRC.rglob("*.py")):
        for call in _log_calls(ast.parse(path.read_text(encoding="utf-8"))):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                for node in ast.walk(arg):
                    name = (node.id if isinstance(node, ast.Name)
                            else node.attr if isinstance(node, ast.Attribute) else None)
                    if name in PERSONAL:
                        offending.append(f"{path.relative_to(SRC)}:{call.lineno}: {name}")
    assert offending == []
