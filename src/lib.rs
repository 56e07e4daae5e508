//! dscsa-exchange: a DSCSA trading-partner exchange server.
//!
//! Today this crate holds the command-line interface over the `epcis` codec crate; the server
//! (partner listener, storage, services) lands with the capabilities of `DESIGN.md`.

pub mod audit;
pub mod cli;
