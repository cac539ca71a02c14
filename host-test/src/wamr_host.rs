//! WAMR backend: the fast interpreter Fluent Bit embeds, driven with the exact call
//! sequence of Fluent Bit 5.1.1's `flb_wasm.c`:
//!
//! full_init → load → set_wasi_args_ex → instantiate(stack, heap) →
//! create_exec_env(stack); per record module_dup_data(tag, len + 1) and
//! module_dup_data(record, len + 1) → lookup_function → call_wasm(6 × u32) →
//! (exception: get_exception, clear_exception) → validate_app_str_addr(argv[0]) →
//! addr_app_to_native → copy → module_free(tag), module_free(record).
//!
//! Like Fluent Bit, an exception does not replace the instance: it is cleared and the
//! next record runs in the same instance (so a module that leaves itself broken after
//! a trap shows it here as it would in the router).

use crate::host::{Backend, CallError, CallOutcome, FilterHost, HostOptions, RecordTime};
use anyhow::{anyhow, bail, Context, Result};
use std::ffi::{c_char, CStr, CString};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::ptr;
use wamrx_sys as sys;

const ERROR_BUF: usize = 256;

pub struct WamrHost {
    /// WAMR keeps pointers into the module bytes until `wasm_runtime_unload`.
    _bytes: Vec<u8>,
    /// Kept alive: WAMR reads the WASI arguments again at every instantiation.
    _map_dirs: Vec<CString>,
    _map_dir_ptrs: Vec<*const c_char>,
    entry: CString,
    module: sys::wasm_module_t,
    instance: sys::wasm_module_inst_t,
    exec_env: sys::wasm_exec_env_t,
    stack_size: u32,
    heap_size: u32,
    stderr_file: Option<File>,
    stderr_taken: u64,
    instantiations: u64,
}

impl WamrHost {
    pub fn new(opts: &HostOptions) -> Result<WamrHost> {
        let bytes = opts.module_bytes()?.to_vec();
        let entry = CString::new(opts.entry_point())
            .map_err(|_| anyhow!("entry point name contains NUL"))?;
        let mut init = sys::RuntimeInitArgs {
            mem_alloc_type: sys::Alloc_With_System_Allocator,
            ..Default::default()
        };
        // SAFETY: `init` is a valid, zero-initialised argument block. The runtime is
        // reference counted: each host's init is matched by the destroy in `drop`.
        if !unsafe { sys::wasm_runtime_full_init(&mut init) } {
            bail!("WAMR: wasm_runtime_full_init failed");
        }
        // WAMR logs to stdout, where replay writes records: keep only fatal messages.
        // (Its one routine line, "a module with WASI apis should be either a command
        // or a reactor", is harmless for a cdylib filter; Fluent Bit logs it too.)
        // SAFETY: plain setter, valid after init.
        unsafe { sys::wasm_runtime_set_log_level(sys::WASM_LOG_LEVEL_FATAL) };
        let mut host = WamrHost {
            _bytes: bytes,
            _map_dirs: Vec::new(),
            _map_dir_ptrs: Vec::new(),
            entry,
            module: ptr::null_mut(),
            instance: ptr::null_mut(),
            exec_env: ptr::null_mut(),
            stack_size: opts.stack_size,
            heap_size: opts.heap_size,
            stderr_file: None,
            stderr_taken: 0,
            instantiations: 0,
        };
        let mut error = [0 as c_char; ERROR_BUF];
        let size = u32::try_from(host._bytes.len()).context("module larger than 4 GiB")?;
        // SAFETY: the buffer lives in `host` until after `wasm_runtime_unload` (drop).
        host.module = unsafe {
            sys::wasm_runtime_load(
                host._bytes.as_mut_ptr(),
                size,
                error.as_mut_ptr(),
                ERROR_BUF as u32,
            )
        };
        if host.module.is_null() {
            bail!("WAMR could not load the module: {}", c_text(&error));
        }

        // One pre-opened directory named `.` (Fluent Bit's default `accessible_paths`),
        // backed by the chosen host directory.
        if let Some(dir) = &opts.dir {
            let host_path = dir
                .canonicalize()
                .with_context(|| format!("pre-opened directory {}", dir.display()))?;
            let mapping = format!(".::{}", host_path.display());
            host._map_dirs
                .push(CString::new(mapping).context("directory path contains NUL")?);
        }
        host._map_dir_ptrs = host._map_dirs.iter().map(|s| s.as_ptr()).collect();

        let stderr_fd = if opts.capture_stderr {
            let file = tempfile::tempfile().context("temporary file for the module's stderr")?;
            let fd = file.as_raw_fd();
            host.stderr_file = Some(file);
            i64::from(fd)
        } else {
            2
        };
        // SAFETY: the pointer arrays live in `host` as long as the module; no env, no argv.
        unsafe {
            sys::wasm_runtime_set_wasi_args_ex(
                host.module,
                ptr::null_mut(),
                0,
                host._map_dir_ptrs.as_mut_ptr(),
                host._map_dir_ptrs.len() as u32,
                ptr::null_mut(),
                0,
                ptr::null_mut(),
                0,
                0,
                1,
                stderr_fd,
            );
        }
        host.instantiate()?;
        Ok(host)
    }

