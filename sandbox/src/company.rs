//! The one company a sandbox holds: its settings, users and teams, with the
//! indices the API looks them up by (email ignoring case, integration
//! external ids of users and of teams) and each team's count of active
//! members. Team names are not unique.
//!
//! Validation is not done here: `user_write` and `teams` check a change
//! against these indices first, then store it with [`Company::put_user`] or
//! [`Company::put_team`], the only ways a user or team changes, which keep
//! every index in step.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::{TeamSeed, settings::Settings};

/// A user's invitation and activation state. "Confirmed" (the person has
/// signed in) is never reached: no one accepts a sandbox invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Created with `skipInvitation=true`.
    NotInvited,
    /// Invited, not yet signed in.
    InvitePending,
    /// Deactivated: cannot sign in, data kept.
    Deactivated,
}

impl Status {
    /// The label in the user JSON's `status.status`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Status::NotInvited => "Not invited",
            Status::InvitePending => "Invite pending",
            Status::Deactivated => "Deactivated",
        }
    }

    /// The value `filters[status][]` names it by.
    pub(crate) fn filter_name(self) -> &'static str {
        match self {
            Status::NotInvited => "not_invited",
            Status::InvitePending => "invite_pending",
            Status::Deactivated => "deactivated",
        }
    }
}

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) id: u64,
    /// Stored lower-cased and trimmed, as Devise stores emails.
    pub(crate) email: String,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) job_title: Option<String>,
    pub(crate) language: String,
    pub(crate) role: String,
    pub(crate) integration_external_id: Option<String>,
    /// The skills-matrix role (`occupationRole`).
    pub(crate) occupation_role: Option<String>,
    pub(crate) hire_date: Option<NaiveDate>,
    pub(crate) location: Option<String>,
    pub(crate) department: Option<String>,
    pub(crate) status: Status,
    /// The day `status` was set (shown as `status.time`).
    pub(crate) status_date: NaiveDate,
    /// The status to return to when reactivated.
    pub(crate) status_before_deactivation: Status,
    pub(crate) manager: Option<u64>,
    pub(crate) primary_team: Option<u64>,
    pub(crate) secondary_teams: Vec<u64>,
    pub(crate) custom_fields: BTreeMap<String, String>,
}

impl User {
    /// Whether the user can sign in (is not deactivated).
    pub(crate) fn is_active(&self) -> bool {
        self.status != Status::Deactivated
    }

    /// The teams the user is a member of, primary first, each once.
    pub(crate) fn teams(&self) -> Vec<u64> {
        let mut teams: Vec<u64> = self.primary_team.into_iter().collect();
        for team in &self.secondary_teams {
            if !teams.contains(team) {
                teams.push(*team);
            }
        }
        teams
    }

    /// Deactivates, remembering the status to return to.
    pub(crate) fn deactivate(&mut self, today: NaiveDate) {
        if self.is_active() {
            self.status_before_deactivation = self.status;
            self.status = Status::Deactivated;
            self.status_date = today;
        }
    }

    /// Reactivates to the status held before deactivation.
    pub(crate) fn reactivate(&mut self, today: NaiveDate) {
        if !self.is_active() {
            self.status = self.status_before_deactivation;
            self.status_date = today;
        }
    }
}

/// A team as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Team {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) integration_external_id: Option<String>,
}

/// The settings, users and teams of the company, and their indices.
#[derive(Debug, Default)]
pub(crate) struct Company {
    pub(crate) settings: Settings,
    users: BTreeMap<u64, User>,
    user_by_email: HashMap<String, u64>,
    user_by_external_id: HashMap<String, u64>,
    teams: BTreeMap<u64, Team>,
    team_by_external_id: HashMap<String, u64>,
    /// Team id → number of active users in it (primary or secondary).
    active_members: HashMap<u64, u64>,
    last_user_id: u64,
    last_team_id: u64,
}

impl Company {
    /// A company with these settings and teams (ids 1, 2, … in order); a
    /// team's integration external id already taken is an error.
    pub(crate) fn new(settings: Settings, teams: &[TeamSeed]) -> Result<Self, String> {
        let mut company = Company {
            settings,
            ..Company::default()
        };
        for seed in teams {
            let external_id = seed.integration_external_id.clone().filter(|e| !e.is_empty());
            if let Some(taken) = external_id
                .as_deref()
                .filter(|e| company.team_by_external_id(e).is_some())
            {
                return Err(format!("two seeded teams have the integration external id {taken:?}"));
            }
            let id = company.next_team_id();
            company.put_team(Team {
                id,
                name: seed.name.clone(),
                integration_external_id: external_id,
            });
        }
        Ok(company)
    }

