"""`tuopin funds check` finds every case the generator planted and nothing else.

The books close on 31 December of the last survey year (SynthConfig.books_closed_on): a
clean book gives no finding on that day or any later one (here 29 November 2026 too), and
a planted book gives exactly its planted cases on that day. (Later, a planted stalled
project, which ends after the books' day, is also overdue once its end has passed.)
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import Engine

from factories import operator
from tuopin.services.funds.checks import check  # the engine under test: no skip without it
from tuopin.services.imports.synthetic import load_synthetic
from tuopin.synth import SynthConfig

# Two counties of a thousand households, two cases of every rule (one in each county).
PLANTED = SynthConfig(households=2_000, seed=1, households_per_village=40,
                      villages_per_township=5, townships_per_county=5, plant_anomalies=2)
CLEAN = dataclasses.replace(PLANTED, plant_anomalies=0)
RULES = 12
LATER = date(2026, 11, 29)


def _found(engine: Engine, as_of: date) -> list[tuple[str, str]]:
    findings = check(engine, principal=operator("test"), as_of=as_of)
    return [(str(getattr(f.rule, "value", f.rule)), f.subject) for f in findings]


@pytest.mark.parametrize("as_of", [CLEAN.books_closed_on, LATER], ids=str)
def test_a_clean_synthetic_book_gives_no_finding(
    engine: Engine, today: date, as_of: date,
) -> None:
    load_synthetic(engine, principal=operator("test"), config=CLEAN, today=today)
    assert _found(engine, as_of) == []


def test_the_check_finds_exactly_the_planted_cases(engine: Engine, today: date) -> None:
    planted: list[tuple[str, str]] = []
    load_synthetic(engine, principal=operator("test"), config=PLANTED, today=today,
                   planted=planted)
    found = _found(engine, PLANTED.books_closed_on)
    assert Counter(rule for rule, _ in found) == Counter(rule for rule, _ in planted)
    assert len(set(rule for rule, _ in planted)) == RULES
    assert sorted(found) == sorted(planted)
