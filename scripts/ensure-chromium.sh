#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it (and a CJK font, so Chinese screenshots are readable) from apt
# when it is missing (never a browser download).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "FAIL: /usr/bin/chromium is missing; run: sudo apt-get install -y chromium" >&2; exit 1; fi
echo "installing Debian's chromium"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
