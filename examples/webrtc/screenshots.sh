#!/usr/bin/env bash
# screenshots.sh: regenerates the README's screenshots, screenshot-chromium.png and
# screenshot-firefox.png beside this script: each browser's page after it sent audio over
# DTLS-SRTP and echoed its data channel messages (dtlspp as the DTLS server).
#
#   examples/webrtc/screenshots.sh [BUILD_DIR]   (default: build; it must have webrtc_server)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
server="$build/examples/webrtc/webrtc_server"
[ -x "$server" ] || { echo "no $server: build first (ninja -C $build)" >&2; exit 1; }
work="$build/examples/webrtc/browser-test"
for browser in chromium firefox; do
  "$here/browser_test.sh" "$work" "$server" "$browser" --case screenshot --browser "$browser" \
    --setup passive --media audio --screenshot "$here/screenshot-$browser.png"
done
