"""The twelve rules of `tuopin funds check` written by hand in plain DuckDB SQL over a Parquet
snapshot (the baseline of the funds benchmark), from the rule text of issue 11.

The books are read as they stood on the day of the check: payments, allocations and funds
dated later are left out. A payment "stands" when it is not a reversal and no reversal made
by then names it; only standing payments trigger a payment rule. Each rule's query gives
``subject``, ``amount`` (fen) and ``related`` (the numbers of related records; NULLs are
dropped by the caller).
"""

from __future__ import annotations

from datetime import date
from typing import Any

TABLES = ("region", "household", "member", "helper", "helper_assignment", "fund", "project",
          "allocation", "disbursement")
FINISHED = "('completed', 'closed')"
# significant digits of a region code by its level (province .. village)
PREFIX = "CASE {level} WHEN 1 THEN 2 WHEN 2 THEN 4 WHEN 3 THEN 6 WHEN 4 THEN 9 ELSE 12 END"

# Standing payments with their payee looked up: the member with the payee's ID number, the
# household with the payee's household number, and the payee's household (the member's, else
# the one named).
PAYMENTS = """
CREATE TEMP TABLE pay AS
WITH d AS (SELECT * FROM disbursement WHERE paid_on <= DATE '{day}'),
standing AS (
  SELECT * FROM d WHERE reverses_id IS NULL
  AND id NOT IN (SELECT reverses_id FROM d WHERE reverses_id IS NOT NULL))
SELECT s.id, s.number, s.project_id, s.payee_id_number, s.payee_household, s.amount,
       s.paid_on, m.id AS member_id, m.deceased_date, named.id AS named_id,
       h.id AS household_id, h.number AS household, h.village_code, h.status,
       h.year_identified, h.year_exited, p.number AS project, p.region_code
FROM standing s
JOIN project p ON p.id = s.project_id
LEFT JOIN member m ON m.id_number = s.payee_id_number
LEFT JOIN household named ON named.number = s.payee_household
LEFT JOIN household h ON h.id = coalesce(m.household_id, named.id)
"""

# Projects with their net payments (reversals negative), allocations and standing payments.
PROJECTS = """
CREATE TEMP TABLE proj AS
WITH net AS (SELECT project_id, sum(amount) AS net FROM disbursement
             WHERE paid_on <= DATE '{day}' GROUP BY project_id),
given AS (SELECT a.project_id, sum(a.amount) AS allocated, min(a.allocated_on) AS first_on,
                 list(f.number) AS funds
          FROM allocation a JOIN fund f ON f.id = a.fund_id
          WHERE a.allocated_on <= DATE '{day}' GROUP BY a.project_id)
SELECT p.number, p.budget, p.end_on, p.status, coalesce(net.net, 0)::BIGINT AS net,
       coalesce(given.allocated, 0)::BIGINT AS allocated, given.first_on, given.funds,
       p.id IN (SELECT project_id FROM pay) AS paying
FROM project p LEFT JOIN net ON net.project_id = p.id
LEFT JOIN given ON given.project_id = p.id
"""

FUNDS = """
CREATE TEMP TABLE funds AS
SELECT f.number, f.amount, f.received_on, coalesce(sum(a.amount), 0)::BIGINT AS allocated,
       list(p.number) AS projects
FROM fund f
LEFT JOIN allocation a ON a.fund_id = f.id AND a.allocated_on <= DATE '{day}'
LEFT JOIN project p ON p.id = a.project_id
WHERE f.received_on <= DATE '{day}'
GROUP BY f.number, f.amount, f.received_on
"""

PAID = "SELECT number AS subject, amount, [project, household] AS related FROM pay"

