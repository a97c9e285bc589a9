//! The overview's chart: events per day by kind, as an SVG drawn on the
//! server (no script, no external library), stacked bars, one per day.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{Duration, NaiveDate};

/// The kinds in stacking order, with their colours (the CSS's).
pub const KINDS: [(&str, &str); 4] = [
    ("created", "#2e9d5b"),
    ("updated", "#2b5cd6"),
    ("deactivated", "#c2453d"),
    ("reactivated", "#c08a1e"),
];

const WIDTH: u32 = 900;
const HEIGHT: u32 = 160;
const LEFT: u32 = 36;
const BOTTOM: u32 = 18;

/// The chart of the `days` days ending with `end`; `counts` holds each
/// day's events by kind, in [`KINDS`] order (days without any may be
/// missing).
pub fn events_per_day(counts: &BTreeMap<NaiveDate, [u64; 4]>, end: NaiveDate, days: u32) -> String {
    let first = end - Duration::days(i64::from(days) - 1);
    let max = counts
        .range(first..=end)
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - BOTTOM;
    let bar_w = f64::from(plot_w) / f64::from(days);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="Events per day by kind, last {days} days">"#
    );
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{plot_h}" x2="{WIDTH}" y2="{plot_h}" stroke="#c8ced8"/><text x="{}" y="10" text-anchor="end">{max}</text><text x="{}" y="{plot_h}" text-anchor="end">0</text>"##,
        LEFT - 4,
        LEFT - 4
    );
    for i in 0..days {
        let day = first + Duration::days(i64::from(i));
        let x = f64::from(LEFT) + f64::from(i) * bar_w;
        if let Some(c) = counts.get(&day) {
            let mut y = f64::from(plot_h);
            for (n, (kind, colour)) in c.iter().zip(KINDS) {
                if *n == 0 {
                    continue;
                }
                let h = *n as f64 / max as f64 * f64::from(plot_h - 12);
                y -= h;
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{colour}"><title>{day}: {n} {kind}</title></rect>"#,
                    (bar_w - 1.0).max(1.0)
                );
            }
        }
        if i % 15 == 0 || i == days - 1 {
            // The last label ends at the right edge instead of running off it.
            let (x, anchor) = if i == days - 1 {
                (f64::from(WIDTH), "end")
            } else {
                (x, "start")
            };
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
                HEIGHT - 4,
                day.format("%d %b")
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_by_kind_and_days_outside_the_window_are_left_out() {
        let end = NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
        let mut counts = BTreeMap::new();
        counts.insert(end, [2, 1, 0, 0]);
        counts.insert(end - Duration::days(200), [9, 9, 9, 9]);
        let svg = events_per_day(&counts, end, 90);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("<title>2026-11-26: 2 created</title>"), "{svg}");
        assert!(svg.contains("<title>2026-11-26: 1 updated</title>"), "{svg}");
        // The scale is the busiest day in the window, not the one outside.
        assert!(svg.contains(r#"text-anchor="end">3</text>"#), "{svg}");
    }
}
