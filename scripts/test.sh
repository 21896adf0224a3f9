#!/usr/bin/env bash
# The whole test suite from a fresh clone: browser, virtual environment, lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# The report and playground tests drive a real Chromium through Playwright (Debian's build;
# Playwright's own browser download does not work without the open internet).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
