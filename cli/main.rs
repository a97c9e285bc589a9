//! The `ampsync` command line: parses arguments, calls the engine, prints.
//!
//! Exit status: 0 success, 1 error, 2 usage error, 3 import held by a
//! safeguard, 4 no new file by `schedule.expect_file_by` (`sync`). Errors
//! and panics become an exit status in one place, `main`.

mod commands;
mod console;
mod logging;
mod output;
mod panic;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::Format;

/// The exit statuses, for `--help`.
const EXIT_STATUS: &str = "Exit status: 0 success, 1 error, 2 usage error, 3 import held by a safeguard, \
                           4 no new file by schedule.expect_file_by (sync).";

/// Keeps a company's people in Learn Amp in step with its daily HR export.
#[derive(Debug, Parser)]
#[command(name = "ampsync", version, about, after_help = EXIT_STATUS)]
struct Cli {
    /// The config file.
    #[arg(long, global = true, default_value = "ampsync.toml")]
    config: PathBuf,
    /// Output: a human table, JSON, or CSV (for lists).
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented ampsync.toml and create the store (`--from FILE`: the one that reads FILE).
    Init(commands::init::Args),
    /// Read and map FILE as `import` would, print its first records and problems; writes nothing.
    Preview(commands::preview::Args),
    /// Import a file: snapshot, diff, append events.
    Import(commands::import::Args),
    /// Read snapshot N's kept file again through the current config (after a mapping fix).
    Reimport(commands::reimport::Args),
    /// List imports: id, time, file hash, source, counts, status.
    Snapshots,
    /// The event log, filtered.
    Events(commands::events::Args),
    /// One person's events: who changed what, when, from which file.
    History(commands::history::Args),
    /// A person's record now, or at a point in time.
    Show(commands::show::Args),
    /// The undelivered events and what each will send (a dry run).
    Plan,
    /// Deliver undelivered events to Learn Amp.
    Push,
    /// Import from the configured source, then push: the scheduled job.
    Sync,
    /// Run `sync` on the configured cron schedule until stopped.
    Daemon(commands::daemon::Args),
    /// Serve the console (web pages and /api/) over the store.
    Serve(commands::serve::Args),
    /// Release an import held by a safeguard: its events are appended, then pushed.
    Approve(commands::decide::ApproveArgs),
    /// Discard an import held by a safeguard.
    Reject(commands::decide::Args),
    /// Append compensating events that restore the state after snapshot N, then push.
    Rollback(commands::rollback::Args),
    /// Erase a person's personal data from the store (the log still verifies).
    Forget(commands::forget::Args),
    /// Encrypt the store, or move it to a new key (one transaction).
    Rekey(commands::rekey::Args),
    /// Send failed events again (after the cause was fixed outside the file).
    Retry(commands::retry::Args),
    /// Compare the expected state with the users Learn Amp has; report drift.
    Reconcile(commands::reconcile::Args),
    /// Write the exact bytes of an import back out.
    ExportSnapshot(commands::export::Args),
    /// Check the hash chain and rebuild the state from the log to compare.
    Verify(commands::verify::Args),
    /// Write a consistent copy of the store to FILE, even while it is in use.
    Backup(commands::backup::Args),
    /// Write the keys to exchange: `keygen ssh` or `keygen pgp`.
    Keygen(commands::keygen::Args),
    /// Try the source and Learn Amp with the config, changing nothing.
    Check,
    /// Run the local Learn Amp sandbox.
    Sandbox(commands::sandbox::Args),
    /// A self-contained run on the bundled example files against the sandbox.
    Demo,
}

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Finished, but something needs attention (exit 1): events failed.
    Failed,
    /// An import held by a safeguard (exit 3).
    Held,
    /// No new file by `schedule.expect_file_by`: the export is late or lost
    /// (exit 4).
    MissingFile,
}

