#!/usr/bin/env bash
# Every figure of benches/RESULTS.md, in one run, from the workspace root:
#
#   benches/run.sh            # the full sizes (about 10 minutes, most of it the write bound)
#   SMALL=1 benches/run.sh    # tiny sizes, a smoke test of the harness
#
# Installs the peers (fast_bitrix24, b24pysdk) into a virtualenv under target/, builds the
# harness in release mode and prints the tables (also written to target/bench-results.md).
# Every run starts its own emulator on loopback: no portal is ever contacted.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q "fast_bitrix24==1.8.14" "b24pysdk==1.3.2"
cargo build -q --release -p bitrix24-benches --bin compare
bin=target/release/compare

if [ -n "${SMALL:-}" ]; then
  read_n=3000 write_n=200 cpu_n=3000 rss_n=5000 calls=200
else
  read_n=100000 write_n=10000 cpu_n=100000 rss_n=1000000 calls=2000
fi

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "\$ $bin read --n $read_n --latency-ms 300 --limits standard"
  "$bin" read --n "$read_n" --latency-ms 300 --limits standard
  echo
  echo "\$ $bin write --n $write_n --latency-ms 300 --limits standard --peers fast_bitrix24,b24pysdk-keyset"
  "$bin" write --n "$write_n" --latency-ms 300 --limits standard --peers fast_bitrix24,b24pysdk-keyset
  echo
  echo "\$ $bin cpu --n $cpu_n"
  "$bin" cpu --n "$cpu_n"
  echo
  echo "\$ $bin overhead --calls $calls"
  "$bin" overhead --calls "$calls"
  echo
  echo "\$ $bin rss --n $rss_n"
  "$bin" rss --n "$rss_n"
} | tee target/bench-results.md
