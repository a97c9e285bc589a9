#!/usr/bin/env bash
# Runs ampsync on the bundled example days: three daily imports of a
# 50-person company, then the imports and one person's history.
# Until `ampsync demo` exists, this is the main job on example data.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
ampsync="$repo/target/release/ampsync"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$repo/examples/ampsync.toml" "$work/"
cd "$work"
for day in 1 2 3; do
  echo "\$ ampsync import examples/day$day.csv"
  AMPSYNC_NOW="2026-11-2$((3 + day))T06:30:00Z" "$ampsync" import "$repo/examples/day$day.csv"
  echo
done
echo "\$ ampsync snapshots"
"$ampsync" snapshots
echo
echo "\$ ampsync history oliver.bennett@northwind.example"
"$ampsync" history oliver.bennett@northwind.example
echo
echo "\$ ampsync events --snapshot 2"
"$ampsync" events --snapshot 2
