//! Safeguards: whether an import looks like a bad file (truncated, wrong
//! export, lost column) and must wait for a person. Pure.

use ampsync_store::Counts;

use crate::config::PolicyConfig;

/// What the safeguards know about an import about to be appended.
#[derive(Debug, Clone)]
pub struct Proposed<'a> {
    /// Data rows in the file.
    pub rows: u64,
    pub counts: Counts,
    /// Active people before this import.
    pub active: u64,
    /// A snapshot already waiting for a person, if any.
    pub held: Option<u64>,
    /// Mapped columns the last applied import had and this file lacks.
    pub lost_columns: &'a [String],
}

/// Why the import must be held, or `None` to let it through.
pub fn hold_reason(policy: &PolicyConfig, p: &Proposed<'_>) -> Option<String> {
    if let Some(id) = p.held {
        return Some(format!(
            "snapshot {id} is held: later imports wait until it is approved or rejected"
        ));
    }
    if p.rows < policy.min_rows {
        return Some(format!(
            "the file has {} row(s), fewer than policy.min_rows = {}",
            p.rows, policy.min_rows
        ));
    }
    if !p.lost_columns.is_empty() {
        let columns: Vec<String> = p.lost_columns.iter().map(|c| format!("{c:?}")).collect();
        return Some(format!(
            "the header lost column(s) {} since the last applied import",
            columns.join(", ")
        ));
    }
    if p.active == 0 {
        return None; // the first import: nothing to compare with
    }
    let share = |n: u64| n as f64 * 100.0 / p.active as f64;
    let deactivating = share(p.counts.deactivated);
    if deactivating > policy.max_deactivate_percent {
        return Some(format!(
            "it would deactivate {} of {} active people ({deactivating:.1}%), above policy.max_deactivate_percent = {}",
            p.counts.deactivated, p.active, policy.max_deactivate_percent
        ));
    }
    let changed = p.counts.updated + p.counts.deactivated + p.counts.reactivated;
    let changing = share(changed);
    if changing > policy.max_change_percent {
        return Some(format!(
            "it would change {changed} of {} active people ({changing:.1}%), above policy.max_change_percent = {}",
            p.active, policy.max_change_percent
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposed(counts: Counts, active: u64) -> Proposed<'static> {
        Proposed {
            rows: 10,
            counts,
            active,
            held: None,
            lost_columns: &[],
        }
    }

    #[test]
    fn each_safeguard_names_what_tripped() {
        let policy = PolicyConfig::default();
        let deactivations = Counts {
            deactivated: 11,
            ..Counts::default()
        };
        assert_eq!(
            hold_reason(&policy, &proposed(deactivations, 100)).as_deref(),
            Some("it would deactivate 11 of 100 active people (11.0%), above policy.max_deactivate_percent = 10")
        );
        assert_eq!(
            hold_reason(
                &policy,
                &proposed(
                    Counts {
                        deactivated: 10,
                        ..Counts::default()
                    },
                    100
                )
            ),
            None
        );
        let updates = Counts {
            updated: 51,
            ..Counts::default()
        };
        assert!(hold_reason(&policy, &proposed(updates, 100)).is_some_and(|r| r.contains("max_change_percent = 50")));
        assert_eq!(
            hold_reason(
                &policy,
                &proposed(
                    Counts {
                        created: 1000,
                        ..Counts::default()
                    },
                    0
                )
            ),
            None,
            "first import"
        );
        let lost = ["Job title".to_owned()];
        let p = Proposed {
            lost_columns: &lost,
            ..proposed(Counts::default(), 100)
        };
        assert_eq!(
            hold_reason(&policy, &p).as_deref(),
            Some("the header lost column(s) \"Job title\" since the last applied import")
        );
        let p = Proposed {
            held: Some(4),
            ..proposed(Counts::default(), 100)
        };
        assert!(hold_reason(&policy, &p).is_some_and(|r| r.starts_with("snapshot 4 is held")));
        let p = Proposed {
            rows: 0,
            ..proposed(Counts::default(), 100)
        };
        assert!(
            hold_reason(&PolicyConfig { min_rows: 1, ..policy }, &p).is_some_and(|r| r.contains("policy.min_rows = 1"))
        );
    }
}
