#!/usr/bin/env bash
# Renders an HTML page of mlspend's (report.html, a statement) in headless Chromium and saves a screenshot.
#   scripts/screenshot.sh reports/2026-10/report.html /tmp/report.png
# Fails when Chromium is missing, exits non-zero, logs a page error, or writes no image.
set -euo pipefail
page=${1:?usage: scripts/screenshot.sh PAGE.html OUT.png}
out=${2:?usage: scripts/screenshot.sh PAGE.html OUT.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "screenshot: no Chromium on this machine (apt-get install chromium)" >&2
  exit 127
fi
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
rm -f "$out"
# The page is self-contained: no network is needed, and every background connection is switched off.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --enable-logging=stderr --v=0 \
  --window-size=1200,2400 --screenshot="$out" "file://$abs" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
if grep -E "CONSOLE.*(Uncaught|Error)|Failed to load resource" "$log" >&2; then
  echo "screenshot: the page logged errors" >&2
  exit 1
fi
[ -s "$out" ] || { echo "screenshot: no image written" >&2; cat "$log" >&2; exit 1; }
echo "screenshot: $out"
