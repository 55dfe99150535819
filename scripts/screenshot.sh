#!/usr/bin/env bash
# Renders an HTML page of mlspend's (report.html, a statement) in headless Chromium and saves a screenshot.
#   scripts/screenshot.sh reports/2026-10/report.html /tmp/report.png
# Fails when Chromium is missing, exits non-zero, logs a page error, or writes no image.
set -euo pipefail
page=${1:?usage: scripts/screenshot.sh PAGE.html OUT.png}
out=${2:?usage: scripts/screenshot.sh PAGE.html OUT.png}
# shellcheck source=scripts/chromium.sh
. "$(dirname "$0")/chromium.sh"
chromium_page "$page"
rm -f "$out"
"$browser" "${CHROMIUM_FLAGS[@]}" --user-data-dir="$profile" --enable-logging=stderr --v=0 \
  --window-size=1200,2400 --screenshot="$out" "$url" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
if grep -E "CONSOLE.*(Uncaught|Error)|Failed to load resource" "$log" >&2; then
  echo "screenshot: the page logged errors" >&2
  exit 1
fi
[ -s "$out" ] || { echo "screenshot: no image written" >&2; cat "$log" >&2; exit 1; }
echo "screenshot: $out"
