"""ORM records (``*Record``); domain objects and API shapes live elsewhere.

Enum columns store the enum's value (a short English id) as a string so that the same rows
read the same in SQLite, PostgreSQL, DuckDB and Spark. One module per noun.

Each module is imported when one of its records is first asked for (PEP 562), so a command
that reads the registry does not declare the funds, verification and job tables too (the 35
declarations were a quarter of a one-record command's start-up). ``Base`` is the exception:
whoever asks for it gets the metadata of every table, all modules imported first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuopin.storage.models.base import NAMING, BigId, table_of

if TYPE_CHECKING:
    from tuopin.storage.models.access import LoginSessionRecord, ThrottleEventRecord
    from tuopin.storage.models.assessment import (
        AssessmentResultRecord,
        AssessmentRollupRecord,
        AssessmentRunRecord,
    )
    from tuopin.storage.models.audit import AuditEventRecord, AuditHeadRecord
    from tuopin.storage.models.base import Base
    from tuopin.storage.models.funds import (
        AllocationRecord,
        DisbursementRecord,
        FundRecord,
        ProjectRecord,
    )
    from tuopin.storage.models.imports import ImportUploadRecord
    from tuopin.storage.models.jobs import JobRecord, JobWorkerRecord
    from tuopin.storage.models.plans import (
        EvidenceRecord,
        MeasureRecord,
        PlanRecord,
        PlanRevisionRecord,
    )
    from tuopin.storage.models.registry import (
        HelperAssignmentRecord,
        HelperRecord,
        HouseholdRecord,
        MemberRecord,
        RegionRecord,
        SurveyRecord,
        SurveySubmissionRecord,
        UserRecord,
    )
    from tuopin.storage.models.tokens import ApiTokenRecord
    from tuopin.storage.models.verification import (
        VerificationFindingRecord,
        VerificationPlanRecord,
        VerificationSampleRecord,
    )
    from tuopin.storage.models.workflows import (
        ExitCaseRecord,
        ExitEventRecord,
        MonitoringCaseRecord,
        MonitoringEventRecord,
        ShockEventRecord,
    )

# module -> the records it declares
HOMES: dict[str, tuple[str, ...]] = {
    "access": ("LoginSessionRecord", "ThrottleEventRecord"),
    "assessment": ("AssessmentResultRecord", "AssessmentRollupRecord", "AssessmentRunRecord"),
    "audit": ("AuditEventRecord", "AuditHeadRecord"),
    "funds": ("AllocationRecord", "DisbursementRecord", "FundRecord", "ProjectRecord"),
    "imports": ("ImportUploadRecord",),
    "jobs": ("JobRecord", "JobWorkerRecord"),
    "plans": ("EvidenceRecord", "MeasureRecord", "PlanRecord", "PlanRevisionRecord"),
    "registry": ("HelperAssignmentRecord", "HelperRecord", "HouseholdRecord", "MemberRecord",
                 "RegionRecord", "SurveyRecord", "SurveySubmissionRecord", "UserRecord"),
    "tokens": ("ApiTokenRecord",),
    "verification": ("VerificationFindingRecord", "VerificationPlanRecord",
                     "VerificationSampleRecord"),
    "workflows": ("ExitCaseRecord", "ExitEventRecord", "MonitoringCaseRecord",
                  "MonitoringEventRecord", "ShockEventRecord"),
}
_HOME_OF = {name: module for module, names in HOMES.items() for name in names}


def load_all() -> None:
    """Declare every record (their tables join ``Base.metadata``)."""
    for module in HOMES:
        importlib.import_module(f"{__name__}.{module}")


def __getattr__(name: str) -> Any:
    if name == "Base":
        load_all()
        from tuopin.storage.models.base import Base

        return Base
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # asked once
    return value


__all__ = [
    "ApiTokenRecord",
    "AllocationRecord",
    "DisbursementRecord",
    "FundRecord",
    "ProjectRecord",
    "NAMING",
    "AssessmentResultRecord",
    "AssessmentRollupRecord",
    "AssessmentRunRecord",
    "AuditEventRecord",
    "AuditHeadRecord",
    "Base",
    "LoginSessionRecord",
    "BigId",
    "EvidenceRecord",
    "ExitCaseRecord",
    "ExitEventRecord",
    "HelperAssignmentRecord",
    "HelperRecord",
    "HouseholdRecord",
    "ImportUploadRecord",
    "JobRecord",
    "JobWorkerRecord",
    "MeasureRecord",
    "MemberRecord",
    "MonitoringCaseRecord",
    "MonitoringEventRecord",
    "PlanRecord",
    "PlanRevisionRecord",
    "RegionRecord",
    "ShockEventRecord",
    "SurveyRecord",
    "SurveySubmissionRecord",
    "ThrottleEventRecord",
    "VerificationFindingRecord",
    "VerificationPlanRecord",
    "VerificationSampleRecord",
    "UserRecord",
    "table_of",
]
