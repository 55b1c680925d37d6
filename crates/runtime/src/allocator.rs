//! The process's allocator settings.

/// Turns glibc's fastbins off and fixes its mmap threshold (below). Ingesting a producer's batch allocates many small strings and
/// frees them around one large vector of events; freeing that vector makes glibc consolidate
/// its fastbins every time. Without fastbins `handle_text` took 899 ns per event instead of
/// 1,345 in the fan-out benchmark (small allocations still come from glibc's per-thread
/// caches). Elsewhere this does nothing. Call it first thing in `main`.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; M_MXFAST = 0 is a documented value.
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
        // Allocations of a MiB or more (large events, frames, snapshots) are mapped and
        // unmapped on their own, so that freeing one gives it back to the system. glibc
        // otherwise raises this threshold to the largest block freed (up to 32 MiB) and
        // keeps such blocks in its heap: resident memory then stays at its peak.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
