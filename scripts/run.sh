#!/usr/bin/env bash
# Serve the app with a Celery worker (and beat) on the configured broker; stop both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
# The demo: debug pages and development defaults (the settings default DEBUG to off).
export DEBUG="${DEBUG:-1}"
PORT=${PORT:-8000}
mkdir -p var
"$BIN/celery" -A npl_recovery worker --beat --loglevel=INFO --concurrency=2 \
  --schedule var/celerybeat-schedule >var/celery.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true; wait $WORKER 2>/dev/null || true' EXIT INT TERM
cat <<MSG

  NPL Recovery is running at http://127.0.0.1:${PORT}/
  Demo logins (password demo-pass-2026):
    officer   loan officer, Riverside Branch
    manager   manager, Riverside Branch and its outlets
    admin     administrator, everything (also /admin/)
  Celery worker + beat log: var/celery.log    Stop with Ctrl-C.

MSG
"$BIN/python" manage.py runserver "0.0.0.0:${PORT}"
