"""The in-file rules of the books of funds: funds, projects, allocations, disbursements.

Like io.validate's rules for the registry, these need no database; the rules against what
is stored (does the project exist, does a reversal match the payment it reverses, is a
payment changed in place) are the import service's. Keys are checked for duplicates over
the whole column at once: a province's disbursements are millions of rows.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain.enums import ProjectStatus
from tuopin.i18n import N_

if TYPE_CHECKING:
    from tuopin.io.validate import Validated

CLOSED = (ProjectStatus.CLOSED.value,)


def duplicates(result: Validated, names: tuple[str, ...], reason: str) -> None:
    """Report every row whose key repeats an earlier row's, naming the earlier row."""
    columns = [pc.cast(result.table.column(n), pa.string()) for n in names]
    key = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, "\x1f")
    values = key.to_numpy(zero_copy_only=False)
    present = np.flatnonzero(pc.is_valid(key).to_numpy(zero_copy_only=False))
    if not len(present):
        return
    _, first, inverse = np.unique(values[present].astype(object).astype(str),
                                  return_index=True, return_inverse=True)
    earlier = present[first[inverse]]
    for position in np.flatnonzero(earlier != present):
        at = int(present[position])
        result.add(at, names[-1], reason, other=int(result.rows[earlier[position]]))


def _where(mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(mask.fill_null(False).to_numpy(zero_copy_only=False))


def check_funds(result: Validated, today: date) -> None:
    duplicates(result, ("number",), N_("The same fund number is already on row {other}."))
    t = result.table
    for i in _where(pc.greater(t.column("received_on"), pa.scalar(today))):
        result.add(int(i), "received_on", N_("The date is in the future."))


def check_projects(result: Validated, today: date) -> None:
    """Dates in order; a closing date only for a closed project, and then one is needed."""
    duplicates(result, ("number",), N_("The same project number is already on row {other}."))
    t = result.table
    for i in _where(pc.less(t.column("end_on"), t.column("start_on"))):
        result.add(int(i), "end_on", N_("The end date is before the start date."))
    closed = pc.is_in(t.column("status"), pa.array(CLOSED))
    has_date = pc.is_valid(t.column("closed_on"))
    for i in _where(pc.and_(closed, pc.invert(has_date))):
        result.add(int(i), "closed_on", N_("A closed project needs its closing date."))
    for i in _where(pc.and_(pc.invert(closed.fill_null(False)), has_date)):
        result.add(int(i), "closed_on", N_("Only a closed project has a closing date."))
    for i in _where(pc.less(t.column("closed_on"), t.column("start_on"))):
        result.add(int(i), "closed_on", N_("The closing date is before the start date."))
    for i in _where(pc.greater(t.column("closed_on"), pa.scalar(today))):
        result.add(int(i), "closed_on", N_("The date is in the future."))


def check_allocations(result: Validated, today: date) -> None:
    duplicates(result, ("fund", "project"),
               N_("The same fund and project are already on row {other}."))
    for i in _where(pc.greater(result.table.column("allocated_on"), pa.scalar(today))):
        result.add(int(i), "allocated_on", N_("The date is in the future."))


def check_disbursements(result: Validated, today: date) -> None:
    """A payee; a payment positive, a reversal negative; a payment reversed once."""
    duplicates(result, ("number",), N_("The same payment number is already on row {other}."))
    t = result.table
    nobody = pc.and_(pc.is_null(t.column("payee_id_number")),
                     pc.is_null(t.column("payee_household")))
    raw_ids = result.raw.get("payee_id_number")
    if raw_ids is not None:  # a payee ID that was typed but refused is not "no payee"
        nobody = pc.and_(nobody, pc.is_null(raw_ids))
    for i in _where(nobody):
        result.add(int(i), "payee_id_number",
                   N_("A payment names its payee: an ID number or a household number."))
    amount = t.column("amount")
    reversal = pc.is_valid(t.column("reverses"))
    for i in _where(pc.equal(amount, 0)):
        result.add(int(i), "amount", N_("A payment of nothing is not a payment."))
    for i in _where(pc.and_(pc.invert(reversal), pc.less(amount, 0))):
        result.add(int(i), "amount", N_("A payment is positive; a negative amount reverses "
                                        "a payment named under reverses."))
    for i in _where(pc.and_(reversal, pc.greater(amount, 0))):
        result.add(int(i), "amount", N_("A reversal has a negative amount, minus the "
                                        "payment it reverses."))
    for i in _where(pc.equal(t.column("reverses"), t.column("number"))):
        result.add(int(i), "reverses", N_("A payment cannot reverse itself."))
    duplicates(result, ("reverses",), N_("The same payment is already reversed on row "
                                         "{other}: a payment is reversed only once."))
    for i in _where(pc.greater(t.column("paid_on"), pa.scalar(today))):
        result.add(int(i), "paid_on", N_("The date is in the future."))


FUND_RULES = {
    "funds": check_funds, "projects": check_projects, "allocations": check_allocations,
    "disbursements": check_disbursements,
}
