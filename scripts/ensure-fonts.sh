#!/usr/bin/env bash
# Installs the font that delivery notes, labels and PDF sheets are drawn with (server/labels/fonts.py), from Debian,
# at the pinned version, when it is missing. Nothing to do on a machine that has it.
set -eu
font=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
version=0.2.0-beta-3.1
[ -f "$font" ] && exit 0
if [ "$(id -u)" != 0 ]; then echo "FAIL: $font is missing; run: sudo apt-get install -y fonts-wqy-microhei=$version" >&2; exit 1; fi
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "fonts-wqy-microhei=$version" >/dev/null
[ -f "$font" ] || { echo "FAIL: fonts-wqy-microhei did not install $font" >&2; exit 1; }
