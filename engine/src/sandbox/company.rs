//! The one company a sandbox holds: its users and teams, with the indices
//! the API looks them up by (email ignoring case, integration external id,
//! team name ignoring case) and each team's count of active members.
//!
//! Validation is not done here: `user_write` checks a change against these
//! indices first, then stores the new user with [`Company::put_user`], the
//! only way a user changes, which keeps every index in step.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

/// A user's invitation and activation state. "Confirmed" (the person has
/// signed in) is never reached: no one accepts a sandbox invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    /// Created with `skipInvitation=true`.
    NotInvited,
    /// Invited, not yet signed in.
    InvitePending,
    /// Deactivated: cannot sign in, data kept.
    Deactivated,
}

impl Status {
    /// The label in the user JSON's `status.status`.
    pub(super) fn label(self) -> &'static str {
        match self {
            Status::NotInvited => "Not invited",
            Status::InvitePending => "Invite pending",
            Status::Deactivated => "Deactivated",
        }
    }

    /// The value `filters[status][]` names it by.
    pub(super) fn filter_name(self) -> &'static str {
        match self {
            Status::NotInvited => "not_invited",
            Status::InvitePending => "invite_pending",
            Status::Deactivated => "deactivated",
        }
    }
}

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct User {
    pub(super) id: u64,
    /// Stored lower-cased and trimmed, as Devise stores emails.
    pub(super) email: String,
    pub(super) first_name: String,
    pub(super) last_name: String,
    pub(super) job_title: Option<String>,
    pub(super) time_zone: String,
    pub(super) language: String,
    pub(super) role: String,
    pub(super) integration_external_id: Option<String>,
    pub(super) hire_date: Option<NaiveDate>,
    pub(super) location: Option<String>,
    pub(super) department: Option<String>,
    pub(super) status: Status,
    /// The day `status` was set (shown as `status.time`).
    pub(super) status_date: NaiveDate,
    /// The status to return to when reactivated.
    pub(super) status_before_deactivation: Status,
    pub(super) manager: Option<u64>,
    pub(super) primary_team: Option<u64>,
    pub(super) secondary_teams: Vec<u64>,
    pub(super) custom_fields: BTreeMap<String, String>,
}

impl User {
    /// Whether the user can sign in (is not deactivated).
    pub(super) fn is_active(&self) -> bool {
        self.status != Status::Deactivated
    }

    /// The teams the user is a member of, primary first, each once.
    pub(super) fn teams(&self) -> Vec<u64> {
        let mut teams: Vec<u64> = self.primary_team.into_iter().collect();
        for team in &self.secondary_teams {
            if !teams.contains(team) {
                teams.push(*team);
            }
        }
        teams
    }

    /// Deactivates, remembering the status to return to.
    pub(super) fn deactivate(&mut self, today: NaiveDate) {
        if self.is_active() {
            self.status_before_deactivation = self.status;
            self.status = Status::Deactivated;
            self.status_date = today;
        }
    }

    /// Reactivates to the status held before deactivation.
    pub(super) fn reactivate(&mut self, today: NaiveDate) {
        if !self.is_active() {
            self.status = self.status_before_deactivation;
            self.status_date = today;
        }
    }
}

/// A team as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Team {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) integration_external_id: Option<String>,
}

/// The users and teams of the company, and their indices.
#[derive(Debug, Default)]
pub(super) struct Company {
    users: BTreeMap<u64, User>,
    user_by_email: HashMap<String, u64>,
    user_by_external_id: HashMap<String, u64>,
    teams: BTreeMap<u64, Team>,
    team_by_name: HashMap<String, u64>,
    team_by_external_id: HashMap<String, u64>,
    /// Team id → number of active users in it (primary or secondary).
    active_members: HashMap<u64, u64>,
    last_user_id: u64,
    last_team_id: u64,
}

impl Company {
    /// A company with the named teams (ids 1, 2, …; a repeated name, ignoring
    /// case, is skipped).
    pub(super) fn with_teams(names: &[String]) -> Self {
        let mut company = Company::default();
        for name in names {
            if company.team_by_name(name).is_none() {
                company.add_team(name.clone(), None);
            }
        }
        company
    }

