//! `b24`: guarded Bitrix24 REST calls from the shell.
//!
//! A drop-in for the agent skill's `bitrix24_client.py`: the same flags, environment
//! variables and exit codes (0 success, 1 portal or transport error, 2 refused by the
//! guardrails or invalid input, with nothing sent). `b24 METHOD ...` is `b24 call METHOD ...`.

mod call;
mod config;
mod data;
mod doctor;
mod guarded;
mod import;
mod info;
mod mcp;
mod mcp_args;
mod mcp_catalog;
mod mcp_portal;
mod mcp_server;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Why a command failed, and its exit code.
#[derive(Debug)]
pub enum Fail {
    /// Refused or invalid input: exit 2, nothing sent.
    Invalid(String),
    /// The portal or the transport failed: exit 1.
    Portal(String),
}

impl Fail {
    fn code(&self) -> u8 {
        match self {
            Fail::Invalid(_) => 2,
            Fail::Portal(_) => 1,
        }
    }
}

/// Guarded Bitrix24 REST calls: packs, allowlist, confirmations, plans, idempotency, audit.
#[derive(Debug, Parser)]
#[command(name = "b24", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Calls one method through the guardrails (the default: `b24 METHOD ...`).
    Call(Box<call::CallArgs>),
    /// Lists the packs, or finds the pack for a term (`--term "open lines"`).
    Packs(info::PacksArgs),
    /// Lists the specced methods of a pack with their risk and scopes.
    Methods(info::MethodsArgs),
    /// The least-privilege scopes for a set of methods.
    Scopes(info::ScopesArgs),
    /// Checks the portal: config, reachability, auth, scopes, methods, offline events, limits.
    Doctor(doctor::DoctorArgs),
    /// Streams every row of a list method as JSON lines.
    Export(data::ExportArgs),
    /// Sends one call per JSON line of a file, 50 per batch request, resumable.
    Import(import::ImportArgs),
    /// Drains the offline event queue: retries, a dead-letter queue, `--once` or a loop.
    Worker(worker::WorkerArgs),
    /// Serves the embedded emulator: a local portal to try things with no account.
    Emulator(info::EmulatorArgs),
    /// Serves the Model Context Protocol over stdio, with the guardrails of `call`.
    Mcp(Box<mcp::McpArgs>),
    /// Prints the agent skill (references/SKILL.md): the routing guide an agent loads first.
    Skill,
}

const SUBCOMMANDS: &[&str] = &[
    "call", "packs", "methods", "scopes", "doctor", "export", "import", "worker", "emulator",
    "mcp", "skill", "help",
];

/// `b24 METHOD ...` and `b24 --execute-plan ID` (the seed's forms) mean `b24 call ...`.
fn with_default_subcommand(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let is_top_flag = matches!(first, "-h" | "--help" | "-V" | "--version");
    if args.len() > 1 && !is_top_flag && !SUBCOMMANDS.contains(&first) {
        args.insert(1, "call".into());
    }
    args
}

fn main() -> ExitCode {
    let args = with_default_subcommand(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let masker = config::masker_from_env();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Call(a) => call::run(*a, &masker).await,
            Command::Packs(a) => info::packs(&a),
            Command::Methods(a) => info::methods(&a),
            Command::Scopes(a) => info::scopes(&a),
            Command::Doctor(a) => doctor::doctor(a, &masker).await,
            Command::Export(a) => data::export(a, &masker).await,
            Command::Import(a) => import::import(a, &masker).await,
            Command::Worker(a) => worker::worker(a, &masker).await,
            Command::Emulator(a) => info::emulator(a).await,
            Command::Mcp(a) => mcp::run(*a, &masker).await,
            Command::Skill => {
                mcp::skill();
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            match &f {
                Fail::Invalid(m) | Fail::Portal(m) => eprintln!("{}", masker.mask(m)),
            }
            ExitCode::from(f.code())
        }
    }
}

/// Prints a line on stdout, secrets masked.
pub fn out(masker: &config::Masker, text: &str) {
    use std::io::Write;
    // A closed pipe (`b24 ... | head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{}", masker.mask(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        with_default_subcommand(a.iter().map(Into::into).collect())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn seed_forms_mean_call() {
        assert_eq!(v(&["b24", "user.current"]), ["b24", "call", "user.current"]);
        assert_eq!(
            v(&["b24", "--execute-plan", "x"]),
            ["b24", "call", "--execute-plan", "x"]
        );
        assert_eq!(v(&["b24", "--list-packs"]), ["b24", "call", "--list-packs"]);
        assert_eq!(v(&["b24", "packs"]), ["b24", "packs"]);
        assert_eq!(v(&["b24", "--help"]), ["b24", "--help"]);
        Cli::command_for_test();
    }

    impl Cli {
        fn command_for_test() {
            use clap::CommandFactory;
            Cli::command().debug_assert();
        }
    }
}
