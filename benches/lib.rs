//! Benchmarks live in the binaries of this crate.
