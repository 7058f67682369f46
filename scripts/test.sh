#!/bin/bash
# The whole test suite: installs what it needs, builds, type-checks, lints, then runs the unit
# tests, the integration tests, the interoperability tests with real peers and the GNOME Shell
# tests (network namespaces and chroots: needs root, as CI has).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test || exit 1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund || exit 1
fi
node scripts/build.mjs || exit 1
npx tsc --noEmit -p . || { echo "typecheck failed"; exit 1; }
npx eslint . || { echo "lint failed"; exit 1; }

# newer peers (kdeconnectd 25.04, GSConnect 62) run from a cached Debian 13 root file system
if [ "$(id -u)" -eq 0 ] && [ -z "${FERRY_TRIXIE_ROOT:-}" ]; then
    FERRY_TRIXIE_ROOT=$(bash scripts/rig-trixie.sh) || echo "could not build the Debian 13 test root; its tests will fail"
    export FERRY_TRIXIE_ROOT
fi

passed=0; failed=0; status=0
log=$(mktemp)
for suite in unit integration interop shell faults; do
    echo "== $suite tests"
    timeout 1200 gjs -m "build/test/$suite.js" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$line" ]; then
        echo "$suite tests ended without a summary (exit $rc)"
        failed=$((failed + 1)); status=1; continue
    fi
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
    [ "$rc" -eq 0 ] || status=1
done
rm -f "$log"
echo "$passed passed, $failed failed"
exit $status
