"""GB 11643-1999 citizen ID numbers: check character, every rule of parse, compose."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuopin.domain import idnumber
from tuopin.domain.enums import Sex
from tuopin.domain.idnumber import IdNumberError

TODAY = date(2026, 11, 29)
PROPERTY = settings(max_examples=150, deadline=None)


def mod11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 written from its definition, as an oracle independent of WEIGHTS."""
    # Position i counts from the right with the check character at i=1; weight 2**(i-1) mod 11,
    # and the check value makes the weighted sum congruent to 1 mod 11.
    total = sum(int(c) * pow(2, 17 - k, 11) for k, c in enumerate(first17))
    value = (1 - total) % 11
    return "X" if value == 10 else str(value)


def with_check(first17: str) -> str:
    return first17 + mod11_2(first17)


# -- the standard's worked examples and check_char ---------------------------------------------


@pytest.mark.parametrize(
    ("number", "address", "born", "sex"),
    [
        ("11010519491231002X", "110105", date(1949, 12, 31), Sex.FEMALE),
        ("440524188001010014", "440524", date(1880, 1, 1), Sex.MALE),
    ],
)
def test_it_accepts_the_worked_examples_of_the_standard(
    number: str, address: str, born: date, sex: Sex
) -> None:
    info = idnumber.parse(number, today=TODAY)
    assert (info.address_code, info.birth_date, info.sex) == (address, born, sex)
    assert idnumber.is_valid(number, today=TODAY)


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),  # GB 11643-1999 example 1
        ("44052418800101001", "4"),  # GB 11643-1999 example 2
        ("00000000000000000", "1"),  # weighted sum 0
        ("62112119800101001", mod11_2("62112119800101001")),
        ("11010120000101000", mod11_2("11010120000101000")),
        ("99999999999999999", mod11_2("99999999999999999")),
    ],
)
def test_check_char_gives_the_known_check_characters(first17: str, expected: str) -> None:
    assert idnumber.check_char(first17) == expected


def test_every_check_character_from_0_to_x_is_reachable() -> None:
    # Changing the last digit walks through weight 2; ten values and X must all appear.
    seen = {idnumber.check_char(f"1101051949123100{d}") for d in range(10)}
    seen |= {idnumber.check_char(f"1101051949123101{d}") for d in range(10)}
    assert seen == set("0123456789X")


@pytest.mark.parametrize("first17", ["1101051949123100", "110105194912310021", "1101051949123100A"])
def test_check_char_refuses_anything_but_seventeen_digits(first17: str) -> None:
    with pytest.raises(ValueError):
        idnumber.check_char(first17)


# -- every rule of parse -------------------------------------------------------------------------


