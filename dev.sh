#!/usr/bin/env bash
# ./dev.sh run   — set up (venv, packages, database, demo data) and run the whole product
# ./dev.sh test  — run the test suite (PostgreSQL + Redis on 127.0.0.1 by default)
# ./dev.sh lock  — regenerate requirements/base.txt and test.txt from requirements/*.in
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
  # Production's packages and the test tools, exactly as locked (versions and hashes).
  if [ ! -f .venv/.installed ] || [ requirements/test.txt -nt .venv/.installed ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q --require-hashes -r requirements/test.txt
    touch .venv/.installed
  fi
}

# Regenerate both locks from requirements/*.in (after adding or changing a package there).
# Versions already locked stay unless `--upgrade` (or `--upgrade-package NAME`) is given.
lock() {
  for set in base test; do
    .venv/bin/uv pip compile "requirements/$set.in" --quiet --generate-hashes --python-version 3.12 \
      --python-platform x86_64-manylinux_2_28 --output-file "requirements/$set.txt" "$@"
  done
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
  lock)
    setup
    lock "$@"
    ;;
  *)
    echo "usage: ./dev.sh run|test|bench|setup|lock" >&2; exit 2
    ;;
esac
