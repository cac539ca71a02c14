//! Hosts that load the vpnrecon filter module and call it exactly as Fluent Bit's
//! `wasm` filter does, plus the pieces of the `vpnrecon` CLI (input walking, replay,
//! summary, bench).
//!
//! Backends: [`Backend::Wasmtime`] (WASI preview 1, optional fuel metering),
//! [`Backend::Wamr`] (WAMR's fast interpreter, the runtime Fluent Bit embeds; cargo
//! feature `wamr`) and [`Backend::Native`] (the filter crate linked as a library).
//! [`open`] gives any of them behind the [`FilterHost`] trait.

pub mod aot;
#[cfg(feature = "native")]
pub mod asn_cmd;
#[cfg(feature = "native")]
pub mod baseline;
pub mod bench;
pub mod compact;
#[cfg(feature = "native")]
pub mod explain;
#[cfg(feature = "native")]
pub mod export_elastic;
#[cfg(feature = "native")]
pub mod export_sigma;
#[cfg(feature = "native")]
pub mod fluent_bit_config;
pub mod generate;
mod host;
pub mod input;
#[cfg(feature = "native")]
pub mod native_host;
pub mod page;
pub mod replay;
#[cfg(feature = "native")]
pub mod respond;
#[cfg(feature = "native")]
pub mod rule_model;
#[cfg(feature = "native")]
pub mod scale;
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

/// A report cut short because its reader went away (`vpnrecon … | head`) is not an
/// error.
pub fn ignore_broken_pipe(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}
