#!/usr/bin/env bash
# Prints an HTML page of mlspend's (report.html, a statement) to PDF in headless Chromium, as a reader printing it
# for the finance file would, and checks the PDF: at least one page, and no page wider than A4 (595.28 pt).
#   scripts/print-pdf.sh reports/2026-10/report.html /tmp/report.pdf
# Fails when Chromium is missing or fails, writes no PDF, or a page is wider than A4.
set -euo pipefail
page=${1:?usage: scripts/print-pdf.sh PAGE.html OUT.pdf}
out=${2:?usage: scripts/print-pdf.sh PAGE.html OUT.pdf}
# shellcheck source=scripts/chromium.sh
. "$(dirname "$0")/chromium.sh"
chromium_page "$page"
rm -f "$out"
"$browser" "${CHROMIUM_FLAGS[@]}" --user-data-dir="$profile" --no-pdf-header-footer --print-to-pdf="$out" "$url" \
  >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
[ -s "$out" ] || { echo "print-pdf: no PDF written for $page" >&2; cat "$log" >&2; exit 1; }
# Chromium writes each page's size as an uncompressed /MediaBox [x0 y0 x1 y1], in points.
boxes=$(grep -a -o '/MediaBox \[[^]]*\]' "$out" | tr -d '[]' | awk '{print $4 - $2, $5 - $3}')
if [ -z "$boxes" ]; then
  echo "print-pdf: $out has no pages" >&2
  exit 1
fi
wide=$(echo "$boxes" | awk '$1 > 595.28 + 0.5 {print}')
if [ -n "$wide" ]; then
  echo "print-pdf: $page prints pages wider than A4 (595.28 pt): $(echo "$wide" | head -1) pt" >&2
  exit 1
fi
echo "print-pdf: $out, $(echo "$boxes" | wc -l) A4 pages"
