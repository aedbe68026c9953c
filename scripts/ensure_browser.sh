#!/usr/bin/env bash
# Make sure the browser tests and the console benchmark have Debian's Chromium (/usr/bin/chromium;
# Playwright downloads no browser here) and CJK fonts (the console is Chinese). Installs them with
# apt-get when missing and allowed (root, or sudo without a password); says what to run otherwise.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'install ok installed' || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "The browser tests need ${missing[*]}: run  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} (Debian's packages) for the browser tests" >&2
# env inside: sudo resets the environment, DEBIAN_FRONTEND included
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