    fn instantiate(&mut self) -> Result<()> {
        let mut error = [0 as c_char; ERROR_BUF];
        // SAFETY: `module` is loaded and outlives the instance.
        let instance = unsafe {
            sys::wasm_runtime_instantiate(
                self.module,
                self.stack_size,
                self.heap_size,
                error.as_mut_ptr(),
                ERROR_BUF as u32,
            )
        };
        if instance.is_null() {
            bail!("WAMR could not instantiate the module: {}", c_text(&error));
        }
        // SAFETY: `instance` was just created.
        let exec_env = unsafe { sys::wasm_runtime_create_exec_env(instance, self.stack_size) };
        if exec_env.is_null() {
            // SAFETY: not used after this.
            unsafe { sys::wasm_runtime_deinstantiate(instance) };
            bail!(
                "WAMR could not create an execution environment with a {} byte stack",
                self.stack_size
            );
        }
        self.instance = instance;
        self.exec_env = exec_env;
        self.instantiations += 1;
        Ok(())
    }

    fn release_instance(&mut self) {
        // SAFETY: each pointer is either null or owned by this host and not used again.
        unsafe {
            if !self.exec_env.is_null() {
                sys::wasm_runtime_destroy_exec_env(self.exec_env);
            }
            if !self.instance.is_null() {
                sys::wasm_runtime_deinstantiate(self.instance);
            }
        }
        self.exec_env = ptr::null_mut();
        self.instance = ptr::null_mut();
    }

    /// `wasm_runtime_module_dup_data(len + 1)`: the source must hold the NUL too.
    fn dup(&mut self, bytes: &[u8]) -> Result<u64, CallError> {
        let mut with_nul = Vec::with_capacity(bytes.len() + 1);
        with_nul.extend_from_slice(bytes);
        with_nul.push(0);
        // SAFETY: `with_nul` is readable for its full length.
        let app = unsafe {
            sys::wasm_runtime_module_dup_data(
                self.instance,
                with_nul.as_ptr() as *const c_char,
                with_nul.len() as u64,
            )
        };
        if app == 0 {
            let why = self
                .take_exception()
                .unwrap_or_else(|| "no exception".into());
            return Err(CallError::Host(format!(
                "wasm_runtime_module_dup_data({} bytes) failed ({why}); Fluent Bit would \
                 hand the module a NULL pointer and corrupt this record",
                with_nul.len()
            )));
        }
        Ok(app)
    }

    fn take_exception(&mut self) -> Option<String> {
        // SAFETY: `instance` is live; the string is copied before clearing.
        unsafe {
            let text = sys::wasm_runtime_get_exception(self.instance);
            if text.is_null() {
                return None;
            }
            let message = CStr::from_ptr(text).to_string_lossy().into_owned();
            sys::wasm_runtime_clear_exception(self.instance);
            Some(message)
        }
    }

    fn free(&mut self, app: u64) {
        // SAFETY: `app` came from dup_data on this instance.
        unsafe { sys::wasm_runtime_module_free(self.instance, app) };
    }

