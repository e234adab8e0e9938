#!/usr/bin/env bash
# Build the demo county into $1 (SQLite): a fixed-seed synthetic registry of about 30,000
# households surveyed every year from 2014 (when the register began) to 2020 (the deadline),
# with its books of funds (funds, projects, allocations, payments), assessed with cn-national
# for every year so that every page has results. The register agrees with the standard's
# verdicts (the incidence falls from about 15 % in 2014 to nearly nothing in 2020 through
# recorded exits) except for the errors planted for verification ($5, default 3 % of the
# exited households wrongly exited and 1 % of the ordinary ones missed), listed in
# $1-truth.csv. A few cases of every rule of `tuopin funds check` are planted ($4, default 2)
# so that the anomaly list has content: `tuopin funds check --as-of 2020-12-31` (the day the
# books close) finds exactly them. Nothing is left behind on failure.
set -euo pipefail
db=$1 households=${2:-30000} seed=${3:-2019} anomalies=${4:-2}
errors=${5:-wrong-exits=0.03,missed-poor=0.01}
export TUOPIN_DATABASE_URL="sqlite:///$db"
trap 'rm -f "$db" "$db-wal" "$db-shm" "$db-truth.csv"; echo "demo build failed" >&2' ERR
echo "building the demo county into $db ..."
.venv/bin/tuopin init
.venv/bin/tuopin synth --households "$households" --seed "$seed" --years 2014-2020 \
  --plant-anomalies "$anomalies" --plant "$errors" --truth "$db-truth.csv" --into-db
for year in 2014 2015 2016 2017 2018 2019 2020; do
  .venv/bin/tuopin assess --standard cn-national --year "$year" --format csv > /dev/null
done
