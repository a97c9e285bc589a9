#!/usr/bin/env bash
# Makes the v0.3.0-pre fixture store with a given ampsync binary, and records
# what that binary prints for the commands in cases.json (see README.md).
#
#     bash make_store.sh AMPSYNC_BINARY OUTPUT_DIR
#
# Needs python3 and a free port 18085 (the Learn Amp sandbox the pushes go to).
set -euo pipefail

bin=$(realpath "$1")
out=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
mkdir -p "$out/outputs"
cd "$out"

python3 "$here/make_days.py" . > changes.txt
[ "$out" = "$here" ] || cp "$here/ampsync.toml" "$here/cases.json" .
rm -f ampsync.redb outputs/*.json

# The sandbox, stopped by its process id when the script ends.
log=$(mktemp)
# Since 0.1.0 the sandbox knows only the custom fields and packages it is
# told about (0.1.0 accepted any): the fixture's "Cost centre" and role=hr.
"$bin" sandbox --port 18085 --custom-field "Cost centre" --hr-package > "$log" 2>&1 &
sandbox=$!
trap 'kill "$sandbox"; rm -f "$log"' EXIT
for _ in $(seq 100); do
    grep -q "listening on" "$log" && break
    sleep 0.1
done
grep -q "listening on" "$log" || { cat "$log"; exit 1; }

export AMPSYNC_CLIENT_ID=sandbox AMPSYNC_CLIENT_SECRET=sandbox-secret
at() { local now=$1; shift; echo "+ AMPSYNC_NOW=$now ampsync $*"; AMPSYNC_NOW=$now "$bin" "$@"; }

at 2026-11-02T06:30:00Z import day1.csv                       # snapshot 1: 500 created
at 2026-11-02T06:35:00Z push
at 2026-11-03T06:30:00Z import day2-truncated.csv || [ $? = 3 ] # snapshot 2: held
at 2026-11-03T06:40:00Z reject 2
at 2026-11-03T06:45:00Z import day2.csv                       # snapshot 3
at 2026-11-03T06:50:00Z push
at 2026-11-03T09:00:00Z rollback --to 1                       # compensating events, pushed
at 2026-11-04T06:30:00Z import day3.csv                       # snapshot 4, left undelivered

# What this binary prints, before and after a fourth day's import.
record() {
    python3 - "$1" "$out/cases.json" <<'PY'
import json, sys
cases = json.load(open(sys.argv[2]))
for case in cases[sys.argv[1]] if sys.argv[1] != "import" else [cases["import"]]:
    print("\t".join([case["name"], case["now"]] + case["args"]))
PY
}
record read | while IFS=$'\t' read -r name now args; do
    IFS=$'\t' read -r -a argv <<< "$args"
    AMPSYNC_NOW=$now "$bin" "${argv[@]}" --format json > "outputs/$name.json"
done
rm -rf scratch && mkdir scratch
cp ampsync.toml ampsync.redb day4.csv scratch/
(
    cd scratch
    record import | while IFS=$'\t' read -r name now args; do
        IFS=$'\t' read -r -a argv <<< "$args"
        AMPSYNC_NOW=$now "$bin" "${argv[@]}" --format json > "../outputs/$name.json"
    done
    record after_import | while IFS=$'\t' read -r name now args; do
        IFS=$'\t' read -r -a argv <<< "$args"
        AMPSYNC_NOW=$now "$bin" "${argv[@]}" --format json > "../outputs/$name.json"
    done
)
rm -rf scratch
