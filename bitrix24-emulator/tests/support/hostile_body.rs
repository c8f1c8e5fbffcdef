// The hostile form body of the parser's slow-path tests, shared by `src/php.rs` (unit test,
// through `include!`) and `tests/hostile.rs` (through the server).

/// 1 MiB of maps (`p{i}[a][b][c][d]`: about 2 * 10^5 of them), then 1 MiB of `k&k[a]` (a
/// scalar, then a map in its place: about 1.5 * 10^5 times). The old parser walked its cache of
/// every map on each such change: 3 * 10^10 steps, about an hour (64 KiB + 64 KiB took it 9 s,
/// 256 KiB + 256 KiB 226 s).
pub fn hostile_body() -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(2 << 20);
    let mut i = 0u64;
    while s.len() < 1 << 20 {
        let _ = write!(s, "p{i}[a][b][c][d]&");
        i += 1;
    }
    while s.len() < 2 << 20 {
        s.push_str("k&k[a]&");
    }
    s
}
