#!/usr/bin/env bash
# Run the test suite as if it were another day: under Debian's `faketime`, once per instant, and
# say which instants passed, with how many tests and how long each run took.
#
#   bench/any_day.sh                              the whole suite (the README's command)
#   bench/any_day.sh --ignore=tests/browser       arguments are passed on to pytest
#   bench/any_day.sh --at '2027-06-15 08:59:30' -- tests/worker
#                                                 only the instants given (UTC), then pytest's
#                                                 arguments after `--`
#   KMBOT_TEST_WALL_CLOCK=1 bench/any_day.sh      the tests' own clocks unpinned too: which
#                                                 tests would depend on the day
#
# Each instant is UTC. The clock starts there and runs on (`faketime -f '@...'`), so sleeps and
# timeouts behave, a run that starts a minute before a slot crosses it, and the processes tests
# start (kmbot serve, socket, worker, the command line) carry on from the same clock instead of
# starting the instant again (FAKETIME_DONT_RESET). The tests run with TZ=UTC; kmbot shows and
# schedules in its own zone (Europe/London). Most tests pin their own clock (tests/conftest.py,
# `pinned_clock`); those marked `wall_clock` run kmbot in another process and read the time this
# script fakes.
#
# PostgreSQL's server is outside faketime: with KMBOT_TEST_DATABASE_URL set, the database's own
# now() is today's. kmbot never asks the database for the time (every timestamp is written by
# Python from its clock; no column has a server default), so the PostgreSQL tests mean the same;
# leave it unset to run on SQLite alone.
#
# Settings: ANY_DAY_TIMEOUT (one instant's run at most, default 30m), ANY_DAY_LOGS (where the
# logs go, default artifacts/any_day/<instant>.log), PYTHON, CC (builds a small shim, below).
# Exit status: 0 when every instant passed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
RUN_TIMEOUT=${ANY_DAY_TIMEOUT:-30m}  # one instant's run at most, so a hang is reported

# The instants: "UTC instant|why". The default community slot is Tuesdays at 10:00 Europe/London
# (tests/worker/workerkit.py, the sandbox's communities); the digest is Mondays at 09:00.
DEFAULT_INSTANTS=(
    "2027-06-15 08:59:30|Tuesday, 30 s before the 10:00 BST nudge slot"
    "2027-06-15 09:00:30|Tuesday, 30 s after the 10:00 BST nudge slot"
    "2027-06-14 07:59:30|Monday, 30 s before the 09:00 BST digest"
    "2027-06-17 08:30:00|a Thursday morning (09:30 BST)"
    "2027-03-28 00:59:30|30 s before the clocks go forward (01:00 GMT -> 02:00 BST)"
    "2027-10-31 00:59:30|30 s before the clocks go back (02:00 BST -> 01:00 GMT)"
    "2026-12-31 23:59:00|a minute before the new year"
    "2028-02-29 12:00:00|leap day"
    "2027-12-22 12:00:00|the week before a bank-holiday Tuesday (28 Dec)"
)

instants=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --at) instants+=("$2|given"); shift 2 ;;
        --at=*) instants+=("${1#--at=}|given"); shift ;;
        --) shift; break ;;
        -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
[[ ${#instants[@]} -eq 0 ]] && instants=("${DEFAULT_INSTANTS[@]}")

command -v faketime >/dev/null || { echo "faketime is not installed (apt-get install faketime)" >&2; exit 2; }
[[ -x $PYTHON ]] || { echo "no Python at $PYTHON (make the .venv first)" >&2; exit 2; }

LOGS=${ANY_DAY_LOGS:-$ROOT/artifacts/any_day}
mkdir -p "$LOGS"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kmbot-any-day.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# libfaketime 0.9.10 (Debian's) and Python 3.11+ disagree about waiting:
# - with the monotonic clock faked, Python's timed lock waits (sem_clockwait, which libfaketime
#   does not intercept) get deadlines months away, so every Event.wait(1) hangs;
# - with it left alone (--exclude-monotonic), libfaketime still shifts the absolute deadline of
#   clock_nanosleep(CLOCK_MONOTONIC), so every time.sleep() fails with EINVAL.
# So the monotonic clock is left alone, and this shim, preloaded before libfaketime, passes
# monotonic sleeps straight to the kernel. Wall-clock time (what the tests are about) is faked.
cat >"$TMP/monotonic_sleep.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*sleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
    if (clock == CLOCK_MONOTONIC)
        return syscall(SYS_clock_nanosleep, clock, flags, req, rem) == -1 ? errno : 0;
    static sleep_fn next;
    if (!next)
        next = (sleep_fn)dlsym(RTLD_NEXT, "clock_nanosleep");
    return next(clock, flags, req, rem);
}
C
SHIM=$TMP/monotonic_sleep.so
"${CC:-cc}" -shared -fPIC -O2 -o "$SHIM" "$TMP/monotonic_sleep.c" -ldl \
    || { echo "could not build the sleep shim (needs a C compiler: apt-get install gcc)" >&2; exit 2; }

results=()
failed=0
for entry in "${instants[@]}"; do
    at=${entry%%|*}
    why=${entry#*|}
    slug=${at//[: ]/-}
    log=$LOGS/$slug.log
    echo "== $at UTC ($why)"
    started=$SECONDS
    # Each run has its own pytest temporary directory: pytest tidies old ones by age, and the
    # ages are nonsense when every run lives on a different day.
    TZ=UTC FAKETIME_DONT_RESET=1 timeout --kill-after=30 "$RUN_TIMEOUT" \
        faketime -m --exclude-monotonic -f "@$at" \
        bash -c 'LD_PRELOAD="$0:$LD_PRELOAD" exec "$@"' "$SHIM" \
        "$PYTHON" -m pytest -q -p no:cacheprovider --basetemp="$TMP/$slug" "$@" >"$log" 2>&1
    status=$?
    [[ $status -eq 124 ]] && echo "(stopped after ${RUN_TIMEOUT}: hung?)" >>"$log"
    took=$((SECONDS - started))
    summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|skipped|deselected)' "$log" | tail -1 \
        | sed -E 's/^=+ //; s/ =+$//; s/ in [0-9.]+s.*$//')
    [[ -n $summary ]] || summary="no summary (exit $status; see $log)"
    if [[ $status -eq 0 ]]; then
        verdict=pass
    else
        verdict=FAIL
        failed=1
        grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/   /'
    fi
    echo "   $verdict: $summary (${took}s)"
    results+=("$(printf '%-4s  %s UTC  %-62s  %s  (%ss)' "$verdict" "$at" "$why" "$summary" "$took")")
done

echo
echo "Any day: pytest ${*:-(whole suite)}"
printf '%s\n' "${results[@]}"
exit $failed
