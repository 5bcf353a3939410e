#!/usr/bin/env bash
# The browser the inbox page's tests drive (Playwright, from the venv): Debian's chromium.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "browser: /usr/bin/chromium is missing and installing Debian's chromium needs root and apt-get; install it, or run make test as root" >&2
  exit 1
fi
echo "browser: installing Debian's chromium" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
