//! Streams every deal of a seeded emulator with both pagination strategies and prints rows/s
//! and the keyset/offset ratio, measured in the same process.
//!
//! ```sh
//! cargo run --release -p bitrix24-benches --bin stream -- 200000
//! ```

use std::time::Instant;

// streams crm.deal.list, as the peers compared with do, so the figures stay comparable
#[allow(deprecated)]
use bitrix24::packs::core::CrmDealList;
use bitrix24::{Client, Strategy};
use bitrix24_emulator::Emulator;
use futures::TryStreamExt;

// the reason is on the imports
#[allow(deprecated)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    let seeded = Instant::now();
    let emu = Emulator::builder()
        .webhook(1, "bench")
        .seed_deals(n)
        .start()
        .await?;
    println!("seeded {n} deals in {:.2?}", seeded.elapsed());
    // No client-side limiter: the emulator's limits are off, and this measures the machinery.
    let client = Client::builder()
        .webhook(&emu.webhook_url())
        .no_rate_limit()
        .build()?;
    let mut rates = Vec::new();
    for strategy in [Strategy::Offset, Strategy::Keyset] {
        let started = Instant::now();
        let requests_before = emu.control().request_count();
        let rows: usize = client
            .stream_with(
                &CrmDealList::new().select(["ID", "TITLE", "STAGE_ID"]),
                strategy,
            )
            .try_fold(0usize, |n, _| async move { Ok(n + 1) })
            .await?;
        let secs = started.elapsed().as_secs_f64();
        let requests = emu.control().request_count() - requests_before;
        assert_eq!(rows as u64, n, "{strategy:?} streamed every row once");
        let rate = rows as f64 / secs;
        println!(
            "{strategy:?}: {rows} rows in {secs:.2} s = {rate:.0} rows/s, {requests} HTTP requests"
        );
        rates.push(rate);
    }
    println!(
        "keyset / offset throughput ratio: {:.2}",
        rates[1] / rates[0]
    );
    Ok(())
}
