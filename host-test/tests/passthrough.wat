;; A stand-in filter with Fluent Bit's JSON signature, for testing the hosts.
;; Memory map: 16 = "" (drop), 32..34 = call counter text, 64.. = info JSON,
;; 128.. = stderr message, 1024.. = bump heap (free is a no-op).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 16) "\00")
  (data (i32.const 64) "{\"module\":\"passthrough\"}\00")
  (data (i32.const 128) "passthrough: hello on stderr\n")

  (func $malloc (export "malloc") (param $n i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap
      (i32.and (i32.add (i32.add (local.get $ptr) (local.get $n)) (i32.const 7))
               (i32.const -8)))
    (block $enough
      (br_if $enough
        (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (drop (memory.grow
        (i32.add (i32.shr_u (i32.sub (global.get $heap)
                                     (i32.mul (memory.size) (i32.const 65536)))
                            (i32.const 16))
                 (i32.const 1)))))
    (local.get $ptr))

  (func (export "free") (param i32))

  ;; Returns the host's record pointer untouched (zero copy).
  (func (export "pass") (param i32 i32 i32 i32 i32 i32) (result i32)
    (local.get 4))

  ;; Returns the empty string: the record is dropped.
  (func (export "drop_all") (param i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 16))

  ;; Traps when the record starts with 'X', else passes it through.
  (func (export "trap_on_x") (param i32 i32 i32 i32 i32 i32) (result i32)
    (if (i32.eq (i32.load8_u (local.get 4)) (i32.const 88))
      (then unreachable))
    (local.get 4))

  ;; Returns the number of calls made to this instance (mod 10) as one digit.
  (func (export "count") (param i32 i32 i32 i32 i32 i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 32)
      (i32.add (i32.const 48) (i32.rem_u (global.get $calls) (i32.const 10))))
    (i32.store8 (i32.const 33) (i32.const 0))
    (i32.const 32))

  ;; Returns the tag instead of the record (checks tag handover and its NUL).
  (func (export "echo_tag") (param i32 i32 i32 i32 i32 i32) (result i32)
    (local.get 0))

  ;; Returns a string that runs to the end of memory with no NUL.
  (func (export "no_nul") (param i32 i32 i32 i32 i32 i32) (result i32)
    (local $end i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (i32.store (i32.sub (local.get $end) (i32.const 4)) (i32.const 0x61616161))
    (i32.sub (local.get $end) (i32.const 4)))

  ;; Writes a line to stderr (fd 2) through WASI, then passes the record through.
  (func (export "say") (param i32 i32 i32 i32 i32 i32) (result i32)
    ;; iovec at 256: base 128, length 29; bytes written stored at 264.
    (i32.store (i32.const 256) (i32.const 128))
    (i32.store (i32.const 260) (i32.const 29))
    (drop (call $fd_write (i32.const 2) (i32.const 256) (i32.const 1) (i32.const 264)))
    (local.get 4))

  ;; Passes the record only when time_sec = 1700000000 and time_nsec = 5, else drops it.
  (func (export "check_time") (param i32 i32 i32 i32 i32 i32) (result i32)
    (if (result i32)
      (i32.and (i32.eq (local.get 2) (i32.const 1700000000))
               (i32.eq (local.get 3) (i32.const 5)))
      (then (local.get 4))
      (else (i32.const 16))))

  (func (export "vpnrecon_info") (result i32)
    (i32.const 64))
)
