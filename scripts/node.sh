#!/usr/bin/env bash
# The official Node.js elastic.io sailor the interop tests run beside ours (tests/node), at the
# version its package-lock.json pins. On a fresh Debian machine without Node.js, install
# Debian's nodejs and npm first (root).
set -euo pipefail
here=tests/node

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "node: installing Debian's nodejs and npm" >&2
    if [[ ! -f /tmp/.smsgate-apt-updated ]]; then apt-get update -qq && touch /tmp/.smsgate-apt-updated; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "node: the interop tests need Node.js and npm; install Debian's nodejs and npm, or run make test as root" >&2
    exit 1
  fi
fi
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >/dev/null
node -e "require('./$here/node_modules/elasticio-sailor-nodejs/lib/sailor.js')"  # fail loudly if the install did not work
