#!/usr/bin/env bash
# Create the virtual environment and install smsgate with its development tools.
# On a fresh Debian machine python3-venv may be missing: install it when we can (root).
set -euo pipefail
venv=${1:-.venv}

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Debian's python3-venv" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
  else
    echo "bootstrap: python3 cannot create virtual environments; install python3-venv (Debian) and retry" >&2
    exit 1
  fi
fi

if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then :; else
  echo "bootstrap: smsgate needs Python 3.11 or newer; found $(python3 --version)" >&2
  exit 1
fi

[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
"$venv/bin/python" -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
"$venv/bin/python" -c 'import smsgate, pytest, hypothesis' # fail loudly if the install did not work
