#!/usr/bin/env bash
# The Debian packages the tests need, installed when they are missing.
#
# `make test` runs this before the tests (and `.ci/run` runs `make test`), so a developer's
# machine and CI get the same set from the same list. When everything is there it only
# checks and says nothing. When something is missing and this user cannot install (not
# root, no password-less sudo), it stops at once with the one command to run.
#
#   scripts/setup-system.sh            install what is missing (quiet when nothing is)
#   scripts/setup-system.sh --check    only say what is missing (exit 1 if anything is)
set -euo pipefail

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

need=()
want() { need+=("$1"); }      # want PACKAGE: it is missing

have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

# the broker the tests start on free ports with the project's own config, and its clients
have_cmd mosquitto || want mosquitto
have_cmd mosquitto_pub || want mosquitto-clients
# PostgreSQL's own binaries: the tests start a cluster of their own in a temporary folder
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || want postgresql
# offline Mandarin speech: the kiosk's spoken guidance and the call voice's clips
have_cmd espeak-ng || want espeak-ng
# a CJK font, so that Qt and Chromium draw Chinese (and the screenshots can be read)
fonts=$(fc-list 2>/dev/null || true)      # read whole: grep -q on a pipe could SIGPIPE fc-list under pipefail
grep -qiE "wqy|noto sans cjk|noto serif cjk" <<<"$fonts" || want fonts-wqy-microhei
have_cmd fc-list || want fontconfig
# the dashboard's browser tests: Debian's Chromium, driven by Playwright (never a downloaded browser)
[ -x /usr/bin/chromium ] || want chromium
# a self-signed certificate for the HTTPS test
have_cmd openssl || want openssl
# the libraries Qt's offscreen platform loads, looked for by their files (the packages' names change:
# libglib2.0-0 is libglib2.0-0t64 on Debian 13 and Ubuntu 24.04; apt installs the one that provides the name)
libs=$( { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null || true)      # /sbin is not on a user's PATH
for pair in libEGL.so.1:libegl1 libGL.so.1:libgl1 libxkbcommon.so.0:libxkbcommon0 libfontconfig.so.1:libfontconfig1 \
            libglib-2.0.so.0:libglib2.0-0 libdbus-1.so.3:libdbus-1-3 libX11.so.6:libx11-6 libX11-xcb.so.1:libx11-xcb1; do
    grep -qF "${pair%%:*} " <<<"$libs" || want "${pair#*:}"
done

[ ${#need[@]} -eq 0 ] && exit 0

# fontconfig is listed once even if both the font and fc-list were missing
mapfile -t need < <(printf '%s\n' "${need[@]}" | awk '!seen[$0]++')
install_cmd="apt-get update && apt-get install -y --no-install-recommends ${need[*]}"

if [ $check_only = 1 ]; then
    echo "missing Debian packages: ${need[*]}" >&2
    echo "install them with: sudo sh -c '$install_cmd'" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
else
    echo "The tests need Debian packages that are missing: ${need[*]}" >&2
    echo "This user cannot install them. Run this once, then make test again:" >&2
    echo "  sudo sh -c '$install_cmd'" >&2
    exit 1
fi

echo "installing the Debian packages the tests need: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
