//! Logs on stderr, filtered by `AMPSYNC_LOG`.
//!
//! A level alone (`AMPSYNC_LOG=debug`) applies to ampsync's own crates; other
//! crates stay at `warn` unless named (`AMPSYNC_LOG=russh=debug`), since
//! their debug lines are written for their own developers and may carry
//! what they were handed. Nothing of the `pgp` crate is ever logged,
//! whatever is asked: its parser's debug lines print secret-key packets.
//!
//! Log lines quote file names and server texts: their control characters
//! are escaped as on stdout (a name with a newline cannot forge a line), and
//! colours are used only on a terminal, and not when `NO_COLOR` is set.
//!
//! At the default level (`warn`) nothing is logged that a command also
//! prints on stdout: what it reports (an import's warnings, a hold) is
//! logged at `info` or `debug`.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The variable that sets the filter.
pub const LOG_ENV: &str = "AMPSYNC_LOG";

/// Set to anything but empty, no colours (<https://no-color.org>).
const NO_COLOR_ENV: &str = "NO_COLOR";

/// The targets of ampsync's own crates all start with this.
const OURS: &str = "ampsync";

/// Installs the stderr logger.
pub fn init() {
    let spec = std::env::var(LOG_ENV).unwrap_or_default();
    let filter = EnvFilter::try_new(directives(&spec)).unwrap_or_else(|_| EnvFilter::new("warn"));
    let ansi = colours(std::io::stderr().is_terminal(), std::env::var_os(NO_COLOR_ENV));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(FilterFn::new(|meta| !never_logged(meta.target())))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || Escaping {
                    inner: std::io::stderr(),
                    ansi,
                })
                .with_ansi(ansi)
                .with_target(false),
        )
        .try_init();
}

/// Writes one formatted log line with its control characters escaped,
/// keeping the newline that ends it (and the colour codes, on a terminal;
/// the formatter escapes those that come from values itself).
struct Escaping<W> {
    inner: W,
    ansi: bool,
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        let mut out = String::with_capacity(text.len());
        for c in body.chars() {
            if c.is_control() && c != '\t' && !(self.ansi && c == '\u{1b}') {
                out.extend(c.escape_unicode());
            } else {
                out.push(c);
            }
        }
        out.push_str(end);
        self.inner.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether log lines are coloured: on a terminal, unless `NO_COLOR` is set
/// to something.
fn colours(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
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
    use super::*;

    #[test]
    fn a_log_line_keeps_its_end_and_loses_forged_ones() {
        let mut out = Escaping {
            inner: Vec::new(),
            ansi: false,
        };
        out.write_all(b"WARN held a\nerror: forged\r\x1b[2J.csv\n")
            .expect("write");
        assert_eq!(
            String::from_utf8(out.inner).expect("utf-8"),
            "WARN held a\\u{a}error: forged\\u{d}\\u{1b}[2J.csv\n"
        );
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        for (terminal, no_color, want) in [
            (true, None, true),
            (true, Some(""), true),
            (true, Some("1"), false),
            (true, Some("0"), false),
            (false, None, false),
            (false, Some("1"), false),
        ] {
            assert_eq!(
                colours(terminal, no_color.map(Into::into)),
                want,
                "{terminal} {no_color:?}"
            );
        }
    }

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
