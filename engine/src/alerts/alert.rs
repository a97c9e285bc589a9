//! What an alert says: its kind and facts, as JSON or as a Slack message.

use serde::{Deserialize, Serialize};

use crate::runlog::{RunOutcome, RunRecord};

/// The kinds of alert (`alerts.on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An import was held by a safeguard and waits for a person.
    Held,
    /// No new file by `schedule.expect_file_by`.
    MissingFile,
    /// Learn Amp refused events (permanent failures).
    Failed,
    /// The run failed.
    RunError,
    /// `ampsync check`'s test alert.
    Test,
}

impl AlertKind {
    /// Every kind a run can send: `alerts.on`'s default.
    pub fn all() -> Vec<AlertKind> {
        vec![
            AlertKind::Held,
            AlertKind::MissingFile,
            AlertKind::Failed,
            AlertKind::RunError,
        ]
    }

    /// The kind's name as `alerts.on`, the JSON body and the log write it.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::Held => "held",
            AlertKind::MissingFile => "missing_file",
            AlertKind::Failed => "failed",
            AlertKind::RunError => "run_error",
            AlertKind::Test => "test",
        }
    }
}

/// The body sent (`alerts.format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertFormat {
    /// `{"text": …}`, which Slack's and Teams' incoming webhooks show.
    #[default]
    Slack,
    /// The [`Alert`] as a JSON object.
    Json,
}

/// One alert: facts, and a link to the console page that needs a person
/// when `console.public_url` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    /// The run's start (RFC 3339), or the time of a test alert.
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Why: the safeguard that held the import, or the run's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Events refused by Learn Amp in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Alert {
    fn new(kind: AlertKind, time: &str) -> Alert {
        Alert {
            kind,
            time: time.to_owned(),
            snapshot: None,
            file: None,
            reason: None,
            failed: None,
            link: None,
        }
    }

    /// `ampsync check`'s test alert.
    pub fn test(time: &str) -> Alert {
        Alert::new(AlertKind::Test, time)
    }

    /// The body to post in `format`.
    pub fn body(&self, format: AlertFormat) -> serde_json::Value {
        match format {
            AlertFormat::Json => serde_json::to_value(self).unwrap_or_default(),
            AlertFormat::Slack => serde_json::json!({"text": self.text()}),
        }
    }

    /// One line for a chat channel.
    pub fn text(&self) -> String {
        let mut text = match self.kind {
            AlertKind::Held => format!(
                "ampsync: import {} held for a decision: {}",
                self.snapshot.map(|n| format!("#{n}")).unwrap_or_default(),
                self.reason.as_deref().unwrap_or("a safeguard tripped")
            ),
            AlertKind::MissingFile => format!("ampsync: no new HR file by the expected time (run at {})", self.time),
            AlertKind::Failed => format!(
                "ampsync: Learn Amp refused {} event(s); they need a person",
                self.failed.unwrap_or_default()
            ),
            AlertKind::RunError => format!(
                "ampsync: the run at {} failed: {}",
                self.time,
                self.reason.as_deref().unwrap_or("see the run log")
            ),
            AlertKind::Test => "ampsync: a test alert from `ampsync check`".to_owned(),
        };
        if let Some(link) = &self.link {
            text.push_str(" — ");
            text.push_str(link);
        }
        text
    }
}

/// The alerts a finished run calls for, among `on`; links point into the
/// console at `public_url`.
pub fn for_run(run: &RunRecord, on: &[AlertKind], public_url: Option<&str>) -> Vec<Alert> {
    let base = public_url.map(|u| u.trim_end_matches('/').to_owned());
    let mut alerts = Vec::new();
    let mut add = |mut alert: Alert, page: Option<String>| {
        if on.contains(&alert.kind) {
            alert.link = base.as_ref().zip(page).map(|(b, p)| format!("{b}{p}"));
            alerts.push(alert);
        }
    };
    match run.outcome {
        RunOutcome::Held => {
            let mut alert = Alert::new(AlertKind::Held, &run.start);
            alert.snapshot = run.snapshot;
            alert.file.clone_from(&run.file);
            alert.reason.clone_from(&run.error);
            add(alert, run.snapshot.map(|n| format!("/held/{n}")));
        }
        RunOutcome::MissingFile => add(Alert::new(AlertKind::MissingFile, &run.start), Some("/".to_owned())),
        RunOutcome::Failed => {
            let mut alert = Alert::new(AlertKind::RunError, &run.start);
            alert.reason.clone_from(&run.error);
            add(alert, Some("/runs".to_owned()));
        }
        _ => {}
    }
    if let Some(push) = &run.push
        && push.failed > 0
    {
        let mut alert = Alert::new(AlertKind::Failed, &run.start);
        alert.failed = Some(push.failed);
        add(alert, Some("/".to_owned()));
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::RunPush;

    #[test]
    fn a_kind_is_named_as_serde_writes_it() {
        for kind in AlertKind::all().into_iter().chain([AlertKind::Test]) {
            assert_eq!(serde_json::to_value(kind).ok(), Some(serde_json::json!(kind.name())));
        }
    }

    fn run(outcome: RunOutcome) -> RunRecord {
        RunRecord {
            start: "2026-11-25T06:30:00Z".into(),
            end: "2026-11-25T06:30:02Z".into(),
            file: Some("users_3.csv".into()),
            hash: None,
            snapshot: Some(3),
            counts: None,
            push: None,
            outcome,
            error: Some("42% of people would be deactivated (limit 10%)".into()),
            row_errors: Vec::new(),
            alert_errors: Vec::new(),
        }
    }

    #[test]
    fn a_held_run_alerts_with_its_reason_and_the_page_that_needs_a_person() {
        let alerts = for_run(&run(RunOutcome::Held), &AlertKind::all(), Some("https://a.example/"));
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            alerts[0].body(AlertFormat::Json),
            serde_json::json!({
                "kind": "held", "time": "2026-11-25T06:30:00Z", "snapshot": 3, "file": "users_3.csv",
                "reason": "42% of people would be deactivated (limit 10%)",
                "link": "https://a.example/held/3",
            })
        );
        assert_eq!(
            alerts[0].body(AlertFormat::Slack)["text"],
            "ampsync: import #3 held for a decision: 42% of people would be deactivated (limit 10%) — \
             https://a.example/held/3"
        );
        assert!(for_run(&run(RunOutcome::Held), &[AlertKind::Failed], None).is_empty());
    }

    #[test]
    fn refused_events_alert_with_their_count_and_an_imported_run_is_quiet() {
        let mut r = run(RunOutcome::Imported);
        assert!(for_run(&r, &AlertKind::all(), None).is_empty());
        r.push = Some(RunPush {
            failed: 2,
            ..RunPush::default()
        });
        let alerts = for_run(&r, &AlertKind::all(), None);
        assert_eq!(
            (alerts.len(), alerts[0].kind, alerts[0].failed, &alerts[0].link),
            (1, AlertKind::Failed, Some(2), &None)
        );
    }
}
