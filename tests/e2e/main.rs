//! The end-to-end tests: one test binary, one module per area (as ripgrep
//! and jj do), so the engine is linked once. Each module drives the real
//! `ampsync` binary; `common` holds the harness (sshd, gpg, the sandbox).

mod common;

mod api_today;
mod backup;
mod bad_input;
mod console;
mod crash;
mod daemon;
mod encryption;
mod file_shape;
mod forget;
mod hardening;
mod hostile_servers;
mod import_story;
mod ingest_formats;
mod init_from;
mod json_output;
mod mapping_story;
mod pgp_sync;
mod push_story;
mod reimport;
mod retention;
mod setup_helpers;
mod sftp_source;
mod sftp_sync;
mod unchanged_rows;
mod upgrade;
mod whole_output;
