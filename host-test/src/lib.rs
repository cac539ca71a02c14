//! Hosts that load the vpnrecon filter module and call it exactly as Fluent Bit's
//! `wasm` filter does, plus the pieces of the `vpnrecon` CLI (input walking, replay,
//! summary, bench).
//!
//! Backends: [`Backend::Wasmtime`] (WASI preview 1, optional fuel metering),
//! [`Backend::Wamr`] (WAMR's fast interpreter, the runtime Fluent Bit embeds; cargo
//! feature `wamr`) and [`Backend::Native`] (the filter crate linked as a library).
//! [`open`] gives any of them behind the [`FilterHost`] trait.

pub mod aot;
pub mod bench;
pub mod compact;
#[cfg(feature = "native")]
pub mod fluent_bit_config;
pub mod generate;
mod host;
pub mod input;
#[cfg(feature = "native")]
pub mod native_host;
pub mod page;
pub mod replay;
pub mod summary;
#[cfg(feature = "wamr")]
pub mod wamr_host;
pub mod wasmtime_host;

pub use host::{
    open, Backend, CallError, CallOutcome, FilterHost, HostOptions, Mode, RecordTime, DEFAULT_TAG,
    FLUENT_BIT_DEFAULT_HEAP, FLUENT_BIT_DEFAULT_STACK,
};
pub use replay::{replay, ReplayOptions, ReplayReport};

/// The filter module built from `filter/` for `wasm32-wasip1` by this crate's build script.
#[cfg(feature = "embedded")]
pub fn embedded_module() -> &'static [u8] {
    include_bytes!(env!("VPNRECON_FILTER_WASM"))
}

/// The embedded module, or a clear error in a build without it.
pub fn try_embedded_module() -> anyhow::Result<&'static [u8]> {
    #[cfg(feature = "embedded")]
    return Ok(embedded_module());
    #[cfg(not(feature = "embedded"))]
    anyhow::bail!("this build embeds no filter module (cargo feature `embedded`): pass one with --filter F.wasm")
}
