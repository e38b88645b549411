//! Giving memory back to the system after a large read.
//!
//! A read of millions of points allocates many buffers of a few kilobytes
//! each; glibc's allocator keeps such freed memory in its heap for reuse
//! rather than returning it, so the server's RSS would stay at its largest
//! read's peak for good. After a large read, the free memory is handed back.

/// Points read by one request past which its memory is handed back.
pub(crate) const LARGE_READ_POINTS: usize = 1_000_000;

/// Series matched by one request past which its memory is handed back.
pub(crate) const LARGE_READ_SERIES: usize = 10_000;

/// Returns the allocator's free memory to the system (glibc only; a no-op
/// elsewhere).
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[expect(
            unsafe_code,
            reason = "malloc_trim has no safe wrapper; it only walks the allocator's own heap"
        )]
        // SAFETY: malloc_trim takes no pointers and may be called from any
        // thread at any time; it only releases memory glibc holds free.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
