//! `ampsync preview FILE`: the file read and mapped as `import` would,
//! its first records printed as Learn Amp would get them, every problem
//! with its line, and the counts. Writes nothing, and needs no store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ampsync_engine::{Config, FieldValue, PreviewOutcome, preview};
use anyhow::Context;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to read.
    file: PathBuf,
    /// How many records to print.
    #[arg(long, default_value_t = 10)]
    rows: usize,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    // No config yet: Learn Amp's own formats, as `import` would read them.
    let config = if config_path.exists() {
        super::load_config(config_path)?
    } else {
        Config::parse("", config_path)?
    };
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let name = args
        .file
        .file_name()
        .map_or_else(|| args.file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let outcome = preview(std::io::BufReader::new(file), &name, &config, args.rows)?;
    match format {
        Format::Json => output::json(&outcome)?,
        Format::Table | Format::Csv => print(&outcome)?,
    }
    Ok(Exit::Success)
}

fn print(p: &PreviewOutcome) -> anyhow::Result<()> {
    let fields: BTreeSet<&str> = p
        .records
        .iter()
        .flat_map(|r| r.record.keys().map(String::as_str))
        .collect();
    let mut header = vec!["LINE", "KEY", "ACTIVE"];
    header.extend(fields.iter().copied());
    let rows = p.records.iter().map(|r| {
        let mut row = vec![
            r.line.to_string(),
            r.key.clone(),
            if r.active { "yes" } else { "no" }.to_owned(),
        ];
        row.extend(fields.iter().map(|f| match r.record.get(*f) {
            Some(FieldValue::Text(t)) => t.clone(),
            Some(FieldValue::List(items)) => items.join("; "),
            None => String::new(),
        }));
        row
    });
    output::table(&header, rows)?;
    say!();
    for e in p.problems.iter().take(output::MAX_LISTED_ERRORS) {
        say!("problem: {e}");
    }
    if p.problem_count > output::MAX_LISTED_ERRORS as u64 {
        say!(
            "… and {} more problems",
            p.problem_count - output::MAX_LISTED_ERRORS as u64
        );
    }
    for w in &p.warnings {
        say!("warning: {w}");
    }
    output::table(
        &[
            "rows",
            "people",
            "deactivated",
            "skipped",
            "invalid",
            "leavers by date",
            "future hires",
        ],
        [[
            p.rows,
            p.people,
            p.deactivated,
            p.skipped,
            p.invalid,
            p.leavers_by_date,
            p.future_hires,
        ]
        .map(|n| n.to_string())
        .to_vec()],
    )?;
    say!("nothing was written: `ampsync import {}` imports it", p.file);
    Ok(())
}
