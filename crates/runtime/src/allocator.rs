//! The process's allocator: mimalloc, declared as the global allocator by the runtime's binary
//! and by the fan-out benchmark (a library does not choose its embedder's allocator).
//!
//! Why: ingest allocates and frees many small strings per event (ids, names, items, JSON) on
//! several threads. With glibc's malloc, freeing them was 40 % of the OTLP ingest's samples
//! (`_int_free`, `unlink_chunk`). With mimalloc's per-thread free lists the OTLP ingest went
//! from 80 k to about 100 k spans/s on the SQLite store, and the native ingest's `handle_text`
//! from 1,300 to 800 ns per event (BENCHMARKS.md, the binaries run back to back). The price is
//! resident memory under huge events: pages freed by one thread and cached by another (RELIABILITY.md).

/// The allocator type, for `#[global_allocator] static A: Allocator = ALLOCATOR;`.
pub type Allocator = mimalloc::MiMalloc;

/// Its value.
pub const ALLOCATOR: Allocator = mimalloc::MiMalloc;

/// The mimalloc release whose option numbers are below (3.3.2).
const KNOWN_VERSION: i32 = 30302;
/// `mi_option_arena_max_object_size` in 3.3.2's `mi_option_t`; the sys crate names no constant.
const ARENA_MAX_OBJECT_SIZE: libmimalloc_sys::mi_option_t = 45;
/// Its environment variable, which mimalloc reads itself: an operator's setting wins.
const ARENA_MAX_OBJECT_SIZE_ENV: &str = "MIMALLOC_ARENA_MAX_OBJECT_SIZE";

/// Blocks of a MiB or more (large events, frames, snapshots) are mapped and unmapped on their
/// own, so that freeing one gives it back to the system at once; mimalloc otherwise keeps them
/// in its arenas (a steady 183 MiB instead of 123 after 12 MB events). Call first thing in
/// `main`. Returns whether the setting was applied: not with another mimalloc release, whose
/// option numbers may differ, nor when the environment sets it.
pub fn tune() -> bool {
    if std::env::var_os(ARENA_MAX_OBJECT_SIZE_ENV).is_some() || version() != KNOWN_VERSION {
        return false;
    }
    // SAFETY: sets one option, in KiB, to a documented value; mimalloc reads it at each
    // large allocation.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_MAX_OBJECT_SIZE, 1024) };
    true
}

/// mimalloc's own switch for transparent huge pages, read from the environment at its start:
/// an operator who sets it chooses.
const ALLOW_THP_ENV: &str = "MIMALLOC_ALLOW_THP";

/// Turns transparent huge pages off for the process (Linux; mimalloc asks for them on its
/// mappings). Why: a huge page is cleared whole on its first touch, 2 MiB at a time, and on a
/// virtual machine whose host hands memory back and forth that clearing was most of a large
/// snapshot's time. The first snapshot of B11's 100 MB span took 1.9-3.6 s with them and
/// 0.52-0.59 s without, on this machine, runtime against runtime (BENCHMARKS.md). Databases
/// advise the same for latency (Redis, MongoDB). Call first thing in `main`: mimalloc reads
/// its own option before `main`, so the process's switch is the one left. Returns whether
/// they were turned off: not when the environment sets `MIMALLOC_ALLOW_THP`, nor elsewhere
/// than Linux.
pub fn no_huge_pages() -> bool {
    if std::env::var_os(ALLOW_THP_ENV).is_some() {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sets the calling process's THP flag; no memory is passed.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// The linked mimalloc's version (30302 for 3.3.2).
pub fn version() -> i32 {
    // SAFETY: a plain query.
    unsafe { libmimalloc_sys::mi_version() }
}

#[cfg(test)]
mod tests {
    /// A mimalloc update must be looked at: the option number in `tune` is its release's.
    #[test]
    fn the_linked_mimalloc_is_the_release_the_option_numbers_are_from() {
        assert_eq!(super::version(), super::KNOWN_VERSION);
    }
}
