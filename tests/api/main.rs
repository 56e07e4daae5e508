//! Integration tests through the real server: real TLS (rustls client with client
//! certificates), real database. Every partner-listener case runs twice, on SQLite and on
//! PostgreSQL (`DSCSA_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`,
//! a fresh database per test); without PostgreSQL the second half is skipped with a message.
//! `TEST_LOG=1` shows the server's logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod audit_cli;
mod backup;
mod cli;
mod config;
mod demo;
mod epcis_capture;
mod epcis_query;
mod fda;
mod helpers;
mod investigations;
mod limits;
mod mcp;
mod metrics;
mod openapi;
mod tls;
mod tracing;
mod upgrade;
mod visibility;
mod vrs;
