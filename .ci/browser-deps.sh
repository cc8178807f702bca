#!/bin/sh
# What the browser test needs from the system: Debian's Chromium (Playwright cannot download
# its own browsers here). Idempotent: does nothing when /usr/bin/chromium is already there.
# The venv gets Playwright itself from `pip install -e '.[dev,browser]'`.
set -eu
if [ -x /usr/bin/chromium ]; then
    echo "browser-deps: /usr/bin/chromium is already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
test -x /usr/bin/chromium
echo "browser-deps: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
