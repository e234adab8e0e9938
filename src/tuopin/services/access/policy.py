"""Who may do what: the one table of actions and roles, asked by every service function.

A service function declares the action it performs with ``@changes(Action.X)`` (it writes)
or ``@reads(Action.Y)`` (it only reads); the decorator refuses a principal whose role the
table does not list before the function runs, so no door (web, API, CLI) can skip the rule.
Where the records are - the region and a helper's own households - is the other half of the
rule: the functions apply ``principal.scope`` inside their queries (services/records.py), so
that a record outside it is never found (NotFound, as if it did not exist).

The sequence of the procedures - 村申请、乡审核、县审定 - is part of this table: each step of
monitoring is its own action (``monitoring_step``), held by the level that takes it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from tuopin.domain.enums import MonitoringState, Role
from tuopin.domain.errors import PermissionDenied
from tuopin.i18n import N_
from tuopin.services.access.principal import Principal

P = ParamSpec("P")
R = TypeVar("R")
NOT_ALLOWED = N_("Your role may not do this.")


class Action(StrEnum):
    """Everything the services let a principal do, read or write."""

    # reading the registry, its reports and its procedures (every role, in its scope)
    READ = "read"
    READ_LISTS = "read_lists"  # overdue, accountability, case lists (they rank the helpers)
    READ_AUDIT = "read_audit"  # the whole audit trail and its verification
    EXPORT = "export"
    REVEAL = "reveal"  # one masked number shown in full, audited
    # the registry
    REGISTER = "register"  # a new household (with its members)
    EDIT_REGISTRY = "edit_registry"  # households, members and surveys
    IMPORT = "import"  # households, members, surveys, helpers
    IMPORT_REGIONS = "import_regions"
    LOAD_SYNTHETIC = "load_synthetic"
    # assessment
    ASSESS = "assess"
    # plans and the ledger
    DRAFT_PLANS = "draft_plans"
    EDIT_PLAN = "edit_plan"
    APPROVE_PLAN = "approve_plan"
    MOVE_MEASURE = "move_measure"  # start, complete, delay, cancel; attach evidence
    VERIFY_MEASURE = "verify_measure"  # 对账销号
    REMEASURE = "remeasure"
    # exits
    EXIT_STEP = "exit_step"  # propose, notice, announce, objection
    MARK_RETURNS = "mark_returns"
    # monitoring
    MONITOR_SCAN = "monitor_scan"
    REPORT_SHOCK = "report_shock"
    MONITOR_APPLY = "monitor_apply"  # 村: visit, democratic review, village notice
    MONITOR_REVIEW = "monitor_review"  # 乡: the township's review
    MONITOR_DECIDE = "monitor_decide"  # 县: identified or rejected
    CLEAR_RISK = "clear_risk"  # 县: 风险消除
    # the books of funds (强化扶贫资金监管)
    IMPORT_FUNDS = "import_funds"  # funds, projects, allocations, payments
    READ_FUNDS = "read_funds"  # balances, projects and their payments, in one's region
    CHECK_FUNDS = "check_funds"  # the anomalies: who was paid twice, dead, ineligible...
    DISCLOSE_FUNDS = "disclose_funds"  # the list a village posts (公示)
    # independent verification (第三方评估, 暗访督查); which plan and list a role sees as a
    # plan moves on is services/verification/plans.py's
    PLAN_VERIFICATION = "plan_verification"  # plan a check, draw its sample
    RELEASE_SAMPLE = "release_sample"  # hand the list to the verifiers (a spot check: that day)
    RECORD_FINDINGS = "record_findings"  # visits, measurements, judgements, approval
    CLOSE_VERIFICATION = "close_verification"  # the findings are final, the estimates count
    READ_VERIFICATION = "read_verification"  # plans and estimates; lists as the state allows
    # accounts
    MANAGE_USERS = "manage_users"
    OWN_TOKENS = "own_tokens"  # one's own API tokens: make, list, revoke (another's: MANAGE_USERS)
    # running the system: backup and restore, removing unreferenced files, anchoring the
    # audit head (the server's administrator, in practice the command line's operator)
    MAINTAIN = "maintain"
    # background jobs: everyone sees and cancels their own; these see their region's
    SUPERVISE_JOBS = "supervise_jobs"


EVERYONE = frozenset(Role)
OFFICERS = frozenset({Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER})
COUNTY_UP = frozenset({Role.ADMIN, Role.COUNTY_OFFICER})
# Roles that change the registry (the auditor and the verifier only read; a helper works
# through the ledger of their households).
EDITORS = OFFICERS | {Role.VILLAGE_CADRE}

RULES: dict[Action, frozenset[Role]] = {
    Action.READ: EVERYONE,
    Action.READ_LISTS: EVERYONE - {Role.HELPER},
    Action.READ_AUDIT: frozenset({Role.ADMIN, Role.AUDITOR}),
    Action.EXPORT: EVERYONE - {Role.HELPER},
    Action.REVEAL: EVERYONE - {Role.AUDITOR},
    Action.REGISTER: EDITORS,
    Action.EDIT_REGISTRY: EDITORS,
    Action.IMPORT: EDITORS,
    Action.IMPORT_REGIONS: frozenset({Role.ADMIN}),
    Action.LOAD_SYNTHETIC: frozenset({Role.ADMIN}),
    Action.ASSESS: COUNTY_UP,
    Action.DRAFT_PLANS: OFFICERS,
    Action.EDIT_PLAN: EDITORS,
    # approving a plan commits public money: officers, not the village that drafted it
    Action.APPROVE_PLAN: OFFICERS,
    Action.MOVE_MEASURE: EDITORS | {Role.HELPER},
    # checking off is also the verifier's job; the ledger refuses a responsible person
    Action.VERIFY_MEASURE: EDITORS | {Role.HELPER, Role.VERIFIER},
    Action.REMEASURE: COUNTY_UP,
    # a household's exit is the village's procedure from proposal to announcement
    # (厅字〔2016〕16号); a return to poverty is judged on a county's assessment run
    Action.EXIT_STEP: EDITORS,
    Action.MARK_RETURNS: COUNTY_UP,
    Action.MONITOR_SCAN: OFFICERS,
    Action.REPORT_SHOCK: EDITORS,
    # 村申请、乡审核、县审定 (中农组发〔2021〕7号)
    Action.MONITOR_APPLY: EDITORS,
    Action.MONITOR_REVIEW: OFFICERS,
    Action.MONITOR_DECIDE: COUNTY_UP,
    Action.CLEAR_RISK: COUNTY_UP,
    # a county's finance and poverty offices keep the books; the anomalies are for those
    # who supervise (a village cadre may be the one they concern)
    Action.IMPORT_FUNDS: COUNTY_UP,
    Action.READ_FUNDS: EVERYONE - {Role.HELPER},
    Action.CHECK_FUNDS: OFFICERS | {Role.AUDITOR},
    Action.DISCLOSE_FUNDS: EDITORS,
    # the county office plans its check and releases the list; the findings are the
    # verifiers' (the county is the one they judge), and so is the end of the fieldwork
    Action.PLAN_VERIFICATION: COUNTY_UP,
    Action.RELEASE_SAMPLE: COUNTY_UP,
    Action.RECORD_FINDINGS: frozenset({Role.ADMIN, Role.VERIFIER}),
    Action.CLOSE_VERIFICATION: frozenset({Role.ADMIN, Role.VERIFIER}),
    Action.READ_VERIFICATION: EVERYONE - {Role.HELPER},
    Action.MANAGE_USERS: COUNTY_UP,
    # a token acts with its account's role and region, never more: anyone may hold one
    Action.OWN_TOKENS: EVERYONE,
    Action.MAINTAIN: frozenset({Role.ADMIN}),
    Action.SUPERVISE_JOBS: COUNTY_UP,
}

STEP_ACTIONS = {
    MonitoringState.VISITED: Action.MONITOR_APPLY,
    MonitoringState.REVIEWED: Action.MONITOR_APPLY,
    MonitoringState.IN_NOTICE: Action.MONITOR_APPLY,
    MonitoringState.TOWNSHIP_REVIEWED: Action.MONITOR_REVIEW,
    MonitoringState.IDENTIFIED: Action.MONITOR_DECIDE,
    MonitoringState.REJECTED: Action.MONITOR_DECIDE,
    MonitoringState.CLEARED: Action.CLEAR_RISK,
}


def monitoring_step(to: MonitoringState) -> Action:
    """The action of the monitoring step that leads to ``to``."""
    return STEP_ACTIONS.get(to, Action.MONITOR_APPLY)


def role_may(role: Role, action: Action) -> bool:
    """Whether ``role`` may perform ``action`` (what a page offers; the services decide)."""
    return role in RULES[action]


def allows(principal: Principal, action: Action) -> bool:
    """Whether ``principal``'s role may perform ``action`` (anywhere in their scope)."""
    return principal.operator or principal.role in RULES[action]


