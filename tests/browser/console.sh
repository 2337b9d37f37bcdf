#!/usr/bin/env bash
# The emulator's console (/_emulator/console/) in headless Chromium against the emulator
# binary started with an admin token: see tests/browser/console.mjs for the scenario.
# Screenshots of each page go to target/console/*.png.
#
# Knobs (environment):
#   UC_BROWSER_BIN          use this emulator binary instead of building one (debug)
#   UC_CONSOLE_SCREENSHOTS  where to save the screenshots [target/console]
#   UC_CHROMIUM             Chromium executable [/usr/bin/chromium]; Debian's package
#                           `chromium` is installed with apt-get when missing
#   UC_RECORD_ANSWERS       passed on to the emulator (contract checks, tests/contract/)
#
# Prints `N passed, M failed`; exit status 0 only when every check passed.
set -euo pipefail

NAME=console.sh
# shellcheck source=tests/browser/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

TOKEN="console-test-$RANDOM$RANDOM"
start_emulator UC_ADMIN_TOKEN="$TOKEN"

export UC_CONSOLE_SCREENSHOTS=${UC_CONSOLE_SCREENSHOTS:-$ROOT/target/console}
node "$HERE/console.mjs" "$BASE_URL" "$TOKEN"
