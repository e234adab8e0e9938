"""The exit of a household (退出), as a state machine, per 厅字〔2016〕16号.

未脱贫 → 预脱贫 (democratic review proposes, on an assessment showing the standard met)
→ 公示中 (public notice in the village) → 已脱贫 (announced, struck off the register);
an objection during the notice sends the case back to 未脱贫; 返贫 when a later assessment
finds an exited household poor again. Each function takes the case as it stands and returns
the next one, or raises RuleBroken saying why not (a msgid and its values, so the web shows it
in zh or en); nothing here touches storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from tuopin.domain.enums import ExitState, HouseholdStatus
from tuopin.domain.errors import Listing, Message, RuleBroken
from tuopin.i18n import N_


@dataclass(frozen=True)
class ExitCase:
    """Where a household's exit stands."""

    state: ExitState = ExitState.NOT_EXITED
    opened_on: date | None = None
    notice_start: date | None = None
    notice_end: date | None = None
    exited_on: date | None = None


def _require(case: ExitCase, action: str, *allowed: ExitState) -> None:
    if case.state not in allowed:
        raise RuleBroken(
            N_("cannot {action}: the case is '{state}' ({title}); this step needs a case in "
               "{wanted} ({wanted_title})"),
            action=Message(action), state=case.state.value, title=Message(case.state.title),
            wanted=" or ".join(f"'{s.value}'" for s in allowed),
            wanted_title=Listing(Message(s.title) for s in allowed))


def _check_identification_year(year_identified: int | None, when: date, *,
                               allowed: bool) -> None:
    # Local rule (DOMAIN.md [sx]): a household identified this year does not exit this year.
    if not allowed and year_identified is not None and when.year <= year_identified:
        raise RuleBroken(
            N_("no exit in the year of identification: the household was identified in "
               "{year} and this is {on} (TUOPIN_EXIT_IN_IDENTIFICATION_YEAR allows it)"),
            year=year_identified, on=when.isoformat())


def propose(case: ExitCase, *, as_of: date, minutes: str, status: HouseholdStatus,
            poor_in_run: bool, failed: Sequence[str], year_identified: int | None,
            allow_identification_year: bool) -> ExitCase:
    """预脱贫: the village's democratic review proposes a registered poor household."""
    _require(case, N_("propose an exit"), ExitState.NOT_EXITED, ExitState.RETURNED)
    if status is not HouseholdStatus.POOR:
        raise RuleBroken(N_("only a registered poor household can exit; this one is "
                            "'{status}' ({title})"),
                         status=status.value, title=Message(status.title))
    if not minutes.strip():
        raise RuleBroken(N_("a proposal needs the democratic review's minutes (reference)"))
    if poor_in_run:
        raise RuleBroken(N_("the household is still poor in the assessment: it fails {failed}"),
                         failed=Listing(failed) if failed else Message(N_("the standard")),
                         problems=list(failed))
    _check_identification_year(year_identified, as_of, allowed=allow_identification_year)
    return ExitCase(state=ExitState.PRE_EXIT, opened_on=as_of)


def start_notice(case: ExitCase, *, start: date, notice_days: int, as_of: date) -> ExitCase:
    """公示: the notice runs ``notice_days`` from ``start``: not before the proposal, and not
    after ``as_of`` (today), or the notice could be over before anyone could object."""
    _require(case, N_("start the notice"), ExitState.PRE_EXIT)
    if start > as_of:
        raise RuleBroken(N_("the notice cannot start on {start}, after today ({today})"),
                         start=start.isoformat(), today=as_of.isoformat())
    if notice_days < 1:
        raise RuleBroken(N_("the notice must last at least one day, not {days}"),
                         days=notice_days)
    if case.opened_on is not None and start < case.opened_on:
        raise RuleBroken(N_("the notice cannot start ({start}) before the proposal "
                            "({proposed})"),
                         start=start.isoformat(), proposed=case.opened_on.isoformat())
    return replace(case, state=ExitState.IN_NOTICE, notice_start=start,
                   notice_end=start + timedelta(days=notice_days))


def announce(case: ExitCase, *, as_of: date, year_identified: int | None,
             allow_identification_year: bool) -> ExitCase:
    """公告: announced on or after the notice's end; the household is struck off."""
    _require(case, N_("announce the exit"), ExitState.IN_NOTICE)
    assert case.notice_end is not None  # set with the state
    if as_of < case.notice_end:
        last = case.notice_end - timedelta(days=1)
        raise RuleBroken(N_("the notice lasts until {last}: the exit can be announced from "
                            "{first}, not on {on}"),
                         last=last.isoformat(), first=case.notice_end.isoformat(),
                         on=as_of.isoformat())
    _check_identification_year(year_identified, as_of, allowed=allow_identification_year)
    return replace(case, state=ExitState.EXITED, exited_on=as_of)


def object_to(case: ExitCase, *, as_of: date, reason: str) -> ExitCase:
    """An objection while the notice runs sends the case back to 未脱贫."""
    _require(case, N_("record an objection"), ExitState.IN_NOTICE)
    assert case.notice_start is not None
    if not reason.strip():
        raise RuleBroken(N_("an objection needs its reason"))
    if as_of < case.notice_start:
        raise RuleBroken(N_("the notice starts on {start}: no objection can be recorded on "
                            "{on}"), start=case.notice_start.isoformat(), on=as_of.isoformat())
    return ExitCase(state=ExitState.NOT_EXITED, opened_on=case.opened_on)


def mark_returned(case: ExitCase) -> ExitCase:
    """返贫: a later assessment finds the exited household poor again."""
    _require(case, N_("mark a return to poverty"), ExitState.EXITED)
    return replace(case, state=ExitState.RETURNED)
