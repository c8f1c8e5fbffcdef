//! Shared helpers for the examples.

use bitrix24::{Client, Error};
use bitrix24_emulator::{Emulator, RunningEmulator};

mod app;
pub use app::{app_builder, app_of, tokens_of};

/// A client acting as the emulator's OAuth application (events and other app-only methods
/// need an application context: a webhook gets `WRONG_AUTH_TYPE`).
///
/// # Errors
///
/// When the client cannot be built from the emulator's app.
pub fn app_client(emulator: &RunningEmulator) -> Result<Client, Error> {
    app_builder(emulator).build()
}

/// An emulator with a webhook, and a client on that webhook: what each chain test starts
/// from.
///
/// # Panics
///
/// When the emulator cannot start (no free port).
pub async fn webhook_portal() -> (RunningEmulator, Client) {
    let emu = Emulator::builder()
        .webhook(1, "chainscode")
        .start()
        .await
        .expect("the emulator starts");
    let client = Client::webhook(&emu.webhook_url()).expect("a webhook client");
    (emu, client)
}

/// The code lines of `text`, trimmed: no blank line, no comment line.
fn code_lines(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    kept.join("\n")
}

/// Checks that `e` is the portal's error `code` (what a chain's refusal step expects).
///
/// # Panics
///
/// When the error carries another code, or none.
pub fn assert_code(e: &Error, code: &str) {
    assert_eq!(e.code().map(bitrix24::ErrorCode::as_str), Some(code), "{e}");
}

/// Checks that each of the `blocks` Rust snippets of a chains reference (`md`) is in `code`
/// (comments and indentation aside), so a reference cannot drift from the code CI runs.
///
/// # Panics
///
/// When the count differs or a snippet is not in `code`, naming it.
pub fn assert_snippets_in(md: &str, code: &str, blocks: usize) {
    let code = code_lines(code);
    let found: Vec<&str> = md
        .split("```rust\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(found.len(), blocks, "one snippet per chain");
    for b in found {
        assert!(code.contains(&code_lines(b)), "not in the code:\n{b}");
    }
}
