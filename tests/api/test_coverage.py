"""Every operation of the API has a persona table somewhere.

Each tests/api/test_*.py module names, in a module-level ``COVERED`` set, the operations its
persona tables cover - ``(METHOD, path)`` as in /api/v1/openapi.json, without the /api
mount: ``("GET", "/v1/households/{number}")``. Their union must hold every operation of the
schema (an endpoint added without its table fails here), and nothing else (a typo, or an
endpoint gone, fails too).
"""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path
from types import ModuleType

from sqlalchemy.orm import sessionmaker

from tuopin.api.app import create_api
from web.personas import settings_for

HERE = Path(__file__).parent
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
Operation = tuple[str, str]

COVERED: set[Operation] = set()  # this module covers nothing itself


@functools.cache
def operations() -> frozenset[Operation]:
    """(METHOD, path) of every operation the API's schema lists."""
    api = create_api(settings_for("sqlite://"), sessions=sessionmaker(), readers=sessionmaker())
    return frozenset((method.upper(), path) for path, item in api.openapi()["paths"].items()
                     for method in item if method in METHODS)


def module_of(path: Path) -> ModuleType:
    """The test module at ``path``: as pytest imported it if it did (no second import of
    the slow ones), else by its name."""
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and file.endswith(path.name) and Path(file).resolve() == path.resolve():
            return module
    return importlib.import_module(f"{HERE.name}.{path.stem}")


def covered() -> dict[Operation, list[str]]:
    """Each covered operation and the modules that say they cover it."""
    found: dict[Operation, list[str]] = {}
    for path in sorted(HERE.glob("test_*.py")):
        module = module_of(path)
        for operation in getattr(module, "COVERED", set()):
            method, route = operation
            found.setdefault((method.upper(), route), []).append(path.stem)
    return found


def test_every_operation_has_a_persona_table() -> None:
    missing = sorted(operations() - set(covered()), key=lambda o: (o[1], o[0]))
    assert not missing, "operations no tests/api module COVERs:\n" + "\n".join(
        f"  {method} {path}" for method, path in missing)


def test_every_covered_operation_exists() -> None:
    known = operations()
    unknown = {o: modules for o, modules in covered().items() if o not in known}
    assert not unknown, f"COVERED names operations the schema does not have: {unknown}"


def test_operations_are_read_from_the_schema() -> None:
    found = operations()
    assert ("GET", "/v1/households/{number}") in found
    assert ("PATCH", "/v1/households/{number}") in found
    assert all(path.startswith("/v1/") for _method, path in found)
