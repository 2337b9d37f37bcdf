#!/usr/bin/env bash
# The Uploadcare File Uploader (npm @uploadcare/file-uploader, pinned in package.json) in
# headless Chromium against the emulator binary: several images picked, uploaded, grouped
# (groupOutput), the group found through /group/info/, its images loaded from the CDN.
#
# Knobs (environment):
#   UC_BROWSER_BIN         use this emulator binary instead of building one (debug)
#   UC_BROWSER_SCREENSHOT  where to save the screenshot [target/browser/uploader.png]
#   UC_CHROMIUM            Chromium executable [/usr/bin/chromium]; Debian's package
#                          `chromium` is installed with apt-get when missing
#   UC_RECORD_ANSWERS      passed on to the emulator (contract checks, tests/contract/)
#
# Prints `N passed, M failed`; exit status 0 only when every check passed.
set -euo pipefail

NAME=run.sh
# shellcheck source=tests/browser/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

start_emulator

export UC_BROWSER_SCREENSHOT=${UC_BROWSER_SCREENSHOT:-$ROOT/target/browser/uploader.png}
node "$HERE/run.mjs" "$BASE_URL"
