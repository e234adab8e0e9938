"""The records are declared module by module as they are asked for; ``Base`` has them all."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys

from tuopin.storage import models
from tuopin.storage.models.base import Base as DeclaredBase


def declared_in_modules() -> dict[str, set[str]]:
    """Every record class of every module of the package, by module."""
    found: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(models.__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{models.__name__}.{info.name}")
        found[info.name] = {name for name, value in vars(module).items()
                            if inspect.isclass(value) and issubclass(value, DeclaredBase)
                            and value is not DeclaredBase and value.__module__ == module.__name__}
    return found


def test_every_record_is_found_where_it_is_declared() -> None:
    assert {module: set(names) for module, names in models.HOMES.items()} == \
        declared_in_modules()
    for module, names in models.HOMES.items():
        for name in names:
            assert getattr(models, name).__module__ == f"{models.__name__}.{module}"
    assert set(models.__all__) >= {n for names in models.HOMES.values() for n in names}


def test_asking_for_base_declares_every_table() -> None:
    code = ("import json, tuopin.storage.models as m; "
            "print(json.dumps(sorted(m.Base.metadata.tables)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    everything = {record.__tablename__ for names in models.HOMES.values()
                  for record in map(lambda n: getattr(models, n), names)}
    assert set(json.loads(done.stdout)) == everything


def test_a_registry_record_declares_only_the_registry() -> None:
    code = ("import sys; from tuopin.storage.models import HouseholdRecord; "
            "print(sorted(m for m in sys.modules if m.startswith('tuopin.storage.models.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == str(["tuopin.storage.models.base",
                                       "tuopin.storage.models.registry"])


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        models.NoSuchRecord  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchRecord" in str(exc)
    else:
        raise AssertionError("no error")
