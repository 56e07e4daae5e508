// Preloaded into the MCP conformance suite (`node --import`) by scripts/mcp-conformance.sh.
//
// The suite has no option to send headers, so on its own it cannot reach an authenticated
// server. This installs a global undici dispatcher (used by Node's fetch, which the suite's
// MCP client speaks through, and by the suite's own raw requests) that, for requests to the
// server under test ($DSCSA_CONFORMANCE_URL's origin) and nothing else:
// - adds `Authorization: Bearer $DSCSA_CONFORMANCE_TOKEN` unless the request has one;
// - sets the TLS server name to the URL's host. undici otherwise takes it from the Host
//   header, so the suite's DNS-rebinding probe (Host: evil.example.com) would fail the
//   certificate check before our server could refuse the foreign Host itself.
// Everything else the suite sends (Host, Origin, protocol headers, bodies) goes through
// unchanged, so what it measures is the real agent listener: TLS, bearer tokens, scopes,
// Host and Origin checks.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.DSCSA_CONFORMANCE_MODULES}/`);
const { Agent, setGlobalDispatcher } = require("undici");

const token = process.env.DSCSA_CONFORMANCE_TOKEN;
const target = new URL(process.env.DSCSA_CONFORMANCE_URL);

function withBearer(headers) {
  const value = `Bearer ${token}`;
  if (headers == null) {
    return { authorization: value };
  }
  if (Array.isArray(headers)) {
    const names = headers.filter((_, i) => i % 2 === 0).map((n) => String(n).toLowerCase());
    return names.includes("authorization") ? headers : [...headers, "authorization", value];
  }
  if (typeof headers[Symbol.iterator] === "function" && typeof headers.entries === "function") {
    headers = Object.fromEntries(headers.entries());
  }
  const present = Object.keys(headers).some((n) => n.toLowerCase() === "authorization");
  return present ? headers : { ...headers, authorization: value };
}

const bearer = (dispatch) => (options, handler) => {
  if (new URL(String(options.origin)).origin !== target.origin) {
    return dispatch(options, handler);
  }
  return dispatch(
    { ...options, headers: withBearer(options.headers), servername: target.hostname },
    handler,
  );
};

setGlobalDispatcher(new Agent().compose(bearer));