    /// Reads the NUL-terminated string at `app` as Fluent Bit does: validate, convert, copy.
    fn read_string(&mut self, app: u32, out: &mut Vec<u8>) -> Result<CallOutcome, CallError> {
        out.clear();
        // SAFETY: validation checks the offset lies in linear memory and that a NUL
        // follows before its end, so the CStr read below stays inside memory.
        unsafe {
            if !sys::wasm_runtime_validate_app_str_addr(self.instance, u64::from(app)) {
                let why = self.take_exception().unwrap_or_default();
                return Err(CallError::InvalidResult(format!(
                    "returned value {app:#x} is not a valid string address ({why})"
                )));
            }
            let native = sys::wasm_runtime_addr_app_to_native(self.instance, u64::from(app));
            if native.is_null() {
                return Err(CallError::InvalidResult(format!(
                    "returned value {app:#x} maps to no native address"
                )));
            }
            out.extend_from_slice(CStr::from_ptr(native as *const c_char).to_bytes());
        }
        Ok(if out.is_empty() {
            CallOutcome::Dropped
        } else {
            CallOutcome::Kept
        })
    }

    fn call_function(&mut self, name: &CStr, args: &mut [u32]) -> Result<(), CallError> {
        // SAFETY: `instance` and `exec_env` are live; `args` holds at least one cell
        // for the result.
        unsafe {
            let func = sys::wasm_runtime_lookup_function(self.instance, name.as_ptr());
            if func.is_null() {
                return Err(CallError::Host(format!(
                    "the {} wasm function is not found",
                    name.to_string_lossy()
                )));
            }
            if !sys::wasm_runtime_call_wasm(
                self.exec_env,
                func,
                args.len() as u32,
                args.as_mut_ptr(),
            ) {
                let why = self
                    .take_exception()
                    .unwrap_or_else(|| "unknown exception".into());
                return Err(CallError::Trap(why));
            }
        }
        Ok(())
    }
}

impl FilterHost for WamrHost {
    fn backend(&self) -> Backend {
        Backend::Wamr
    }

    fn call(
        &mut self,
        tag: &[u8],
        time: RecordTime,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<CallOutcome, CallError> {
        let tag_app = self.dup(tag)?;
        let record_app = match self.dup(record) {
            Ok(app) => app,
            Err(e) => {
                self.free(tag_app);
                return Err(e);
            }
        };
        let mut argv = [
            tag_app as u32,
            tag.len() as u32,
            time.sec,
            time.nsec,
            record_app as u32,
            record.len() as u32,
        ];
        let entry = self.entry.clone();
        let result = self
            .call_function(&entry, &mut argv)
            .and_then(|()| self.read_string(argv[0], out));
        self.free(tag_app);
        self.free(record_app);
        result
    }

    fn info(&mut self) -> Result<String> {
        let mut argv = [0u32; 1];
        self.call_function(c"vpnrecon_info", &mut argv)
            .map_err(|e| anyhow!("vpnrecon_info: {e}"))?;
        let mut out = Vec::new();
        self.read_string(argv[0], &mut out)
            .map_err(|e| anyhow!("vpnrecon_info: {e}"))?;
        String::from_utf8(out).map_err(|_| anyhow!("vpnrecon_info returned text that is not UTF-8"))
    }

    fn reinstantiate(&mut self) -> Result<()> {
        self.release_instance();
        self.instantiate()
    }

    fn take_stderr(&mut self) -> Vec<u8> {
        let Some(file) = &self.stderr_file else {
            return Vec::new();
        };
        let mut fresh = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match file.read_at(&mut buf, self.stderr_taken) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    fresh.extend_from_slice(&buf[..n]);
                    self.stderr_taken += n as u64;
                }
            }
        }
        fresh
    }

    fn instantiations(&self) -> u64 {
        self.instantiations
    }

    fn memory_pages(&self) -> Option<u64> {
        if self.instance.is_null() {
            return None;
        }
        // SAFETY: `instance` is a live instance (checked non-null above; released
        // only by `release_instance`, which nulls it); a null memory is handled.
        unsafe {
            let memory = sys::wasm_runtime_get_default_memory(self.instance);
            (!memory.is_null()).then(|| sys::wasm_memory_get_cur_page_count(memory))
        }
    }
}

impl Drop for WamrHost {
    fn drop(&mut self) {
        self.release_instance();
        // SAFETY: the module is not used after unload; destroy matches full_init.
        unsafe {
            if !self.module.is_null() {
                sys::wasm_runtime_unload(self.module);
            }
            sys::wasm_runtime_destroy();
        }
    }
}

fn c_text(buf: &[c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).trim().to_string()
}
