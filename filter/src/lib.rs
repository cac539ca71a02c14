//! vpnrecon detection module (the engine lands once its parts compile).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod config;
pub mod event;
pub mod prefilter;
pub mod record;
pub mod scan;
pub mod state;
