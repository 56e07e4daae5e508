//! dscsa-exchange: a DSCSA trading-partner exchange server.
//!
//! Request flow (`../shared/DESIGN.md`): listener (who are you? [`tls_listener`] with
//! `partners::tls`) → extractor (may you? [`auth`]) → service (do it, one transaction, one
//! audit record: [`services`]) → storage (the only place with SQL: [`storage`]). The command
//! line ([`cli`]), the HTTP API ([`api`]) and the MCP tools for AI agents ([`mcp`]) are thin
//! adapters over the services.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod budgets;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod fixtures;
pub mod mcp;
pub mod metrics;
mod ops;
pub mod principal_cache;
pub mod services;
pub mod storage;
pub mod stored;
pub mod tls_listener;

pub use app::Application;
