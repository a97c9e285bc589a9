//! Logs on stderr, filtered by `AMPSYNC_LOG`.
//!
//! A level alone (`AMPSYNC_LOG=debug`) applies to ampsync's own crates; other
//! crates stay at `warn` unless named (`AMPSYNC_LOG=russh=debug`), since
//! their debug lines are written for their own developers and may carry
//! what they were handed. Nothing of the `pgp` crate is ever logged,
//! whatever is asked: its parser's debug lines print secret-key packets.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The variable that sets the filter.
pub const LOG_ENV: &str = "AMPSYNC_LOG";

/// The targets of ampsync's own crates all start with this.
const OURS: &str = "ampsync";

/// Installs the stderr logger.
pub fn init() {
    let spec = std::env::var(LOG_ENV).unwrap_or_default();
    let filter = EnvFilter::try_new(directives(&spec)).unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(FilterFn::new(|meta| !never_logged(meta.target())))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false),
        )
        .try_init();
}

/// True for the targets nothing is logged from.
fn never_logged(target: &str) -> bool {
    target == "pgp" || target.starts_with("pgp::")
}

/// `AMPSYNC_LOG` rewritten: a bare level becomes that level for ampsync's
/// crates and at most `warn` for the rest; directives naming a target (or a
/// span within one) stay; span directives for every target are dropped, as
/// they would reach other crates' lines.
fn directives(spec: &str) -> String {
    let mut default = LevelFilter::WARN;
    let mut out = Vec::new();
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if let Ok(level) = directive.parse::<LevelFilter>() {
            default = level.min(LevelFilter::WARN);
            out.push(format!("{OURS}={level}"));
        } else if directive.starts_with('[') {
            continue;
        } else {
            let target = directive.split(['=', '[']).next().unwrap_or_default();
            if !never_logged(target) {
                out.push(directive.to_owned());
            }
        }
    }
    out.insert(0, default.to_string());
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn a_bare_level_is_for_ampsync_and_named_crates_keep_theirs() {
        for (spec, want) in [
            ("", "warn"),
            ("debug", "warn,ampsync=debug"),
            ("trace", "warn,ampsync=trace"),
            ("error", "error,ampsync=error"),
            ("info,russh=debug", "warn,ampsync=info,russh=debug"),
            ("pgp=trace,debug", "warn,ampsync=debug"),
            ("pgp::packet=trace", "warn"),
            (
                "[sync]=trace,ampsync_engine[sync]=debug",
                "warn,ampsync_engine[sync]=debug",
            ),
        ] {
            assert_eq!(directives(spec), want, "{spec:?}");
        }
    }
}
