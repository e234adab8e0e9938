"""What the importer does for each kind: its checks against the database, its scope checks
and its merge, for the registry (imports.checks, imports.merges) and the books of funds
(imports.fund_checks, imports.fund_merges)."""

from __future__ import annotations

from tuopin.io.schema import Kind
from tuopin.services.imports import checks, fund_checks, fund_merges, merges

CHECKS: dict[Kind, checks.Check] = {
    **checks.CHECKS,
    Kind.FUNDS: fund_checks.check_funds,
    Kind.PROJECTS: fund_checks.check_projects,
    Kind.ALLOCATIONS: fund_checks.check_allocations,
    Kind.DISBURSEMENTS: fund_checks.check_disbursements,
}
SCOPE_CHECKS: dict[Kind, checks.ScopeCheck] = {
    **checks.SCOPE_CHECKS,
    Kind.FUNDS: fund_checks.scope_funds,
    Kind.PROJECTS: fund_checks.scope_projects,
    Kind.ALLOCATIONS: fund_checks.scope_allocations,
    Kind.DISBURSEMENTS: fund_checks.scope_disbursements,
}
MERGES = {
    **merges.MERGES,
    Kind.FUNDS: fund_merges.merge_funds,
    Kind.PROJECTS: fund_merges.merge_projects,
    Kind.ALLOCATIONS: fund_merges.merge_allocations,
    Kind.DISBURSEMENTS: fund_merges.merge_disbursements,
}
# the tables an import writes (analysed after a large one)
TABLES = {Kind.REGIONS: ("region",), Kind.HOUSEHOLDS: ("household",),
          Kind.MEMBERS: ("member",), Kind.SURVEYS: ("survey",),
          Kind.HELPERS: ("helper", "helper_assignment"), Kind.FUNDS: ("fund",),
          Kind.PROJECTS: ("project",), Kind.ALLOCATIONS: ("allocation",),
          Kind.DISBURSEMENTS: ("disbursement",)}
