#!/bin/sh
# The README's quick start: the bundled schedules in a throw-away home, one pass of `process`.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
home=$(mktemp -d "${TMPDIR:-/tmp}/conductor-demo.XXXXXX")
trap 'rm -rf "$home"' EXIT
c() { "$here/bin/conductor" --home "$home" "$@"; }
echo "== apply schedules.example (home: $home)"
c apply "$here/schedules.example"
c list
echo "== trigger webhook.received"
c trigger webhook.received --payload '{"order": 42}'
echo "== process"
c process
echo "== history"
c history
