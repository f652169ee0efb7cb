//! The console's server binary as a library, so tests can build the router and
//! the whole application in-process.

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod emulated;
pub mod headers;
pub mod housekeeping;
pub mod routes;
pub mod security;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