RULES = {
    "payee_not_registered": PAID + """
WHERE (payee_id_number IS NOT NULL AND member_id IS NULL)
   OR (payee_household IS NOT NULL AND named_id IS NULL)""",
    "payee_deceased": PAID + " WHERE paid_on >= deceased_date",
    # pairs of payments to one payee (a person by ID, else a household paid as a whole) by
    # one project within the window; the later (by day, then number) is the subject
    "duplicate_payment": """
WITH k AS (SELECT number, project_id, paid_on, amount, project, household,
                  payee_id_number IS NOT NULL AS by_person,
                  coalesce(payee_id_number, payee_household) AS payee FROM pay)
SELECT later.number AS subject, later.amount,
       [later.project, later.household] || list(e.number) AS related
FROM k later JOIN k e ON e.project_id = later.project_id AND e.payee = later.payee
  AND e.by_person = later.by_person
  AND (e.paid_on < later.paid_on OR (e.paid_on = later.paid_on AND e.number < later.number))
  AND later.paid_on - e.paid_on <= {duplicate_window_days}
GROUP BY later.number, later.amount, later.project, later.household""",
    "payee_ineligible": PAID + """
WHERE (status = 'ordinary' AND year_identified IS NULL AND year_exited IS NULL)
   OR (status IN ('ordinary', 'exited') AND year(paid_on) - year_exited > {years_after_exit})""",
    "outside_region": """
SELECT pay.number AS subject, pay.amount, [pay.project, pay.household] AS related
FROM pay JOIN region r ON r.code = pay.region_code
WHERE left(pay.village_code, """ + PREFIX.format(level="r.level") + """)
   <> left(pay.region_code, """ + PREFIX.format(level="r.level") + ")",
    # helpers (few) by the villages of the households they are assigned; a payment is caught
    # when the payee is one, or a member of the payee's household is one, in its village
    "conflict_of_interest": """
WITH hv AS (SELECT DISTINCT hp.id_number AS person, hp.number AS helper, h.village_code
            FROM helper hp JOIN helper_assignment a ON a.helper_id = hp.id
            JOIN household h ON h.id = a.household_id WHERE hp.id_number IS NOT NULL),
family AS (SELECT m.household_id, hv.helper, hv.village_code
           FROM member m JOIN hv ON hv.person = m.id_number),
hit AS (SELECT pay.id, family.helper FROM pay JOIN family
          ON family.household_id = pay.household_id AND family.village_code = pay.village_code
        UNION
        SELECT pay.id, hv.helper FROM pay JOIN hv
          ON hv.person = pay.payee_id_number AND hv.village_code = pay.village_code)
SELECT pay.number AS subject, pay.amount,
       [pay.project, pay.household] || list(DISTINCT hit.helper) AS related
FROM hit JOIN pay ON pay.id = hit.id
GROUP BY pay.number, pay.amount, pay.project, pay.household""",
    "over_budget": """
SELECT number AS subject, net - budget AS amount, funds AS related FROM proj
WHERE net > budget""",
    "over_allocation": """
SELECT number AS subject, net - allocated AS amount, funds AS related FROM proj
WHERE net > allocated""",
    "fund_overcommitted": """
SELECT number AS subject, allocated - amount AS amount, projects AS related FROM funds
WHERE allocated > amount""",
    "idle_funds": """
SELECT number AS subject, amount - allocated AS amount, projects AS related FROM funds
WHERE DATE '{day}' - received_on > {idle_days} AND allocated < amount""",
    "stalled_project": """
SELECT number AS subject, allocated AS amount, funds AS related FROM proj
WHERE DATE '{day}' - first_on > {idle_days} AND status NOT IN """ + FINISHED + """
  AND NOT paying""",
    "project_overdue": """
SELECT number AS subject, greatest(allocated - net, 0) AS amount, funds AS related FROM proj
WHERE end_on < DATE '{day}' AND status NOT IN """ + FINISHED,
}


def run(con: Any, snapshot: str, day: date, thresholds: dict[str, int]
        ) -> dict[str, list[tuple[str, int, list[str]]]]:
    """Every rule's findings on ``con`` (a DuckDB connection): (subject, amount, related)."""
    for name in TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM "
                    f"read_parquet('{snapshot}/{name}/**/*.parquet', hive_partitioning=false)")
    values = {"day": day.isoformat(), **thresholds}
    for setup in (PAYMENTS, PROJECTS, FUNDS):
        con.execute(setup.format(**values))
    found = {}
    for rule, sql in RULES.items():
        rows = con.execute(sql.format(**values)).fetchall()
        found[rule] = [(subject, int(amount), [r for r in related if r is not None])
                       for subject, amount, related in rows]
    return found
