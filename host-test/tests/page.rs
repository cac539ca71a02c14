//! `vpnrecon page DIR`: the page's files and the browser module it imports are
//! written, or the binary says how to get the module. (The page itself is tested in
//! a browser by web/test/page.test.js.)

use vpnrecon_host::page;

#[test]
fn page_writes_every_file_the_page_loads_or_says_how_to_get_the_module() {
    let dir = tempfile::tempdir().expect("temporary directory");
    match page::write(dir.path()) {
        Ok(written) => {
            assert!(page::available());
            assert_eq!(written.len(), 6);
            let read = |name: &str| {
                std::fs::read_to_string(dir.path().join(name))
                    .unwrap_or_else(|e| panic!("{name} was not written: {e}"))
            };
            assert!(read("index.html").contains("src=\"app.js\""));
            assert!(read("index.html").contains("href=\"style.css\""));
            assert!(read("app.js").contains("'./worker.js'"));
            assert!(read("worker.js").contains("from './pkg/vpnrecon_filter.js'"));
            assert!(read("pkg/vpnrecon_filter.js").contains("vpnrecon_filter_bg.wasm"));
            let wasm = std::fs::read(dir.path().join("pkg/vpnrecon_filter_bg.wasm"))
                .expect("the browser module");
            assert!(wasm.starts_with(b"\0asm"));
        }
        Err(message) => {
            assert!(!page::available());
            assert!(message.contains("scripts/build-js.sh"), "{message}");
        }
    }
}
