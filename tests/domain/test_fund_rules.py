"""The funds checks' rules file: thresholds and rules with sources; a county's file replaces
the keys it gives, and every mistake in it is named by file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuopin.domain import fund_rules
from tuopin.domain.errors import ValidationFailed
from tuopin.domain.fund_rules import RULES, Severity, SubjectKind


def test_the_shipped_rules_hold_the_issue_s_thresholds_and_every_rule_with_a_source() -> None:
    rules = fund_rules.load()
    assert rules.thresholds == {"duplicate_window_days": 30, "years_after_exit": 5,
                                "idle_days": 365}
    assert [r.id for r in rules.rules] == list(RULES)
    assert all(rules.sources[name].strip() for name in rules.thresholds)
    for rule in rules.rules:
        assert rule.source.strip() and rule.title.zh and rule.title.en, rule.id
        assert rule.severity in set(Severity)
    assert rules.rule("payee_deceased").subject_kind is SubjectKind.DISBURSEMENT
    assert rules.rule("over_budget").subject_kind is SubjectKind.PROJECT
    assert rules.rule("idle_funds").subject_kind is SubjectKind.FUND


def test_the_sources_cite_the_audit_findings_and_the_transition_period() -> None:
    rules = fund_rules.load()
    assert "[yj21]" in rules.sources["years_after_exit"]
    assert "[sj]" in rules.sources["idle_days"]
    assert all("[sj]" in r.source for r in rules.rules)


def test_an_explanation_chooses_its_variant_and_falls_back_to_the_default() -> None:
    rule = fund_rules.load().rule("payee_ineligible")
    assert "{year_exited}" in rule.explanation("exited").en
    assert rule.explanation("").en == rule.explanation(None).en == rule.explain[""].en
    assert "从未" in rule.explanation(None).get("zh")


def test_a_county_file_replaces_only_the_keys_it_gives(tmp_path: Path) -> None:
    path = tmp_path / "county.toml"
    path.write_text(
        '[thresholds]\nidle_days = 180\n[sources]\nidle_days = "县财政局 2024 年 3 号文"\n'
        '[[rule]]\nid = "project_overdue"\nseverity = "high"\n', encoding="utf-8")
    rules = fund_rules.load(path)
    assert rules.thresholds == {"duplicate_window_days": 30, "years_after_exit": 5,
                                "idle_days": 180}
    assert rules.sources["idle_days"] == "县财政局 2024 年 3 号文"
    assert rules.rule("project_overdue").severity is Severity.HIGH
    assert rules.rule("project_overdue").title == fund_rules.load().rule(
        "project_overdue").title
    assert str(path) in rules.origin


@pytest.mark.parametrize(("text", "key"), [
    ("[thresholds]\nidle_days = -1\n[sources]\nidle_days = \"x\"\n", "thresholds.idle_days"),
    ("[thresholds]\nidle_days = 1.5\n[sources]\nidle_days = \"x\"\n", "thresholds.idle_days"),
    ("[thresholds]\nidle_days = true\n[sources]\nidle_days = \"x\"\n", "thresholds.idle_days"),
    ("[thresholds]\nidle_days = 100\n", "sources.idle_days"),  # a threshold needs its source
    ("[thresholds]\nidel_days = 100\n", "thresholds.idel_days"),
    ("[sources]\nidle_days = \"\"\n", "sources.idle_days"),
    ("[rules]\n", "rules"),
    ("[[rule]]\nid = \"paid_twice\"\n", "rule[0].id"),
    ("[[rule]]\nseverity = \"high\"\n", "rule[0].id"),
    ("[[rule]]\nid = \"idle_funds\"\nseverity = \"urgent\"\n", "rule[idle_funds].severity"),
    ("[[rule]]\nid = \"idle_funds\"\nweight = 2\n", "rule[idle_funds].weight"),
    ("[[rule]]\nid = \"idle_funds\"\ntitle = { zh = \"闲置\" }\n", "rule[idle_funds].title"),
    ("[[rule]]\nid = \"idle_funds\"\nexplain = { zh = \"{nothing}\", en = \"x\" }\n",
     "rule[idle_funds].explain.zh"),
    ("[[rule]]\nid = \"idle_funds\"\nexplain = { zh = \"{days\", en = \"x\" }\n",
     "rule[idle_funds].explain.zh"),
    ("[[rule]]\nid = \"idle_funds\"\nexplain_exited = { zh = \"x\", en = \"x\" }\n",
     "rule[idle_funds].explain_exited"),
    ("[[rule]]\nid = \"idle_funds\"\n[[rule]]\nid = \"idle_funds\"\n", "rule[1].id"),
    ("[[rule]]\nid = \"idle_funds\"\nsource = \" \"\n", "rule[idle_funds].source"),
    ("thresholds = 3\n", "thresholds"),
    ("[thresholds\n", "not a TOML file"),
])
def test_a_mistake_in_a_county_file_is_named_by_file_and_key(tmp_path: Path, text: str,
                                                            key: str) -> None:
    path = tmp_path / "county.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as raised:
        fund_rules.load(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert key in str(raised.value)


def test_a_missing_rules_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="no such rules file"):
        fund_rules.load(tmp_path / "none.toml")


def test_every_template_names_only_facts_of_its_rule() -> None:
    rules = fund_rules.load()
    for rule in rules.rules:
        known = {"number", "amount", *fund_rules.THRESHOLDS, *RULES[rule.id][1]}
        for text in rule.explain.values():
            for lang in ("zh", "en"):
                assert set(fund_rules.PLACEHOLDER.findall(text.get(lang))) <= known, rule.id
