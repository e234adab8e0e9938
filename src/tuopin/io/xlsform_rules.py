"""The XLSForm type and constraint of each import field: the phone refuses what the importer
would refuse, in the constraint expression itself (a calculate cannot refuse an answer).

Constraints use only XPath 1.0 and the ODK functions every client has (``regex``,
``string-length``, ``substr``, ``contains``, ``round`` with places), so ODK Collect,
Enketo (Central's and Kobo's web forms) and KoboCollect agree. JavaRosa has no XPath
``substring``: ODK's ``substr(text, start, end)`` counts from 0 and stops before ``end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tuopin.domain.idnumber import PROVINCE_CODES, WEIGHTS
from tuopin.i18n import N_, translate
from tuopin.io.cells import PHONE_RE
from tuopin.io.schema import Field, FieldType

TOO_LONG = N_("Longer than {limit} characters.")
OUT_OF_RANGE = N_("From {minimum} to {maximum}.")
BELOW = N_("Less than the minimum {limit}.")
ABOVE = N_("More than the maximum {limit}.")
SUB_FEN = N_("Money has at most two decimal places (yuan and fen).")
NOT_A_PHONE = N_("Not a phone number.")
NOT_AN_ID = N_("Not a valid ID number: 18 characters and a matching check character "
               "(X or x stands for 10).")

YES_NO = "yes_no"

# 6 address digits (a known province first), a birth date of 18xx-20xx with a month and a
# day in range, 3 sequence digits and a check character; the calendar itself (2月30日) is
# the importer's to judge
ID_REGEX = ("^(" + "|".join(sorted(PROVINCE_CODES)) + r")[0-9]{4}(18|19|20)[0-9]{2}"
            r"(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$")


@dataclass(frozen=True)
class Constraint:
    """An XPath constraint on ``.`` and what the phone says when an answer breaks it."""

    expression: str
    messages: tuple[tuple[str, dict[str, object]], ...]

    def message(self, lang: str) -> str:
        return " ".join(translate(msgid, lang, **params) for msgid, params in self.messages)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _quoted(text: str) -> str:
    if "'" in text:
        raise ValueError(f"no single quote may appear in an XPath literal: {text!r}")
    return f"'{text}'"


def id_number_expression() -> str:
    """The format and the check character of a citizen ID number ('x' and 'X' for 10).

    GB 11643's check character is the one that makes the weighted sum of all 18 characters
    (the last weighs 1, X counts 10) leave 1 mod 11 (ISO 7064 MOD 11-2): the same rule as
    looking the first 17's sum up in '10X98765432', written with one sum.
    """
    terms = " + ".join(f"substr(., {i}, {i + 1}) * {w}" for i, w in enumerate(WEIGHTS))
    last = "substr(., 17, 18)"
    check = f"if({last} = 'X' or {last} = 'x', 10, {last})"
    return f"regex(., {_quoted(ID_REGEX)}) and (({terms} + {check}) mod 11) = 1"


def xlsform_type(spec: Field) -> str:
    """The XLSForm ``type`` of a field: its choice list for an enumeration or a boolean."""
    if spec.type is FieldType.BOOLEAN:
        return f"select_one {YES_NO}"
    if spec.type in (FieldType.ENUM, FieldType.ENUM_LIST):
        assert spec.enum is not None
        kind = "select_one" if spec.type is FieldType.ENUM else "select_multiple"
        return f"{kind} {list_name(spec.enum.__name__)}"
    simple = {FieldType.TEXT: "text", FieldType.INTEGER: "integer",
              FieldType.DECIMAL: "decimal", FieldType.DATE: "date",
              FieldType.ID_NUMBER: "text", FieldType.PHONE: "text"}
    if spec.type not in simple:
        raise ValueError(f"field {spec.name}: a form does not ask a {spec.type.value}")
    return simple[spec.type]


def list_name(enum_name: str) -> str:
    """``HousingGrade`` -> ``housing_grade``: a choice list per enumeration."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum_name).lower()


def constraint(spec: Field) -> Constraint | None:
    """What the importer checks of a field, as the phone checks it."""
    if spec.type is FieldType.ID_NUMBER:
        return Constraint(id_number_expression(), ((NOT_AN_ID, {}),))
    if spec.type is FieldType.PHONE:
        return Constraint(f"regex(., {_quoted(PHONE_RE)})", ((NOT_A_PHONE, {}),))
    if spec.type is FieldType.TEXT and spec.max_length:
        return Constraint(f"string-length(.) <= {spec.max_length}",
                          ((TOO_LONG, {"limit": spec.max_length}),))
    if spec.type not in (FieldType.INTEGER, FieldType.DECIMAL):
        return None
    parts: list[str] = []
    messages: list[tuple[str, dict[str, object]]] = []
    low = None if spec.minimum is None else _number(spec.minimum)
    high = None if spec.maximum is None else _number(spec.maximum)
    parts += [f". >= {low}"] if low is not None else []
    parts += [f". <= {high}"] if high is not None else []
    if low is not None and high is not None:
        messages.append((OUT_OF_RANGE, {"minimum": low, "maximum": high}))
    elif low is not None or high is not None:
        messages.append((BELOW, {"limit": low}) if low is not None else (ABOVE, {"limit": high}))
    if spec.money:  # yuan and fen: round(x, 2) gives x back for every amount typed so
        parts.append("round(., 2) = .")
        messages.append((SUB_FEN, {}))
    return Constraint(" and ".join(parts), tuple(messages)) if parts else None
