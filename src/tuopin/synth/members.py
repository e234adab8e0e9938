"""Members' attributes: health, schooling, education, labour, insurance, ethnicity, death."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tuopin.domain.enums import Education, Health, HouseholdCategory, Labour, SchoolingStatus, Sex
from tuopin.synth import columns
from tuopin.synth.families import HEAD, RELATIONS, Family
from tuopin.synth.households import CATEGORIES, Households
from tuopin.synth.idnumbers import id_numbers
from tuopin.synth.latent import happens
from tuopin.synth.names import MAJORITY_ETHNICITY, MINORITIES, person_names

HEALTHS = list(Health)
HEALTHY, CHRONIC, SERIOUS, DISABLED = range(4)
SCHOOLING = list(SchoolingStatus)
NOT_SCHOOL_AGE, IN_SCHOOL, DROPPED_OUT, HOME_TAUGHT, GRADUATED = range(5)
EDUCATIONS = list(Education)
NONE, PRESCHOOL, PRIMARY, JUNIOR, SENIOR, VOCATIONAL, TERTIARY = range(7)
LABOURS = list(Labour)
SKILLED, ORDINARY_LABOUR, WEAK, LOST, NO_LABOUR = range(5)
DIBAO = CATEGORIES.index(HouseholdCategory.DIBAO)
# Logistic intercepts tuned so that about 10 % of people are chronically ill, 2 % seriously
# ill and 4 % disabled, all rising with age and with the household's hardship.
HEALTH_MODEL = {DISABLED: (-3.3, 0.035, 0.5), SERIOUS: (-3.95, 0.035, 0.4),
                CHRONIC: (-2.3, 0.06, 0.3)}
DROPOUT_RATE = 0.04  # of children 6-15, before disabled children are taken out
# Adult education: cut points on a latent score that rises with birth year.
EDUCATION_CUTS = np.array([-1.1, -0.1, 1.0, 1.5, 1.9])
ADULT_LEVELS = np.array([NONE, PRIMARY, JUNIOR, SENIOR, VOCATIONAL, TERTIARY])


@dataclass
class Members:
    """What the survey and the causes of poverty need to know about the members."""

    health: np.ndarray
    schooling: np.ndarray  # -1 where not applicable
    labour: np.ndarray
    months_away: np.ndarray
    medical: np.ndarray
    dibao: np.ndarray
    deceased: np.ndarray  # datetime64[D], NaT for the living


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _health(rng: np.random.Generator, age: np.ndarray, hardship: np.ndarray) -> np.ndarray:
    u = rng.random(len(age))
    health = np.full(len(age), HEALTHY, dtype=np.int8)
    floor = np.zeros(len(age))
    for state, (intercept, per_year, per_hardship) in HEALTH_MODEL.items():
        p = _sigmoid(intercept + per_year * (age - 45) + per_hardship * hardship)
        health[(u >= floor) & (u < floor + p)] = state
        floor = floor + p
    return health


def _schooling(
    rng: np.random.Generator, age: np.ndarray, hardship: np.ndarray, disabled: np.ndarray,
    may_drop_out: np.ndarray,
) -> np.ndarray:
    """Schooling by the age the standard counts (the year minus the birth year): a child of
    6-15 is in school, taught at home or, where allowed, dropped out."""
    m = len(age)
    compulsory = (age >= 6) & (age <= 15)
    dropped = happens(rng, hardship, 0.6, DROPOUT_RATE) & may_drop_out
    taught_at_home = disabled & (rng.random(m) < 0.6)
    compulsory_status = np.where(
        taught_at_home, HOME_TAUGHT, np.where(dropped & ~disabled, DROPPED_OUT, IN_SCHOOL)
    )
    stays = rng.random(m) < np.clip(np.where(age <= 18, 0.7, 0.25) - 0.12 * hardship, 0, 1)
    later = np.where((age <= 22) & stays, IN_SCHOOL, GRADUATED)
    return np.where(age < 6, NOT_SCHOOL_AGE, np.where(compulsory, compulsory_status, later))


def _education(
    rng: np.random.Generator, fam: Family, age: np.ndarray, schooling: np.ndarray,
    hardship: np.ndarray,
) -> np.ndarray:
    m = len(age)
    born = fam.birth.astype("datetime64[Y]").astype(np.int64) + 1970
    latent = (0.045 * (born - 1970) - 0.4 * hardship
              - 0.3 * (~fam.male & (born < 1975)) + rng.standard_normal(m))
    adult = ADULT_LEVELS[np.searchsorted(EDUCATION_CUTS, latent)]
    studying = schooling == IN_SCHOOL
    higher = np.where(rng.random(m) < 0.6, np.where(age <= 18, SENIOR, TERTIARY), VOCATIONAL)
    leaver = np.where(age <= 18, np.minimum(adult, JUNIOR), adult)
    by_age = np.where(age < 3, NONE, np.where(age < 6, np.where(rng.random(m) < 0.75,
                      PRESCHOOL, NONE), np.where(age < 12, PRIMARY, JUNIOR)))
    return np.where(age < 16, by_age, np.where(studying, higher, leaver)).astype(np.int8)


def _labour(
    rng: np.random.Generator, age: np.ndarray, health: np.ndarray, grade: np.ndarray,
    studying: np.ndarray,
) -> np.ndarray:
    u = rng.random(len(age))
    by_age = np.where(age < 60, np.where(u < 0.15, SKILLED, ORDINARY_LABOUR),
                      np.where(age < 70, np.where(u < 0.4, ORDINARY_LABOUR, WEAK),
                               np.where(u < 0.4, WEAK, NO_LABOUR)))
    impaired = np.where((health == SERIOUS) | ((health == DISABLED) & (grade <= 2)), LOST, WEAK)
    sick = health != HEALTHY
    working = np.where(sick, np.maximum(impaired, np.where(by_age == NO_LABOUR, LOST, 0)), by_age)
    return np.where((age < 16) | studying, NO_LABOUR, working).astype(np.int8)


def _uninsured(rng: np.random.Generator, hh: Households, fam: Family,
               allowed: np.ndarray) -> np.ndarray:
    """A few households leave some members out of basic medical insurance (at least one
    of the members ``allowed``)."""
    flagged = happens(rng, hh.hardship, 0.6, 0.03)[fam.household] & allowed
    starts = np.cumsum(hh.size) - hh.size
    position = np.arange(len(fam)) - starts[fam.household]
    forced = (rng.random(len(hh)) * hh.size).astype(np.int64)[fam.household]
    return flagged & ((rng.random(len(fam)) < 0.5) | (position == forced))


def _allowed(hh: Households, fam: Family, deceased: np.ndarray,
             years: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Which members may go uninsured, and which may have dropped out of school: only
    those whose household the standard judges poor in every survey year in which they
    would make it poor (alive at the year's end; for schooling, also aged 6-15 then), so
    that the standard's verdicts stay those of the household's path."""
    year = np.asarray(years)[:, None]
    ends = np.array([np.datetime64(f"{y}-12-31") for y in years])[:, None]
    alive = np.isnat(deceased)[None, :] | (deceased[None, :] > ends)
    not_poor = alive & ~hh.path.poor(np.asarray(years))[:, fam.household]
    born = fam.birth.astype("datetime64[Y]").astype(np.int64) + 1970
    age = year - born[None, :]
    return ~not_poor.any(axis=0), ~(not_poor & (age >= 6) & (age <= 15)).any(axis=0)


