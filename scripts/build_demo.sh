#!/usr/bin/env bash
# Build the demo county into $1 (SQLite): a fixed-seed synthetic registry of about 30,000
# households, assessed with cn-national for 2019 and 2020 so that every page has results.
# Nothing is left behind on failure.
set -euo pipefail
db=$1 households=${2:-30000} seed=${3:-2019}
export TUOPIN_DATABASE_URL="sqlite:///$db"
trap 'rm -f "$db" "$db-wal" "$db-shm"; echo "demo build failed" >&2' ERR
echo "building the demo county into $db ..."
.venv/bin/tuopin init
.venv/bin/tuopin synth --households "$households" --seed "$seed" --into-db
for year in 2019 2020; do
  .venv/bin/tuopin assess --standard cn-national --year "$year" --format csv > /dev/null
done
