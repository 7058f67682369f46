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
bash scripts/typecheck.sh || { echo "typecheck failed"; exit 1; }
npx eslint . || { echo "lint failed"; exit 1; }

# newer peers and desktops run from cached Debian root file systems (scripts/rig-root.sh):
# trixie (kdeconnectd 25.04, GSConnect 62, GNOME Shell 48), forky (GNOME Shell 50) and sid
# (kdeconnectd 26.08, GSConnect 74, GNOME Shell 51); a fresh machine builds them side by side
if [ "$(id -u)" -eq 0 ]; then
    declare -A ROOT_VAR=([trixie]=FERRY_TRIXIE_ROOT [forky]=FERRY_FORKY_ROOT [sid]=FERRY_SID_ROOT)
    pids=()
    for suite in trixie forky sid; do
        var=${ROOT_VAR[$suite]}
        [ -n "${!var:-}" ] && continue
        bash scripts/rig-root.sh "$suite" > "/tmp/ferry-rig-$suite.path" &
        pids+=("$!:$suite")
    done
    for entry in "${pids[@]}"; do
        suite=${entry#*:}; var=${ROOT_VAR[$suite]}
        if wait "${entry%%:*}"; then
            export "$var=$(cat "/tmp/ferry-rig-$suite.path")"
        else
            echo "could not build the Debian $suite test root; its tests will fail"
        fi
        rm -f "/tmp/ferry-rig-$suite.path"
    done
fi

passed=0; failed=0; status=0
log=$(mktemp)
# what failed, said again at the end of the output, where a reader of a long CI log looks first
recap=$(mktemp)
# the integration suite once more with every engine on Debian unstable's gjs 1.90 and GLib 2.90
runs=(unit integration integration@sid interop matrix shell faults)
for run in "${runs[@]}"; do
    suite=${run%@*}
    echo "== $run tests"
    if [ "$run" = integration@sid ]; then
        FERRY_ENGINE_ROOT=${FERRY_SID_ROOT:-/nonexistent} timeout 1200 gjs -m "build/test/$suite.js" 2>&1 | tee "$log"
    else
        timeout 1200 gjs -m "build/test/$suite.js" 2>&1 | tee "$log"
    fi
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    grep -E '^not ok' "$log" | sed "s/^/[$run] /" >> "$recap"
    if [ -z "$line" ]; then
        why="exit $rc"; [ "$rc" -gt 128 ] && why="$why: signal $(kill -l $((rc - 128)) 2>/dev/null)"
        echo "$run tests ended without a summary ($why)" | tee -a "$recap"
        tail -n 40 "$log" | sed "s/^/[$run] | /" >> "$recap"
        failed=$((failed + 1)); status=1; continue
    fi
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
    [ "$rc" -eq 0 ] || status=1
done
rm -f "$log"
if [ -s "$recap" ]; then
    echo "== what failed"
    cat "$recap"
fi
rm -f "$recap"
echo "$passed passed, $failed failed"
exit $status
