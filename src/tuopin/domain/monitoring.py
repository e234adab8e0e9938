"""防返贫监测: the identification procedure, its deadline, risk clearance and the notice text.

The procedure (中农组发〔2021〕7号, DOMAIN.md): proposed → home visit and consent → democratic
review → village notice (at least the notice days) → township review → county decision
(identified or rejected); 15 days at most from proposal to decision. Advancing after the
deadline is allowed (the work still has to be done) but the case counts as late. An
identified case is closed by risk clearance (风险消除) only when every condition holds.
Every refusal is a RuleBroken (a msgid and its values), so the web shows it in zh or en.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from tuopin.domain.enums import MonitoringCategory, MonitoringState
from tuopin.domain.errors import Listing, Message, RuleBroken
from tuopin.domain.exit_criteria import Clearance
from tuopin.i18n import N_

S = MonitoringState
NEXT: dict[MonitoringState, MonitoringState] = {
    S.PROPOSED: S.VISITED,
    S.VISITED: S.REVIEWED,
    S.REVIEWED: S.IN_NOTICE,
    S.IN_NOTICE: S.TOWNSHIP_REVIEWED,
    S.TOWNSHIP_REVIEWED: S.IDENTIFIED,
}
PROCEDURE = frozenset(NEXT)  # the steps before the county's decision
CLOSED = frozenset({S.REJECTED, S.CLEARED})  # a household with a closed case may be proposed


@dataclass(frozen=True)
class MonitoringCase:
    state: MonitoringState
    opened_on: date
    deadline: date
    notice_start: date | None = None
    notice_end: date | None = None
    identified_on: date | None = None
    cleared_on: date | None = None
    last_step_on: date | None = None  # the date of the case's latest step


def open_case(*, as_of: date, deadline_days: int) -> MonitoringCase:
    """A proposed case whose decision is due ``deadline_days`` after ``as_of``."""
    return MonitoringCase(state=S.PROPOSED, opened_on=as_of,
                          deadline=as_of + timedelta(days=deadline_days))


def pick_category(ids: Iterable[str]) -> MonitoringCategory | None:
    """The first of the three categories (in policy order) among a result's category ids."""
    found = set(ids)
    return next((c for c in MonitoringCategory if c.value in found), None)


def advance(case: MonitoringCase, to: MonitoringState, *, on: date, as_of: date,
            notice_days: int, note: str | None = None) -> MonitoringCase:
    """Take the next step of the procedure (or reject the case), on ``on``: not after
    ``as_of`` (today), nor before the step it follows."""
    if to is S.CLEARED:
        raise RuleBroken(N_("risk clearance is not a procedural step: clear the case, which "
                            "checks its conditions"))
    if case.state not in PROCEDURE:
        raise RuleBroken(N_("the case is '{state}' ({title}): its procedure is over"),
                         state=case.state.value, title=Message(case.state.title))
    if on > as_of:
        raise RuleBroken(N_("a step cannot be dated {on}, after today ({today})"),
                         on=on.isoformat(), today=as_of.isoformat())
    if on < case.opened_on:
        raise RuleBroken(N_("a step cannot be dated {on}, before the case was opened "
                            "({opened})"), on=on.isoformat(), opened=case.opened_on.isoformat())
    if case.last_step_on is not None and on < case.last_step_on:
        raise RuleBroken(N_("a step cannot be dated {on}, before the step it follows "
                            "({last})"), on=on.isoformat(), last=case.last_step_on.isoformat())
    if to is S.REJECTED:
        if not (note or "").strip():
            raise RuleBroken(N_("a rejection needs its reason (a note)"))
        return replace(case, state=S.REJECTED, last_step_on=on)
    expected = NEXT[case.state]
    if to is not expected:
        raise RuleBroken(N_("cannot go from '{state}' to '{to}': the next step is '{next}' "
                            "({title})"),
                         state=case.state.value, to=to.value, next=expected.value,
                         title=Message(expected.title), state_title=Message(case.state.title),
                         to_title=Message(to.title))
    if to is S.IN_NOTICE:
        return replace(case, state=to, notice_start=on,
                       notice_end=on + timedelta(days=notice_days), last_step_on=on)
    if case.state is S.IN_NOTICE:
        assert case.notice_end is not None
        if on < case.notice_end:
            last = case.notice_end - timedelta(days=1)
            raise RuleBroken(N_("the village notice lasts until {last} (at least {days} "
                                "days): the township can review it from {first}, not on "
                                "{on}"),
                             last=last.isoformat(), days=notice_days,
                             first=case.notice_end.isoformat(), on=on.isoformat())
    if to is S.IDENTIFIED:
        return replace(case, state=to, identified_on=on, last_step_on=on)
    return replace(case, state=to, last_step_on=on)


