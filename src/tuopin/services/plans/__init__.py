"""一户一策 and the 对账销号 ledger: plans, measures, revisions, evidence, overdue lists."""