def require(principal: Principal, action: Action) -> None:
    """Refuse (PermissionDenied) a principal whose role may not perform ``action``."""
    if not isinstance(principal, Principal):
        raise TypeError(f"a Principal is needed, not {type(principal).__name__}")
    if not allows(principal, action):
        raise PermissionDenied(NOT_ALLOWED)


ActionOf = Action | Callable[..., Action]


def _guard(action: ActionOf, *, writes: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)
        if "principal" not in signature.parameters:
            raise TypeError(f"{function.__qualname__} takes no principal")

        @functools.wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = kwargs.get("principal")
            wanted = action(**kwargs) if callable(action) and not isinstance(
                action, Action) else action
            require(principal, wanted)  # type: ignore[arg-type]
            return function(*args, **kwargs)

        guarded.__policy__ = (action, writes)  # type: ignore[attr-defined]
        return guarded

    return decorate


def changes(action: ActionOf) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a service function that writes, and refuse a principal without ``action``.

    ``action`` may be a function of the call's keyword arguments (a monitoring step's target).
    """
    return _guard(action, writes=True)


def reads(action: ActionOf = Action.READ) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a service function that only reads, and refuse a principal without ``action``."""
    return _guard(action, writes=False)


def policy_of(function: Any) -> tuple[ActionOf, bool] | None:
    """The (action, writes) a service function declared, or None."""
    return getattr(function, "__policy__", None)
