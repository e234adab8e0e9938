"""Messages that carry their msgid and values, so a refusal reads in zh or en."""

from __future__ import annotations

from tuopin.domain.errors import Bilingual, Listing, Message, RuleBroken, ValidationFailed
from tuopin.domain.ledger import RuleBroken as LedgerRuleBroken
from tuopin.i18n import gettext


def test_a_message_reads_as_its_english_text_and_keeps_its_msgid() -> None:
    text = Message("the notice lasts until {last}", last="2020-03-11")
    assert text == "the notice lasts until 2020-03-11"
    assert (text.msgid, text.values) == ("the notice lasts until {last}", {"last": "2020-03-11"})


def test_messages_among_the_values_are_translated_with_it() -> None:
    title = Message("in public notice")  # an enum title the catalog knows
    text = Message("{title} ({code})", title=title, code="in_notice")
    assert text.translated("en") == "in public notice (in_notice)"
    assert text.translated("zh") == f"{gettext('in public notice', 'zh')} (in_notice)"


def test_a_listing_joins_words_or_clauses_in_each_language() -> None:
    words = Listing([Message("in public notice"), "income"])
    assert words == "in public notice, income"
    assert words.translated("zh") == f"{gettext('in public notice', 'zh')}、income"
    clauses = Listing(["a", "b"], clauses=True)
    assert (clauses, clauses.translated("zh")) == ("a; b", "a；b")


def test_a_bilingual_name_comes_from_its_data() -> None:
    name = Bilingual("Safe housing", "住房安全")
    assert (name, name.translated("en"), name.translated("zh-CN")) == (
        "Safe housing", "Safe housing", "住房安全")


def test_a_broken_rule_is_a_validation_failure_with_its_problems() -> None:
    refusal = RuleBroken("fails {failed}", failed=Listing(["x", "y"]), problems=["x", "y"])
    assert isinstance(refusal, ValidationFailed) and refusal.problems == ["x", "y"]
    assert (str(refusal), refusal.msgid, refusal.translated("zh")) == (
        "fails x, y", "fails {failed}", "fails x、y")
    assert LedgerRuleBroken is RuleBroken  # the ledger's callers import it from there
