#!/usr/bin/env bash
# Capture throughput of dscsa-exchange beside QU4RTET, on the same generated DSCSA documents
# (../shared/peers/gen_epcis_dscsa.py: commission + pack into cases and pallets + ship).
#
#   scripts/bench-capture.sh [--sizes 10000,100000] [--runs 5] [--db sqlite,postgres] [--quartet]
#
# Ours: examples/capture_throughput (release), one capture per process into a fresh store,
# printing seconds and peak RSS; median and min..max per size and backend. PostgreSQL: a fresh
# database per run on 127.0.0.1:5432 (user postgres). With --quartet, QU4RTET's own runner
# (../shared/peers/quartet/run.sh, SQLite, capture path `rule`) runs on the same documents
# right after, and its summary is printed beside ours. Not part of CI: minutes per size.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
shared="$here/../shared"
sizes="10000,100000"
runs=5
dbs="sqlite,postgres"
quartet=0
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) sizes="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --db) dbs="$2"; shift 2 ;;
        --quartet) quartet=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

data="$here/bench-data"
mkdir -p "$data"
cd "$here"
cargo build --release --example capture_throughput >&2
bin="$here/target/release/examples/capture_throughput"

for n in ${sizes//,/ }; do
    doc="$data/dscsa_$n.xml"
    [ -f "$doc" ] || python3 "$shared/peers/gen_epcis_dscsa.py" --units "$n" -o "$doc" --manifest "$data/dscsa_$n.json" >&2
    echo "# $(md5sum "$doc")" >&2
    for db in ${dbs//,/ }; do
        results=()
        for _ in $(seq "$runs"); do
            if [ "$db" = postgres ]; then
                name="bench_capture_$$"
                psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
                line="$("$bin" "$doc" "$n" "postgres://postgres@127.0.0.1:5432/$name")"
                psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $name" >/dev/null
            else
                line="$("$bin" "$doc" "$n")"
            fi
            echo "$line"
            results+=("$line")
        done
        printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
s = sorted(r["seconds"] for r in rows)
rss = max(r["peak_rss_mib"] for r in rows)
db, units = rows[0]["db"], rows[0]["units"]
med = statistics.median(s)
print("ours %-8s %7d units: median %.3f s (%.3f..%.3f, n=%d), %.0f units/s, peak RSS %.1f MiB"
      % (db, units, med, s[0], s[-1], len(s), units / med, rss))
'
    done
done

if [ "$quartet" = 1 ]; then
    "$shared/peers/quartet/run.sh" "${QUARTET_WORK:-$here/bench-data/quartet}" --sizes "$sizes" --reps "${QUARTET_REPS:-1}" --db sqlite
fi
