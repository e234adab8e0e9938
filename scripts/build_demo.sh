#!/usr/bin/env bash
# Build the demo county into $1 (SQLite): a fixed-seed synthetic registry of about 30,000
# households with its books of funds (2019-2020: funds, projects, allocations, about 40,000
# payments), assessed with cn-national for 2019 and 2020 so that every page has results.
# A few cases of every rule of `tuopin funds check` are planted ($4, default 2) so that the
# anomaly list has content: `tuopin funds check --as-of 2020-12-31` (the day the books close)
# finds exactly them. Nothing is left behind on failure.
set -euo pipefail
db=$1 households=${2:-30000} seed=${3:-2019} anomalies=${4:-2}
export TUOPIN_DATABASE_URL="sqlite:///$db"
trap 'rm -f "$db" "$db-wal" "$db-shm"; echo "demo build failed" >&2' ERR
echo "building the demo county into $db ..."
.venv/bin/tuopin init
.venv/bin/tuopin synth --households "$households" --seed "$seed" --plant-anomalies "$anomalies" \
  --into-db
for year in 2019 2020; do
  .venv/bin/tuopin assess --standard cn-national --year "$year" --format csv > /dev/null
done
