#!/usr/bin/env bash
# The issue-4 walkthrough on a copy of the demo county (make run builds var/tuopin.db):
# assess, draft and approve plans, check a measure off with evidence, watch the overdue and
# accountability lists move with --as-of, exit a household through the whole workflow, check
# village and county exit, scan for monitoring cases and clear one. Steps are never dated
# after today (the CLI refuses a later --as-of). Usage: scripts/walkthrough.sh [DEMO_DB]
# (default var/tuopin.db; scripts/build_demo.sh builds one).
set -euo pipefail
demo=${1:+$(realpath "$1")}
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
cp "${demo:-var/tuopin.db}" "$WORK/demo.db"
export TUOPIN_DATABASE_URL="sqlite:///$WORK/demo.db" TUOPIN_DATA_DIR="$WORK/data" COLUMNS=160
t() { echo "+ tuopin $*" >&2; .venv/bin/tuopin "$@"; }
json() { .venv/bin/python -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

t init
run19=$(t assess --standard cn-national --year 2019 --format json | json 'd["run"]')
run20=$(t assess --standard cn-national --year 2020 --format json | json 'd["run"]')
t report incidence --run "$run19" --level township
t plans draft --run "$run19" --as-of 2020-01-10 --format csv > /dev/null
t plans approve --all --as-of 2020-01-15 --format csv > /dev/null
# a poor household with a helper, and the first measure of its plan (every measure drafted
# in 2020 is overdue today)
household=$(t plans overdue --format json \
  | json '[r["household"] for r in d if r["helper"]][0]')
measure=$(t plans show "$household" --format json | json 'd["measures"][0]["id"]')
helper=$(t plans show "$household" --format json | json 'd["measures"][0]["helper"]')
t plans overdue --as-of 2020-01-31 --format json | json 'len(d)'   # nothing due yet
t plans overdue --as-of 2020-09-01 --format json | json 'len(d)'   # now some are late
t accountability --as-of 2020-09-01 --out "$WORK/accountability.xlsx" --format csv > "$WORK/out.csv"; head -3 "$WORK/out.csv"
printf '%%PDF-1.4\n%%%%EOF\n' > "$WORK/receipt.pdf"
t measures start "$measure" --as-of 2020-02-01 > /dev/null
t measures complete "$measure" --evidence "$WORK/receipt.pdf" --on 2020-03-01 \
  --as-of 2020-03-01 > /dev/null
t measures verify "$measure" --verifier "$helper" --as-of 2020-03-02 || echo "(refused, as it must be)"
t measures verify "$measure" --verifier county-inspector --as-of 2020-03-02 > /dev/null
# the register agrees with the 2020 run, so a poor household leaves poverty first: one the run
# finds poor on income alone gets a 低保 top-up (兜底保障) in its 2020 survey that lifts its
# income above the line, 2020 is assessed again, and the household exits step by step
read -r leaving village < <(.venv/bin/python - "$WORK/demo.db" "$run20" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(*con.execute("SELECT h.number, h.village_code FROM household h JOIN assessment_result r "
                   "ON r.household_id = h.id AND r.run_id = ? WHERE h.status = 'poor' AND "
                   "r.poor AND r.deprived = 'income' AND h.year_identified < 2020 LIMIT 1",
                   (sys.argv[2],)).fetchone())
PY
)
t export surveys --region "$village" --out "$WORK/surveys.csv" 2> /dev/null
.venv/bin/python - "$WORK/surveys.csv" "$leaving" "$WORK/topup.csv" <<'PY'
import csv, sys
with open(sys.argv[1], encoding="utf-8-sig") as source:
    rows = list(csv.DictReader(source))
row = next(r for r in rows if r["household_number"] == sys.argv[2] and r["year"] == "2020")
money = lambda name: float(row[name] or 0)
net = sum(money(n) for n in ("wage_income", "production_income", "property_income",
                             "transfer_income")) - money("production_costs")
lift = 4100 * int(row["household_size"]) - net  # the 2020 line is 4000 yuan a person
row["transfer_income"] = f"{money('transfer_income') + lift:.2f}"
with open(sys.argv[3], "w", encoding="utf-8", newline="") as target:
    writer = csv.DictWriter(target, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
PY
t import surveys "$WORK/topup.csv" > /dev/null
run20=$(t assess --standard cn-national --year 2020 --format json | json 'd["run"]')
t exit propose "$leaving" --run "$run20" --minutes "民主评议纪要 2020-11-05" --as-of 2020-11-05 > /dev/null
t exit notice "$leaving" --start 2020-11-06 > /dev/null
t exit announce "$leaving" --as-of 2020-11-13
t exit check --level village --run "$run20" --format csv > "$WORK/out.csv"; head -3 "$WORK/out.csv"
t exit check --level county --run "$run20"
# return-to-poverty monitoring: scan, identify, help, clear
monitoring=$(t assess --standard cn-monitoring --year 2020 --format json | json 'd["run"]')
case_id=$(t monitor scan --run "$monitoring" --as-of 2021-01-05 --format json \
  | json '[c["case"] for c in d["proposed"] if c["category"] == "sudden_hardship"][0]')
for step in "visited 2021-01-06" "reviewed 2021-01-08" "in_notice 2021-01-09" \
            "township_reviewed 2021-01-15" "identified 2021-01-18"; do
  set -- $step
  t monitor advance "$case_id" --to "$1" --on "$2" > /dev/null
done
t monitor notice "$case_id"
monitored=$(t monitor show "$case_id" --format json | json 'd["number"]')
t plans draft --run "$monitoring" --household "$monitored" --as-of 2021-01-20 > /dev/null
t plans approve "$monitored" --as-of 2021-01-21 > /dev/null
help_measure=$(t plans show "$monitored" --format json | json 'd["measures"][0]["id"]')
t measures complete "$help_measure" --evidence "$WORK/receipt.pdf" --on 2021-02-10 \
  --as-of 2021-02-10 > /dev/null
t monitor clear "$case_id" --as-of 2021-08-01
t audit verify
echo "walkthrough done in $WORK"
