"""ORM records (``*Record``); domain objects and API shapes live elsewhere.

Enum columns store the enum's value (a short English id) as a string so that the same rows
read the same in SQLite, PostgreSQL, DuckDB and Spark. One module per noun.
"""

from tuopin.storage.models.access import LoginSessionRecord, ThrottleEventRecord
from tuopin.storage.models.assessment import (
    AssessmentResultRecord,
    AssessmentRollupRecord,
    AssessmentRunRecord,
)
from tuopin.storage.models.audit import AuditEventRecord, AuditHeadRecord
from tuopin.storage.models.base import NAMING, Base, BigId, table_of
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