def _benefits(
    rng: np.random.Generator, hh: Households, fam: Family, age: np.ndarray,
    schooling: np.ndarray, may_go_uninsured: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Medical, critical-illness and pension insurance, and 低保, per member."""
    m = len(fam)
    medical = ~_uninsured(rng, hh, fam, may_go_uninsured)
    # Registered households are enrolled in critical-illness cover almost without exception.
    registered = hh.registered[fam.household]
    critical = medical & (rng.random(m) < np.where(registered, 0.995, 0.96))
    grown = (age >= 16) & (schooling != IN_SCHOOL)
    pension = grown & (rng.random(m) < np.where(age >= 60, 0.95, 0.8))
    # 低保 covers the category's households, and a few households off the register.
    dibao_household = (hh.category == DIBAO) | (~hh.registered & (rng.random(len(hh)) < 0.02))
    dibao = dibao_household[fam.household] & (rng.random(m) < 0.9)
    return medical, critical, pension, dibao


def _deceased(
    rng: np.random.Generator, fam: Family, age: np.ndarray, first_day: np.datetime64,
    reference: np.datetime64,
) -> np.ndarray:
    """Rare deaths of members other than the head, between the first survey year and now."""
    m = len(fam)
    p = 0.003 + 0.04 * (age > 75)
    dies = (fam.slot != HEAD) & (fam.birth < first_day) & (rng.random(m) < p)
    span = (reference - first_day).astype(np.int64)
    when = first_day + (rng.random(m) * span).astype("timedelta64[D]")
    return np.where(dies, when, np.datetime64("NaT"))


def _ethnicity(rng: np.random.Generator, hh: Households, fam: Family) -> pa.Array:
    """Mostly 汉族; a county may have a minority, from a trace to a majority of households."""
    minority = int(rng.choice(len(MINORITIES), p=_minority_weights()))
    share = rng.beta(2, 2) if rng.random() < 0.2 else rng.beta(1, 40)
    household_minority = rng.random(len(hh)) < share
    # Spouses and in-laws sometimes come from the other group.
    member_minority = household_minority[fam.household] ^ (rng.random(len(fam)) < 0.05)
    return columns.words([MAJORITY_ETHNICITY, MINORITIES[minority]], member_minority.astype(int))


def _minority_weights() -> np.ndarray:
    weights = 1.0 / np.arange(1, len(MINORITIES) + 1)
    return weights / weights.sum()


def draw(
    rng: np.random.Generator, hh: Households, fam: Family, years: tuple[int, ...],
    reference: np.datetime64,
) -> tuple[Members, dict[str, pa.Array]]:
    """Draw every member's attributes for the survey ``years``; return them and the members
    file's columns."""
    m = len(fam)
    age = np.floor(fam.age).astype(np.int64)
    hardship = hh.hardship[fam.household]
    health = _health(rng, fam.age, hardship)
    disabled = health == DISABLED
    grade = np.where(disabled, rng.choice(np.arange(1, 5), size=m, p=[.12, .23, .30, .35]), 0)
    deceased = _deceased(rng, fam, fam.age, np.datetime64(f"{years[0]}-01-01"), reference)
    may_go_uninsured, may_drop_out = _allowed(hh, fam, deceased, years)
    # the age the standard counts: the last survey year minus the birth year
    counted = years[-1] - (fam.birth.astype("datetime64[Y]").astype(np.int64) + 1970)
    schooling = _schooling(rng, counted, hardship, disabled, may_drop_out)
    education = _education(rng, fam, age, schooling, hardship)
    # Adults who never went to school have no schooling status to report.
    schooling = np.where((age >= 23) & (education == NONE), -1, schooling)
    labour = _labour(rng, age, health, grade, schooling == IN_SCHOOL)
    away = (labour <= ORDINARY_LABOUR) & (age >= 18) & (age <= 55) & (rng.random(m) < 0.45)
    months = np.where(away, rng.integers(3, 13, size=m), 0)
    medical, critical, pension, dibao = _benefits(rng, hh, fam, age, schooling,
                                                  may_go_uninsured)
    has_phone = (age >= 18) & (age <= 70) & (rng.random(m) < 0.5)
    phone = columns.random_digit_strings(rng, ["13", "15", "18"], m, 11)
    members = Members(health, schooling, labour, months, medical, dibao, deceased)
    table = {
        "household_number": columns.fixed_width(hh.number[fam.household], 16),
        "id_number": id_numbers(hh.county.code, fam.birth, fam.male),
        "name": person_names(rng, fam.surname, fam.male),
        "sex": columns.words([s.value for s in Sex], (~fam.male).astype(int)),
        "birth_date": columns.dates(fam.birth),
        "relation": columns.words([r.value for r in RELATIONS], fam.relation),
        "ethnicity": _ethnicity(rng, hh, fam),
        "education": columns.words([e.value for e in EDUCATIONS], education),
        "schooling_status": columns.words([s.value for s in SCHOOLING], np.maximum(schooling, 0),
                                          schooling >= 0),
        "health": columns.words([h.value for h in HEALTHS], health),
        "disability_grade": columns.optional(grade, disabled, pa.int32()),
        "labour": columns.words([lb.value for lb in LABOURS], labour),
        "months_worked_away": pa.array(months, pa.int32()),
        "medical_insurance": pa.array(medical),
        "critical_illness_insurance": pa.array(critical),
        "pension_insurance": pa.array(pension),
        "dibao": pa.array(dibao),
        "phone": columns.masked(columns.ascii_column(phone + ord("0")), has_phone),
        "deceased_date": columns.dates(deceased, ~np.isnat(deceased)),
    }
    return members, table
