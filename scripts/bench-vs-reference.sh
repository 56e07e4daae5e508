#!/usr/bin/env bash
# Side by side, in one run: the GS1 reference event-hash generator (PyPI
# epcis-event-hash-generator) and `dscsa epcis hash` on the same generated DSCSA document.
# Checks that every hash ID is identical, then prints wall and CPU time, peak RSS and the ratio.
#
#   scripts/bench-vs-reference.sh [EVENTS] [RUNS]   (default 100000 events, 5 runs; needs python3 and PyPI)
#
# The machine's speed drifts over minutes, so `dscsa epcis hash` runs RUNS times, half before
# and half after the reference, and the ratio uses its median.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
runs=${2:-5}
work=${BENCH_WORK:-target/bench-vs-reference}
mkdir -p "$work"
if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q epcis-event-hash-generator==1.9.3
fi
cargo build --release -q -p epcis --example gen_dscsa
cargo build --release -q --bin dscsa
doc="$work/dscsa-$events.xml"
target/release/examples/gen_dscsa "$events" xml12 "$doc"
echo "document: $doc ($(stat -c %s "$doc") bytes, $events events)"

measure() { # name, command...
    local name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "$@"
    read -r wall user sys rss < "$work/$name.time"
    printf '%-10s wall %8.2f s   cpu %8.2f s   peak RSS %8d kB\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$rss"
}
rm -f "$doc.hashes" "${doc%.xml}.hashes"
ours() { # run number
    measure "dscsa-$1" sh -c "target/release/dscsa epcis hash '$doc' > '$work/dscsa.hashes'"
}
before=$(( runs / 2 ))
for i in $(seq 1 "$before"); do ours "$i"; done
measure reference "$work/venv/bin/python" -m epcis_event_hash_generator -l WARNING -b "$doc"
for i in $(seq $(( before + 1 )) "$runs"); do ours "$i"; done
if cmp -s "${doc%.xml}.hashes" "$work/dscsa.hashes"; then
    echo "hash IDs: all $(wc -l < "$work/dscsa.hashes") identical"
else
    echo "hash IDs DIFFER" >&2
    exit 1
fi
read -r rwall _ < "$work/reference.time"
dwall=$(for i in $(seq 1 "$runs"); do read -r w _ < "$work/dscsa-$i.time"; echo "$w"; done | sort -n \
    | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "dscsa median wall over $runs runs: $dwall s"
echo "ratio (wall, reference / dscsa median): $(echo "scale=1; $rwall / $dwall" | bc)x"