def is_late(case: MonitoringCase, *, as_of: date, decided_on: date | None = None) -> bool:
    """Past the deadline without a decision, or decided after it."""
    if case.state in PROCEDURE:
        return as_of > case.deadline
    return decided_on is not None and decided_on > case.deadline


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ClearanceFacts:
    """What risk clearance is judged on, gathered by the service."""

    income_per_capita: float | None  # the latest monitoring assessment's figure
    monitoring_line: float | None  # that assessment's monitoring line
    delivered_measures: int  # the household's measures done or verified
    able_bodied_members: int  # living members whose labour counts as able-bodied


def clearance_problems(case: MonitoringCase, facts: ClearanceFacts, *, as_of: date,
                       rule: Clearance) -> list[Message]:
    """Every unmet condition of 风险消除 (an empty list: the risk may be cleared)."""
    problems = []
    if facts.income_per_capita is None or facts.monitoring_line is None:
        problems.append(Message(N_("no income figure from a monitoring assessment")))
    elif facts.income_per_capita < facts.monitoring_line:
        problems.append(Message(N_("income per capita {income} is still below the monitoring "
                                   "line {line}"),
                                income=f"{facts.income_per_capita:g}",
                                line=f"{facts.monitoring_line:g}"))
    stable_from = (add_months(case.identified_on, rule.min_months_stable)
                   if case.identified_on else None)
    if stable_from is None or as_of < stable_from:
        problems.append(Message(N_("less than {months} months since identification (possible "
                                   "from {on})"), months=rule.min_months_stable,
                                on=stable_from.isoformat() if stable_from else "-"))
    if facts.delivered_measures < rule.min_measures_delivered:
        problems.append(Message(N_("no assistance measure delivered (needs at least {count} "
                                   "done or verified)"), count=rule.min_measures_delivered))
    if facts.able_bodied_members == 0:
        problems.append(Message(N_("the household has no able-bodied labour: its risk is not "
                                   "cleared")))
    return problems


def clear(case: MonitoringCase, facts: ClearanceFacts, *, as_of: date,
          rule: Clearance) -> MonitoringCase:
    """风险消除, only when every condition holds; the refusal names each unmet one."""
    if case.state is not S.IDENTIFIED:
        raise RuleBroken(N_("only an identified case can be cleared; this one is '{state}' "
                            "({title})"), state=case.state.value, title=Message(case.state.title))
    problems = clearance_problems(case, facts, as_of=as_of, rule=rule)
    if problems:
        raise RuleBroken(N_("risk not cleared: {reasons}"),
                         reasons=Listing(problems, clauses=True), problems=list(problems))
    return replace(case, state=S.CLEARED, cleared_on=as_of)


@dataclass(frozen=True)
class NoticeFacts:
    """All a village notice may show: no ID, phone, bank or health data can reach it."""

    village: str
    head_name: str
    household_size: int
    category_title: str
    notice_start: date
    notice_end: date


_NOTICE = {
    "zh": ("{village}防止返贫监测对象拟纳入公示\n"
           "经农户申请或干部排查、入户核实和村民主评议，拟将下列农户纳入防止返贫监测对象，"
           "现予公示。\n"
           "户主：{head}　家庭人口：{size}人　监测类型：{category}\n"
           "公示期：{start}至{end}。如有异议，请于公示期内向村民委员会反映。"),
    "en": ("{village}: notice of a household proposed for return-to-poverty monitoring\n"
           "After the household's application or a cadre's visit, a home visit and the "
           "village's democratic review, the household below is proposed for monitoring.\n"
           "Head of household: {head}; members: {size}; category: {category}\n"
           "Notice period: {start} to {end}. Objections go to the village committee within "
           "the notice period."),
}


def notice_text(facts: NoticeFacts, *, lang: str = "zh") -> str:
    """The village notice (公示) of a proposed monitored household."""
    template = _NOTICE["en" if lang.startswith("en") else "zh"]
    # notice_end is the first day after the notice (when the township may review): people
    # read a notice period as its first and last day
    last = max(facts.notice_start, facts.notice_end - timedelta(days=1))
    return template.format(village=facts.village, head=facts.head_name,
                           size=facts.household_size, category=facts.category_title,
                           start=facts.notice_start.isoformat(), end=last.isoformat())
