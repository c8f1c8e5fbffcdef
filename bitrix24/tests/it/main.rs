//! Integration tests of the client: canned wire sequences and the local emulator.

mod canned;
mod batching;
mod wire;
