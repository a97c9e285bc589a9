//! `ampsync sync`: import from the configured source, then push. The
//! scheduled job.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ampsync_engine::learnamp::Credentials;
use ampsync_engine::source::{DirSource, Pick};
use ampsync_engine::{ImportOutcome, Input, SourceKind, import};

use crate::Exit;
use crate::output::Format;

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let Some(source) = &config.source else {
        anyhow::bail!(
            "no [source] in {}: sync takes the daily file from there (or use `ampsync import FILE`)",
            config_path.display()
        );
    };
    // Check the credentials first: a run that cannot push should not import.
    let credentials = Credentials::from_env(&config.learnamp)?;
    match source.kind {
        SourceKind::Dir => {
            let dir = DirSource {
                dir: config.resolve(&source.remote_dir),
                pattern: source.pattern.clone(),
                settle: Duration::from_secs(source.settle_seconds),
            };
            let now = ampsync_engine::clock::now_micros()
                .map(|us| SystemTime::UNIX_EPOCH + Duration::from_micros(us.max(0) as u64))?;
            match dir
                .pick(now)
                .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.dir.display()))?
            {
                Pick::Nothing => println!("no file matching {:?} in {}", dir.pattern, dir.dir.display()),
                Pick::Unsettled(path) => {
                    println!(
                        "{} changed less than {} s ago: still being written, not taken",
                        path.display(),
                        source.settle_seconds
                    )
                }
                Pick::File(path) => match import(&store, &config, &Input::File(path.clone()), None)? {
                    ImportOutcome::AlreadyImported(meta) => {
                        println!("{} was already imported as snapshot {}", path.display(), meta.id)
                    }
                    ImportOutcome::Imported(report) => {
                        let c = report.snapshot.counts;
                        println!(
                            "imported {} as snapshot {}: {} created, {} updated, {} deactivated, {} reactivated, {} skipped",
                            path.display(),
                            report.snapshot.id,
                            c.created,
                            c.updated,
                            c.deactivated,
                            c.reactivated,
                            c.skipped
                        );
                    }
                },
            }
        }
        SourceKind::Sftp => anyhow::bail!("source.kind = \"sftp\" is not supported by this build yet; use \"dir\""),
    }
    let report = super::push::deliver(&config, Arc::new(store), credentials)?;
    super::push::print_report(&report, format)?;
    Ok(super::push::exit_for(&report))
}