    /// The user with this id.
    pub(super) fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    /// The user with this email, ignoring case and surrounding spaces.
    pub(super) fn user_by_email(&self, email: &str) -> Option<&User> {
        self.user_by_email
            .get(&email.trim().to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The user with this integration external id (exact).
    pub(super) fn user_by_external_id(&self, external_id: &str) -> Option<&User> {
        self.user_by_external_id
            .get(external_id)
            .and_then(|id| self.users.get(id))
    }

    /// Every user, by id.
    pub(super) fn users(&self) -> impl ExactSizeIterator<Item = &User> {
        self.users.values()
    }

    /// The id the next created user gets (reserved by [`Company::put_user`]).
    pub(super) fn next_user_id(&self) -> u64 {
        self.last_user_id + 1
    }

    /// Stores a new or changed user, updating every index.
    pub(super) fn put_user(&mut self, user: User) {
        if let Some(old) = self.users.remove(&user.id) {
            self.unindex(&old);
        }
        self.index(&user);
        self.last_user_id = self.last_user_id.max(user.id);
        self.users.insert(user.id, user);
    }

    fn index(&mut self, user: &User) {
        self.user_by_email.insert(user.email.clone(), user.id);
        if let Some(external_id) = &user.integration_external_id {
            self.user_by_external_id.insert(external_id.clone(), user.id);
        }
        if user.is_active() {
            for team in user.teams() {
                *self.active_members.entry(team).or_default() += 1;
            }
        }
    }

    fn unindex(&mut self, user: &User) {
        self.user_by_email.remove(&user.email);
        if let Some(external_id) = &user.integration_external_id {
            self.user_by_external_id.remove(external_id);
        }
        if user.is_active() {
            for team in user.teams() {
                if let Some(count) = self.active_members.get_mut(&team) {
                    *count = count.saturating_sub(1);
                }
            }
        }
    }

    /// The team with this id.
    pub(super) fn team(&self, id: u64) -> Option<&Team> {
        self.teams.get(&id)
    }

    /// The team with this name, ignoring case.
    pub(super) fn team_by_name(&self, name: &str) -> Option<&Team> {
        self.team_by_name
            .get(&name.to_lowercase())
            .and_then(|id| self.teams.get(id))
    }

    /// The team with this integration external id (exact).
    pub(super) fn team_by_external_id(&self, external_id: &str) -> Option<&Team> {
        self.team_by_external_id
            .get(external_id)
            .and_then(|id| self.teams.get(id))
    }

    /// Every team, by id.
    pub(super) fn teams(&self) -> impl ExactSizeIterator<Item = &Team> {
        self.teams.values()
    }

    /// Active users in the team.
    pub(super) fn active_members(&self, team: u64) -> u64 {
        self.active_members.get(&team).copied().unwrap_or(0)
    }

    /// Adds a team (the caller checked the name and external id are free)
    /// and returns its id.
    pub(super) fn add_team(&mut self, name: String, integration_external_id: Option<String>) -> u64 {
        self.last_team_id += 1;
        let id = self.last_team_id;
        self.team_by_name.insert(name.to_lowercase(), id);
        if let Some(external_id) = &integration_external_id {
            self.team_by_external_id.insert(external_id.clone(), id);
        }
        self.teams.insert(
            id,
            Team {
                id,
                name,
                integration_external_id,
            },
        );
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u64, email: &str, teams: (Option<u64>, Vec<u64>)) -> User {
        let day = NaiveDate::from_ymd_opt(2026, 1, 31).expect("valid date");
        User {
            id,
            email: email.to_owned(),
            first_name: "A".to_owned(),
            last_name: "B".to_owned(),
            job_title: None,
            time_zone: "London".to_owned(),
            language: "en".to_owned(),
            role: "viewer".to_owned(),
            integration_external_id: Some(format!("E{id}")),
            hire_date: None,
            location: None,
            department: None,
            status: Status::InvitePending,
            status_date: day,
            status_before_deactivation: Status::InvitePending,
            manager: None,
            primary_team: teams.0,
            secondary_teams: teams.1,
            custom_fields: BTreeMap::new(),
        }
    }

    #[test]
    fn indices_follow_every_change() {
        let mut company = Company::with_teams(&["Sales".to_owned(), "sales".to_owned(), "Ops".to_owned()]);
        assert_eq!(company.teams().len(), 2);
        company.put_user(user(1, "a@x.com", (Some(1), vec![1, 2])));
        assert_eq!(company.active_members(1), 1);
        assert_eq!(company.active_members(2), 1);

        let mut changed = user(1, "b@x.com", (Some(2), vec![]));
        changed.integration_external_id = None;
        company.put_user(changed.clone());
        assert!(company.user_by_email("A@X.com").is_none());
        assert_eq!(company.user_by_email(" B@x.COM ").map(|u| u.id), Some(1));
        assert!(company.user_by_external_id("E1").is_none());
        assert_eq!((company.active_members(1), company.active_members(2)), (0, 1));

        changed.deactivate(changed.status_date);
        company.put_user(changed);
        assert_eq!(company.active_members(2), 0);
        assert_eq!(company.next_user_id(), 2);
    }
}
