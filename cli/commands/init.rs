//! `ampsync init`: write a commented config and create the store; with
//! `--from FILE`, the config is the one proposed for that sample export.

use std::path::{Path, PathBuf};

use ampsync_engine::init_from::{self, Proposal, Source};
use ampsync_engine::{CONFIG_TEMPLATE, Config, clock};
use anyhow::Context;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing config file.
    #[arg(long)]
    force: bool,
    /// A sample export: the config written is the one that reads it
    /// (delimiter, encoding, lines to skip, dates, the mapping of its
    /// columns), each choice commented.
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    if config_path.exists() && !args.force {
        anyhow::bail!("{} already exists; pass --force to overwrite it", config_path.display());
    }
    let proposal = match &args.from {
        Some(sample) => {
            let bytes = std::fs::read(sample).with_context(|| format!("reading {}", sample.display()))?;
            let today = chrono::DateTime::from_timestamp_micros(clock::now_micros()?)
                .context("the clock is out of range")?
                .date_naive();
            Some(init_from::propose(&bytes, today).with_context(|| format!("reading {}", sample.display()))?)
        }
        None => None,
    };
    if let Some(dir) = config_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = proposal
        .as_ref()
        .map_or_else(|| CONFIG_TEMPLATE.to_owned(), Proposal::to_toml);
    std::fs::write(config_path, text).with_context(|| format!("writing {}", config_path.display()))?;
    let store = match Config::load(config_path) {
        Ok(config) => super::open_or_create_store(&config)?,
        // A proposal uses every key of the config contract; should this
        // build not read one yet, the file is still the right one to edit.
        Err(e) if proposal.is_some() => {
            eprintln!("warning: {}", output::clean(&format!("{e}")));
            let dir = config_path.parent().unwrap_or(Path::new(""));
            let path = dir.join("ampsync.redb");
            ampsync_engine::store::Store::open(&path)
                .with_context(|| format!("opening the store {}", path.display()))?
        }
        Err(e) => return Err(e.into()),
    };
    if format == Format::Json {
        let mut value = serde_json::json!({
            "config": config_path.display().to_string(),
            "store": store.path().display().to_string(),
        });
        if let Some(p) = &proposal {
            value["proposal"] = serde_json::to_value(p)?;
        }
        output::json(&value)?;
        return Ok(Exit::Success);
    }
    if let Some(p) = &proposal {
        print_proposal(p)?;
    }
    say!("wrote {}", config_path.display());
    say!("created the store {}", store.path().display());
    if let (Some(sample), Some(p)) = (&args.from, &proposal) {
        if !p.questions.is_empty() {
            say!(
                "answer the {} question(s) in {} (marked QUESTION), then",
                p.questions.len(),
                config_path.display()
            );
        }
        say!("check the records with `ampsync preview {}`", sample.display());
    }
    Ok(Exit::Success)
}

/// The proposal as people read it: the system, the file's shape, the
/// mapping, and the questions with their candidates.
fn print_proposal(p: &Proposal) -> anyhow::Result<()> {
    match &p.system {
        Some(system) => say!("recognised {system}'s export ({} rows)", p.rows),
        None => say!(
            "not a header set ampsync knows ({} rows): the mapping is by column names",
            p.rows
        ),
    }
    let delimiter = if p.delimiter == "\\t" {
        "tab"
    } else {
        p.delimiter.as_str()
    };
    let dates = if p.date_formats.is_empty() {
        "YYYY-MM-DD".to_owned()
    } else {
        p.date_formats.join(", ")
    };
    say!(
        "delimiter {delimiter:?}, encoding {}, {} line(s) before the header, dates {dates}, key {}",
        p.encoding,
        p.skip_lines,
        p.key.as_deref().map_or_else(|| "none".to_owned(), |k| format!("{k:?}"))
    );
    let rows = p.mapping.iter().map(|m| {
        let source = match &m.source {
            Source::Columns(columns) => columns
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", then "),
            Source::Off(_) => "(never read)".to_owned(),
        };
        vec![m.field.clone(), source]
    });
    output::table(&["FIELD", "COLUMN"], rows)?;
    for (field, table) in &p.values {
        let pairs: Vec<String> = table.iter().map(|(from, to)| format!("{from:?} -> {to:?}")).collect();
        say!("values of {field}: {}", pairs.join(", "));
    }
    for (field, r) in &p.replace {
        say!("replace in {field}: {:?} -> {:?}", r.pattern, r.with);
    }
    for skip in &p.skip {
        let rule = match (&skip.equals, &skip.matches) {
            (Some(values), _) => format!("is {}", values.join(" or ")),
            (None, Some(regex)) => format!("matches {regex:?}"),
            (None, None) => String::new(),
        };
        say!("skip rows whose {:?} {rule} ({} in the sample)", skip.column, skip.rows);
    }
    for q in &p.questions {
        say!("question ({}): {}", q.setting, q.question);
        if !q.candidates.is_empty() {
            let list: Vec<String> = q.candidates.iter().map(|c| format!("{c:?}")).collect();
            say!("  candidates: {}", list.join(", "));
        }
    }
    Ok(())
}