BAD_NUMBERS = [
    # id_length
    ("", "id_length"),
    ("   ", "id_length"),
    ("11010519491231002", "id_length"),
    ("11010519491231002X1", "id_length"),
    ("110105491231002", "id_length"),  # the old 15-digit form is not accepted
    # id_chars
    ("11010519491231002Y", "id_chars"),
    ("1101051949123100AX", "id_chars"),
    ("X10105194912310021", "id_chars"),
    ("110105-19491231-02", "id_chars"),
    ("11010519491231002*", "id_chars"),
    # id_address: the first two digits are no province
    (with_check("00010519491231002"), "id_address"),
    (with_check("99010519491231002"), "id_address"),
    (with_check("72010519491231002"), "id_address"),
    (with_check("10010519491231002"), "id_address"),
    # id_birth_date: impossible or future dates
    (with_check("11010519490230002"), "id_birth_date"),  # 30 February
    (with_check("11010520190229002"), "id_birth_date"),  # 2019 is not a leap year
    (with_check("11010519001329002"), "id_birth_date"),  # month 13
    (with_check("11010519490001002"), "id_birth_date"),  # month 0
    (with_check("11010519491200002"), "id_birth_date"),  # day 0
    (with_check("11010519490431002"), "id_birth_date"),  # 31 April
    (with_check("11010500000101002"), "id_birth_date"),  # year 0
    (with_check("11010518491231002"), "id_birth_date"),  # before 1850
    (with_check("11010520261130002"), "id_birth_date"),  # the day after TODAY
    (with_check("11010520270101002"), "id_birth_date"),  # next year
    # id_check_char
    ("110105194912310021", "id_check_char"),
    ("110105194912310020", "id_check_char"),
    ("440524188001010015", "id_check_char"),
    ("44052418800101001X", "id_check_char"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_NUMBERS)
def test_it_refuses_a_number_that_breaks_a_rule_with_the_rule_code(raw: str, code: str) -> None:
    with pytest.raises(IdNumberError) as caught:
        idnumber.parse(raw, today=TODAY)
    assert caught.value.code == code
    assert not idnumber.is_valid(raw, today=TODAY)


def test_it_rejects_a_bad_check_character_and_names_it_in_the_detail() -> None:
    with pytest.raises(IdNumberError) as caught:
        idnumber.parse("110105194912310021", today=TODAY)
    assert caught.value.detail == "1"
    assert str(caught.value) == "id_check_char: 1"


def test_an_id_number_error_is_a_value_error() -> None:
    assert issubclass(IdNumberError, ValueError)


@pytest.mark.parametrize(
    ("born", "today", "valid"),
    [
        (date(2020, 2, 29), date(2020, 2, 29), True),  # born today
        (date(2020, 2, 29), date(2020, 2, 28), False),  # born tomorrow
        (date(2026, 11, 29), TODAY, True),
        (date(2026, 11, 30), TODAY, False),
        (date(1850, 1, 1), TODAY, True),  # the earliest year allowed
    ],
)
def test_the_birth_date_is_checked_against_the_today_argument(
    born: date, today: date, valid: bool
) -> None:
    number = idnumber.compose("620102", born, 11)
    assert idnumber.is_valid(number, today=today) is valid


@pytest.mark.parametrize(
    "raw",
    ["11010519491231002x", " 11010519491231002X ", "110105 19491231 002x",
     "\t11010519491231002x\n"],
)
def test_it_accepts_a_lower_case_x_and_blanks_as_people_type_them(raw: str) -> None:
    assert idnumber.normalize(raw) == "11010519491231002X"
    assert idnumber.parse(raw, today=TODAY) == idnumber.parse("11010519491231002X", today=TODAY)


@pytest.mark.parametrize(
    ("sequence", "sex"),
    [(0, Sex.FEMALE), (1, Sex.MALE), (2, Sex.FEMALE), (9, Sex.MALE), (10, Sex.FEMALE),
     (11, Sex.MALE), (998, Sex.FEMALE), (999, Sex.MALE)],
)
def test_the_sex_comes_from_the_parity_of_the_seventeenth_digit(sequence: int, sex: Sex) -> None:
    number = idnumber.compose("621121", date(1980, 1, 1), sequence)
    assert idnumber.parse(number, today=TODAY).sex is sex


@pytest.mark.parametrize(
    "province", sorted(idnumber.PROVINCE_CODES),
)
def test_every_province_code_is_accepted_as_an_address(province: str) -> None:
    number = idnumber.compose(f"{province}0101", date(1990, 6, 15), 123)
    assert idnumber.parse(number, today=TODAY).address_code == f"{province}0101"


@pytest.mark.parametrize(
    "raw",
    [
        # Full-width digits after an ASCII province: str.isdigit() and int() accept them.
        "44０５２４１８８００１０１００１4",
        # Arabic-Indic digits in the county part.
        "11" + "٠١٠٥" + "19491231002X",
    ],
)
def test_it_refuses_digits_that_are_not_ascii_with_id_chars(raw: str) -> None:
    with pytest.raises(IdNumberError) as caught:
        idnumber.parse(raw, today=TODAY)
    assert caught.value.code == "id_chars"


@pytest.mark.parametrize(
    "raw",
    [
        "440524188001010²14",  # a superscript two in the sequence
        "4405241880010100①4",  # a circled one
    ],
)
def test_it_raises_an_id_number_error_for_digit_like_symbols(raw: str) -> None:
    with pytest.raises(IdNumberError):
        idnumber.parse(raw, today=TODAY)


# -- compose and the vectorised check --------------------------------------------------------


provinces = st.sampled_from(sorted(idnumber.PROVINCE_CODES))
addresses = st.builds(lambda p, rest: f"{p}{rest:04d}", provinces, st.integers(0, 9999))
birth_dates = st.dates(min_value=date(1850, 1, 1), max_value=TODAY)
sequences = st.integers(0, 999)


@PROPERTY
@given(address=addresses, born=birth_dates, sequence=sequences)
def test_compose_round_trips_through_parse(address: str, born: date, sequence: int) -> None:
    number = idnumber.compose(address, born, sequence)
    assert len(number) == 18
    assert number[-1] == mod11_2(number[:17])
    info = idnumber.parse(number, today=TODAY)
    assert info.address_code == address
    assert info.birth_date == born
    assert info.sex is (Sex.MALE if sequence % 2 else Sex.FEMALE)
    assert idnumber.parse(number.lower(), today=TODAY) == info


@pytest.mark.parametrize(
    ("address", "born", "sequence", "expected"),
    [
        ("110105", date(1949, 12, 31), 2, "11010519491231002X"),
        ("440524", date(1880, 1, 1), 1, "440524188001010014"),
        ("621121", date(2012, 3, 5), 22, "62112120120305022" + mod11_2("62112120120305022")),
    ],
)
def test_compose_builds_the_known_numbers(
    address: str, born: date, sequence: int, expected: str
) -> None:
    assert idnumber.compose(address, born, sequence) == expected


digit_rows = st.lists(st.text(alphabet="0123456789", min_size=17, max_size=17),
                      min_size=1, max_size=40)


@PROPERTY
@given(rows=digit_rows)
def test_check_chars_vectorised_agrees_with_check_char(rows: list[str]) -> None:
    digits = np.array([[int(c) for c in row] for row in rows], dtype=np.int8)
    got = idnumber.check_chars_vectorised(digits)
    assert got.shape == (len(rows),)
    assert list(got) == [idnumber.check_char(row) for row in rows]
    assert list(got) == [mod11_2(row) for row in rows]


@PROPERTY
@given(rows=digit_rows)
def test_check_bytes_vectorised_agrees_with_check_char(rows: list[str]) -> None:
    # as the importer calls it: digit values of the cells' bytes, in a wider matrix's columns
    codes = np.frombuffer("".join(row + "X" for row in rows).encode(), np.uint8).reshape(-1, 18)
    got = idnumber.check_bytes_vectorised((codes - np.uint8(48))[:, :17])
    assert bytes(got).decode() == "".join(mod11_2(row) for row in rows)


def test_check_chars_vectorised_handles_no_rows() -> None:
    assert idnumber.check_chars_vectorised(np.zeros((0, 17), dtype=np.int64)).shape == (0,)


id_like = st.builds(
    lambda digits, last, spaces: (" " * spaces) + digits + last,
    st.text(alphabet="0123456789", min_size=15, max_size=19),
    st.sampled_from(["", "X", "x", "0", "9", "Y", " "]),
    st.integers(0, 2),
)


@PROPERTY
@given(raw=st.one_of(st.text(), id_like))
def test_parse_only_ever_raises_an_id_number_error(raw: str) -> None:
    try:
        info = idnumber.parse(raw, today=TODAY)
    except IdNumberError as exc:
        assert exc.code in {"id_length", "id_chars", "id_address", "id_birth_date",
                            "id_check_char"}
        assert idnumber.is_valid(raw, today=TODAY) is False
    else:
        assert info.birth_date <= TODAY
        assert idnumber.is_valid(raw, today=TODAY) is True


@PROPERTY
@given(address=addresses, born=birth_dates, sequence=sequences, position=st.integers(0, 16),
       delta=st.integers(1, 9))
def test_changing_one_digit_is_always_caught(
    address: str, born: date, sequence: int, position: int, delta: int
) -> None:
    # MOD 11-2 detects every single-digit substitution; the change may also break another rule.
    number = idnumber.compose(address, born, sequence)
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1:]
    assert not idnumber.is_valid(changed, today=TODAY + timedelta(days=365 * 200))
