# Sourced by scripts/screenshot.sh and scripts/print-pdf.sh: finds headless Chromium, and gives a throwaway profile
# and log, removed on exit.
#   chromium_page PAGE.html   -> sets $browser, $profile, $log and $url (the page's file:// address), or exits 127
chromium_page() {
  browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
  if [ -z "$browser" ]; then
    echo "$(basename "$0"): no Chromium on this machine (apt-get install chromium)" >&2
    exit 127
  fi
  profile=$(mktemp -d)
  log=$(mktemp)
  trap 'rm -rf "$profile" "$log"' EXIT
  url="file://$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
}
# Every background connection is switched off: the pages are self-contained and need no network.
CHROMIUM_FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync)
