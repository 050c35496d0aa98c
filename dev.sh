#!/usr/bin/env bash
# ./dev.sh run   — set up (venv, packages, database, demo data) and run the whole product
# ./dev.sh test  — run the test suite (PostgreSQL + Redis on 127.0.0.1 by default)
set -euo pipefail
cd "$(dirname "$0")"

find_python() {
  for candidate in python3.12 /root/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    if PYENV_VERSION=3.12.1 "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.12 is required (Django 6)." >&2; return 1
}

setup() {
  if [ ! -x .venv/bin/python ]; then
    PY=$(find_python)
    PYENV_VERSION=3.12.1 "$PY" -m venv .venv
  fi
  if [ ! -f .venv/.installed ] || [ requirements.txt -nt .venv/.installed ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r requirements.txt
    touch .venv/.installed
  fi
}

cmd="${1:-run}"; shift || true
case "$cmd" in
  setup)
    setup
    ;;
  run)
    setup
    exec .venv/bin/python -m halobestie.embedded "$@"
    ;;
  test)
    setup
    exec .venv/bin/python -m pytest "$@"
    ;;
  bench)
    setup
    exec .venv/bin/python -m bench "$@"
    ;;
  *)
    echo "usage: ./dev.sh run|test|bench|setup" >&2; exit 2
    ;;
esac
