#!/usr/bin/env bash
# Runs the behaviour suite against the PostgreSQL store: starts a throw-away
# cluster on a local port (scripts/pg-cluster.sh), gives every test home a
# database of its own, and stops the cluster whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
URL=$(scripts/pg-cluster.sh start)
trap 'scripts/pg-cluster.sh stop' EXIT
echo "PostgreSQL store suite against $URL"
CONDUCTOR_TEST_PG="$URL" npx vitest run "$@"
