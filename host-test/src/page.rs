//! `vpnrecon page DIR`: writes the static triage page (`web/page/`) and the
//! detection module it runs in the browser (the `js` build of the filter,
//! `target/js/web/`), both embedded in this binary. Any static file server can
//! then serve DIR; the page does all its work in the browser.
//!
//! The page's own files are always embedded. The browser module is embedded when
//! `scripts/build-js.sh` had built it before this binary (the build script looks
//! for it): it is made by the `wasm-bindgen` CLI, which a plain `cargo build` does
//! not need to have.

use std::fs;
use std::path::{Path, PathBuf};

/// The page's files: (path inside DIR, contents). Statics, not consts, so the
/// megabytes are in the binary once and not in the crate's metadata.
static PAGE: &[(&str, &[u8])] = &[
    ("index.html", include_bytes!("../../web/page/index.html")),
    ("style.css", include_bytes!("../../web/page/style.css")),
    ("app.js", include_bytes!("../../web/page/app.js")),
    ("worker.js", include_bytes!("../../web/page/worker.js")),
];

/// The detection module for the browser, when it was built before this binary.
#[cfg(vpnrecon_web_pkg)]
static MODULE: Option<&[(&str, &[u8])]> = Some(&[
    (
        "pkg/vpnrecon_filter.js",
        include_bytes!(env!("VPNRECON_WEB_PKG_JS")),
    ),
    (
        "pkg/vpnrecon_filter_bg.wasm",
        include_bytes!(env!("VPNRECON_WEB_PKG_WASM")),
    ),
]);
#[cfg(not(vpnrecon_web_pkg))]
static MODULE: Option<&[(&str, &[u8])]> = None;

/// Writes the page into `dir` (created if needed); returns the files written.
pub fn write(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let Some(module) = MODULE else {
        return Err(
            "this vpnrecon binary was built without the page's detection module: \
             run scripts/build-js.sh, then build vpnrecon again (cargo build -p vpnrecon-host)"
                .to_owned(),
        );
    };
    let mut written = Vec::new();
    for (name, bytes) in PAGE.iter().chain(module.iter()) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Whether this binary can write the page.
pub fn available() -> bool {
    MODULE.is_some()
}
