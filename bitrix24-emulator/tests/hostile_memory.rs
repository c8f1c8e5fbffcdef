//! Memory of a hostile form name, measured as the process's peak resident size (Linux
//! `VmHWM`): the only test of its binary, so that nothing else moves the peak.

mod support;

use bitrix24_emulator::Emulator;
use std::fmt::Write as _;
use support::post_form;

/// A field of `/proc/self/status` in KiB (`None` off Linux).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_long_deep_name_costs_memory_in_proportion_to_it() {
    // A 30 MiB name of 64 groups (the most PHP keeps). The old parser kept a copy of the path
    // so far at every level: about 1 GiB here.
    let seg = "s".repeat(480 << 10);
    let mut body = String::from("k");
    for i in 0..64 {
        let _ = write!(body, "[{seg}{i}]");
    }
    body.push_str("=1");
    let emu = Emulator::builder()
        .webhook(1, "C")
        .start()
        .await
        .expect("the emulator starts");
    // Start the peak from here where the kernel allows it (`clear_refs` 5 resets `VmHWM`).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let Some(before) = status_kib("VmHWM:") else {
        eprintln!("no /proc/self/status: skipped");
        return;
    };
    let r = post_form(&format!("{}server.time", emu.webhook_url()), body).await;
    assert_eq!(r.status(), 200);
    let after = status_kib("VmHWM:").unwrap_or(before);
    let grew_mib = after.saturating_sub(before) / 1024;
    // The body is held a few times over (sent, received, decoded, its keys in the maps).
    assert!(
        grew_mib < 400,
        "a 30 MiB name raised the peak by {grew_mib} MiB"
    );
    eprintln!("a 30 MiB name raised the peak by {grew_mib} MiB");
}
