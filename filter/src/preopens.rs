//! The directories the host pre-opened for the module: under WASI the only places
//! it can read its configuration and keep its state.

/// The directories the host pre-opened for the module, by the names the host gave
/// them (Fluent Bit: each entry of `accessible_paths`, default `.`). WASI gives the
/// module no other way to find its configuration and state directories, and a
/// relative path only resolves against a pre-opened `.`, so the module asks.
/// Natively (tests, the native replay backend) this is the current directory.
pub fn preopened_dirs() -> Vec<String> {
    #[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
    {
        wasi_preopens::list()
    }
    #[cfg(not(all(target_arch = "wasm32", target_os = "wasi")))]
    {
        vec![String::from(".")]
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod wasi_preopens {
    /// WASI preview 1 `prestat`: a tag (0 = directory) and the name's length.
    #[repr(C)]
    struct Prestat {
        tag: u8,
        name_len: usize,
    }

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        fn fd_prestat_get(fd: u32, out: *mut Prestat) -> u16;
        fn fd_prestat_dir_name(fd: u32, path: *mut u8, len: usize) -> u16;
    }

    /// Pre-opened descriptors are numbered from 3 without holes; the first
    /// descriptor that is not one ends the list. Bounded so a host with a huge
    /// number of descriptors cannot keep us here.
    pub fn list() -> Vec<String> {
        const FIRST_PREOPEN_FD: u32 = 3;
        const MAX_PREOPENS: u32 = 64;
        const MAX_NAME: usize = 4096;
        let mut dirs = Vec::new();
        for fd in FIRST_PREOPEN_FD..FIRST_PREOPEN_FD + MAX_PREOPENS {
            let mut stat = Prestat {
                tag: u8::MAX,
                name_len: 0,
            };
            // SAFETY: `stat` is a valid, writable prestat for the call's duration.
            if unsafe { fd_prestat_get(fd, &mut stat) } != 0 {
                break;
            }
            if stat.tag != 0 || stat.name_len > MAX_NAME {
                continue;
            }
            let mut name = vec![0u8; stat.name_len];
            // SAFETY: `name` has exactly `name_len` writable bytes.
            if unsafe { fd_prestat_dir_name(fd, name.as_mut_ptr(), name.len()) } != 0 {
                continue;
            }
            // Some hosts count a trailing NUL in the length.
            while name.last() == Some(&0) {
                name.pop();
            }
            if let Ok(name) = String::from_utf8(name) {
                dirs.push(name);
            }
        }
        dirs
    }
}