    /// The user with this id.
    pub(crate) fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    /// The user with this email, ignoring case and surrounding spaces.
    pub(crate) fn user_by_email(&self, email: &str) -> Option<&User> {
        self.user_by_email
            .get(&email.trim().to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The user with this integration external id (exact).
    pub(crate) fn user_by_external_id(&self, external_id: &str) -> Option<&User> {
        self.user_by_external_id
            .get(external_id)
            .and_then(|id| self.users.get(id))
    }

    /// Every user, by id.
    pub(crate) fn users(&self) -> impl ExactSizeIterator<Item = &User> {
        self.users.values()
    }

    /// The id the next created user gets (reserved by [`Company::put_user`]).
    pub(crate) fn next_user_id(&self) -> u64 {
        self.last_user_id + 1
    }

    /// Stores a new or changed user, updating every index.
    pub(crate) fn put_user(&mut self, user: User) {
        if let Some(old) = self.users.remove(&user.id) {
            self.unindex(&old);
        }
        self.index(&user);
        self.last_user_id = self.last_user_id.max(user.id);
        self.users.insert(user.id, user);
    }

    /// Removes user `id` entirely; users they managed have no manager.
    pub(crate) fn remove_user(&mut self, id: u64) -> Option<User> {
        let user = self.users.remove(&id)?;
        self.unindex(&user);
        for other in self.users.values_mut() {
            if other.manager == Some(id) {
                other.manager = None;
            }
        }
        Some(user)
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
    pub(crate) fn team(&self, id: u64) -> Option<&Team> {
        self.teams.get(&id)
    }

    /// The teams with this name, ignoring case, by id.
    pub(crate) fn teams_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Team> + 'a {
        let name = name.to_lowercase();
        self.teams.values().filter(move |t| t.name.to_lowercase() == name)
    }

    /// The team with this integration external id (exact).
    pub(crate) fn team_by_external_id(&self, external_id: &str) -> Option<&Team> {
        self.team_by_external_id
            .get(external_id)
            .and_then(|id| self.teams.get(id))
    }

    /// Every team, by id.
    pub(crate) fn teams(&self) -> impl ExactSizeIterator<Item = &Team> {
        self.teams.values()
    }

    /// Active users in the team.
    pub(crate) fn active_members(&self, team: u64) -> u64 {
        self.active_members.get(&team).copied().unwrap_or(0)
    }

    /// The id the next created team gets (reserved by [`Company::put_team`]).
    pub(crate) fn next_team_id(&self) -> u64 {
        self.last_team_id + 1
    }

    /// Stores a new or changed team (the caller checked its integration
    /// external id is free), updating the index.
    pub(crate) fn put_team(&mut self, team: Team) {
        if let Some(external_id) = self
            .teams
            .get(&team.id)
            .and_then(|old| old.integration_external_id.clone())
        {
            self.team_by_external_id.remove(&external_id);
        }
        if let Some(external_id) = &team.integration_external_id {
            self.team_by_external_id.insert(external_id.clone(), team.id);
        }
        self.last_team_id = self.last_team_id.max(team.id);
        self.teams.insert(team.id, team);
    }

    /// Removes team `id`; its users are kept, without it.
    pub(crate) fn remove_team(&mut self, id: u64) -> Option<Team> {
        let team = self.teams.remove(&id)?;
        if let Some(external_id) = &team.integration_external_id {
            self.team_by_external_id.remove(external_id);
        }
        let members: Vec<User> = self
            .users
            .values()
            .filter(|u| u.teams().contains(&id))
            .cloned()
            .collect();
        for mut user in members {
            if user.primary_team == Some(id) {
                user.primary_team = None;
            }
            user.secondary_teams.retain(|t| *t != id);
            self.put_user(user);
        }
        self.active_members.remove(&id);
        Some(team)
    }

    /// The active members of team `id`, by user id.
    pub(crate) fn active_members_of(&self, id: u64) -> impl Iterator<Item = &User> {
        self.users
            .values()
            .filter(move |u| u.is_active() && u.teams().contains(&id))
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
            language: "en".to_owned(),
            role: "viewer".to_owned(),
            integration_external_id: Some(format!("E{id}")),
            occupation_role: None,
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
        let seeds: Vec<TeamSeed> = ["Sales", "sales", "Ops"].into_iter().map(TeamSeed::from).collect();
        let mut company = Company::new(Settings::default(), &seeds).expect("valid seeds");
        assert_eq!(company.teams().len(), 3);
        assert_eq!(
            company.teams_named("SALES").map(|t| t.id).collect::<Vec<_>>(),
            vec![1, 2]
        );
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

    #[test]
    fn removing_a_user_or_a_team_leaves_nothing_pointing_at_it() {
        let seeds = [TeamSeed::from("Sales"), TeamSeed::from("Ops"), TeamSeed::from("Temp")];
        let mut company = Company::new(Settings::default(), &seeds).expect("valid seeds");
        company.put_user(user(1, "boss@x.com", (Some(1), vec![])));
        let mut report = user(2, "r@x.com", (Some(3), vec![1, 3]));
        report.manager = Some(1);
        company.put_user(report);
        assert_eq!(company.active_members(3), 1);

        assert!(company.remove_team(3).is_some());
        let report = company.user(2).expect("kept");
        assert_eq!((report.primary_team, report.secondary_teams.clone()), (None, vec![1]));
        assert_eq!(company.active_members(1), 2);

        assert!(company.remove_user(1).is_some());
        assert!(company.user_by_email("boss@x.com").is_none());
        assert!(company.user_by_external_id("E1").is_none());
        assert_eq!(company.user(2).and_then(|u| u.manager), None);
        assert_eq!(company.active_members(1), 1);
        assert_eq!(company.next_user_id(), 3, "ids are never reused");
        assert!(company.remove_user(1).is_none());
    }

    #[test]
    fn seeded_teams_may_share_a_name_but_not_an_external_id() {
        let seeds = [
            TeamSeed {
                name: "A".to_owned(),
                integration_external_id: Some("T".to_owned()),
            },
            TeamSeed {
                name: "B".to_owned(),
                integration_external_id: Some("T".to_owned()),
            },
        ];
        assert!(Company::new(Settings::default(), &seeds).is_err());
    }
}