fn main() -> ExitCode {
    panic::install_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    logging::init();
    let format = cli.format;
    let result = panic::catch(|| run(cli));
    match result {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Failed) => ExitCode::from(1),
        Ok(Exit::Held) => ExitCode::from(3),
        Ok(Exit::MissingFile) => ExitCode::from(4),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e, format);
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Init(args) => commands::init::run(&cli.config, cli.format, args),
        Command::Import(args) => commands::import::run(&cli.config, cli.format, args),
        Command::Reimport(args) => commands::reimport::run(&cli.config, cli.format, args),
        Command::Preview(args) => commands::preview::run(&cli.config, cli.format, args),
        Command::Snapshots => commands::snapshots::run(&cli.config, cli.format),
        Command::Events(args) => commands::events::run(&cli.config, cli.format, args),
        Command::History(args) => commands::history::run(&cli.config, cli.format, args),
        Command::Show(args) => commands::show::run(&cli.config, cli.format, args),
        Command::Plan => commands::plan::run(&cli.config, cli.format),
        Command::Push => commands::push::run(&cli.config, cli.format),
        Command::Sync => commands::sync::run(&cli.config, cli.format),
        Command::Daemon(args) => commands::daemon::run(&cli.config, cli.format, args),
        Command::Serve(args) => commands::serve::run(&cli.config, cli.format, args),
        Command::Approve(args) => commands::decide::approve(&cli.config, cli.format, args),
        Command::Reject(args) => commands::decide::reject(&cli.config, cli.format, args),
        Command::Rollback(args) => commands::rollback::run(&cli.config, cli.format, args),
        Command::Forget(args) => commands::forget::run(&cli.config, cli.format, args),
        Command::Rekey(args) => commands::rekey::run(&cli.config, cli.format, args),
        Command::Retry(args) => commands::retry::run(&cli.config, cli.format, args),
        Command::Reconcile(args) => commands::reconcile::run(&cli.config, cli.format, args),
        Command::ExportSnapshot(args) => commands::export::run(&cli.config, cli.format, args),
        Command::Verify(args) => commands::verify::run(&cli.config, cli.format, args),
        Command::Backup(args) => commands::backup::run(&cli.config, cli.format, args),
        Command::Keygen(args) => commands::keygen::run(&cli.config, cli.format, args),
        Command::Check => commands::check::run(&cli.config, cli.format),
        Command::Sandbox(args) => commands::sandbox::run(&cli.config, cli.format, args),
        Command::Demo => commands::demo::run(&cli.config, cli.format),
    }
}

/// Prints an error and its causes, and the row errors of a rejected file,
/// control characters escaped (file names and server texts are in them);
/// with `--format json`, as one JSON object.
fn report(e: &anyhow::Error, format: Format) {
    let mut err = std::io::stderr().lock();
    if format == Format::Json {
        let _ = serde_json::to_writer(&mut err, &output::error_json(e));
        let _ = writeln!(err);
        return;
    }
    let _ = writeln!(err, "error: {}", output::clean(&e.to_string()));
    for cause in e.chain().skip(1) {
        let _ = writeln!(err, "  caused by: {}", output::clean(&cause.to_string()));
    }
    if let Some(ampsync_engine::ImportError::InvalidRows { errors, count, .. }) = e.downcast_ref() {
        for row in errors.iter().take(output::MAX_LISTED_ERRORS) {
            let _ = writeln!(err, "  {}", output::clean(&row.to_string()));
        }
        if errors.len() > output::MAX_LISTED_ERRORS {
            let more = errors.len() - output::MAX_LISTED_ERRORS;
            let _ = writeln!(err, "  … and {more} more ({count} invalid row(s) in all)");
        }
    }
}

/// A usage error (exit 2), or `--help`/`--version` (exit 0), as clap
/// prints it; with `--format json` on the command line, a usage error is
/// one JSON object on stderr like any other error's.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if informational || !json_asked(std::env::args_os().skip(1)) {
        e.exit();
    }
    let text = e.render().to_string();
    let message = text.trim_end().strip_prefix("error: ").unwrap_or(text.trim_end());
    let value = serde_json::json!({"error": message, "causes": []});
    let _ = writeln!(std::io::stderr().lock(), "{value}");
    ExitCode::from(2)
}

/// Whether the arguments ask for `--format json` (read without clap, which
/// has just refused them).
fn json_asked(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut previous_was_format = false;
    for arg in args {
        let arg = arg.to_string_lossy();
        if arg == "--format=json" || (previous_was_format && arg == "json") {
            return true;
        }
        previous_was_format = arg == "--format";
    }
    false
}

/// Output to a closed pipe (`ampsync events | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
