#!/bin/sh
# Install headless Chromium for the Licenses page browser tests (Debian packages
# chromium and chromium-driver; the tests drive it through Selenium). Idempotent:
# does nothing when both /usr/bin/chromium and /usr/bin/chromedriver exist. Uses
# sudo only when not running as root.
set -eu

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "error: not root and no sudo: cannot install chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium chromium-driver
/usr/bin/chromium --version
