"""Drives the agent listener with the official MCP Python SDK (PyPI `mcp` 2.3.0).

Run by `tests/api/mcp.rs::the_python_sdk_speaks_both_modes` when `DSCSA_MCP_PYTHON` names a
Python that has the SDK (`.ci/run` installs it in `target/mcpvenv`). It connects once per
mode ("auto": the 2026-07-28 `server/discover` path; "legacy": the 2025-11-25 `initialize`
handshake) and prints one JSON object per line describing what the server answered; the Rust
test makes the assertions, so this script only reports.

    check.py URL TOKEN CA_PEM GTIN SERIAL LOT
"""

import asyncio
import json
import ssl
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def one_mode(url, token, ca, mode, gtin, serial, lot):
    tls = ssl.create_default_context(cafile=ca)
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        verify=tls,
        timeout=httpx2.Timeout(30, read=60),
    )
    out = {"mode": mode}
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        out["protocol"] = client.protocol_version
        tools = (await client.list_tools()).tools
        out["tools"] = sorted(t.name for t in tools)
        out["all_read_only"] = all(
            t.annotations is not None
            and t.annotations.read_only_hint is True
            and t.annotations.open_world_hint is False
            for t in tools
        )
        out["all_output_schemas"] = all(t.output_schema is not None for t in tools)

        verified = await client.call_tool("verify_product", {"gtin": gtin, "serial": serial, "lot": lot})
        out["verify"] = {"is_error": verified.is_error, "structured": verified.structured_content}

        wrong = await client.call_tool("verify_product", {"gtin": "12345", "serial": serial})
        out["bad_gtin"] = {"is_error": wrong.is_error, "text": text_of(wrong)}

        unknown = await client.call_tool("verify_product", {"gtin": gtin, "serial": serial, "colour": "red"})
        out["unknown_field"] = {"is_error": unknown.is_error, "text": text_of(unknown)}

        try:
            hidden = await client.call_tool("trace_product", {"gtin": gtin, "serial": serial})
            out["hidden_tool"] = {"answered": True, "is_error": hidden.is_error, "text": text_of(hidden)}
        except Exception as e:  # the SDK raises MCPError for a JSON-RPC error or an HTTP refusal
            chain = []
            while e is not None:
                chain.append(f"{type(e).__name__}: {e}")
                e = e.__cause__ or e.__context__
            out["hidden_tool"] = {"answered": False, "error": " <- ".join(chain)}
    return out


async def main():
    url, token, ca, gtin, serial, lot = sys.argv[1:7]
    for mode in ("auto", "legacy"):
        print(json.dumps(await one_mode(url, token, ca, mode, gtin, serial, lot)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
