//! Users and teams as the API's JSON, in the documented shapes: the full
//! user (show, create, update, and list with `expanded=true`), the list item
//! (list without `expanded`), the brief user nested as a manager or a team
//! member, and teams as listed, as updated (simple) and in full (show,
//! create, update with `response=Extended`).
//!
//! Every user shows the company's time zone; custom fields are listed by
//! name as `[{"name", "value"}]` on the full user (only those with a value).

use serde_json::{Map, Value, json};

use crate::{
    company::{Company, Status, Team, User},
    settings::COMPANY_TIME_ZONE,
};

/// Renders against one company state; `base_url` makes `profileUrl`.
#[derive(Debug)]
pub(crate) struct View<'a> {
    pub(crate) company: &'a Company,
    pub(crate) base_url: &'a str,
}

impl View<'_> {
    /// The full user: every field, manager, teams and custom fields.
    pub(crate) fn user(&self, user: &User) -> Value {
        let mut out = self.user_fields(user);
        out.insert("occupationRole".into(), json!(user.occupation_role));
        let manager = user
            .manager
            .and_then(|id| self.company.user(id))
            .map(|m| Value::Object(self.brief(m)));
        out.insert("manager".into(), manager.unwrap_or(Value::Null));
        out.insert("location".into(), json!(user.location));
        out.insert("department".into(), json!(user.department));
        let primary = user
            .primary_team
            .and_then(|id| self.company.team(id))
            .map(|t| self.team_of_user(t));
        out.insert("primaryTeam".into(), primary.unwrap_or(Value::Null));
        let secondary = user.secondary_teams.iter().filter_map(|id| self.company.team(*id));
        out.insert(
            "secondaryTeams".into(),
            secondary.map(|t| self.team_of_user(t)).collect(),
        );
        let custom = user
            .custom_fields
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }));
        out.insert("customFields".into(), custom.collect());
        Value::Object(out)
    }

    /// A user in a list without `expanded=true`.
    pub(crate) fn user_item(&self, user: &User) -> Value {
        Value::Object(self.user_fields(user))
    }

    fn user_fields(&self, user: &User) -> Map<String, Value> {
        let mut out = self.brief(user);
        out.insert(
            "hireDate".into(),
            json!(user.hire_date.map(|d| d.format("%Y-%m-%d").to_string())),
        );
        out
    }

    /// The user as nested in another object (a manager).
    fn brief(&self, user: &User) -> Map<String, Value> {
        let value = json!({
            "id": user.id,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "jobTitle": user.job_title,
            "email": user.email,
            "timeZone": COMPANY_TIME_ZONE,
            "language": user.language,
            "role": user.role,
            "integrationExternalId": user.integration_external_id,
            "profileUrl": format!("{}/en/users/{}", self.base_url, user.id),
            "status": status(user),
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// A member as a team's `users` lists them.
    fn member(&self, team: &Team, user: &User) -> Value {
        let mut out = self.brief(user);
        out.remove("integrationExternalId");
        out.insert(
            "removeFromTeamUrl".into(),
            json!(format!("/v1/teams/{}/users/{}.json", team.id, user.id)),
        );
        Value::Object(out)
    }

    /// A team as `primaryTeam` / `secondaryTeams` show it.
    fn team_of_user(&self, team: &Team) -> Value {
        json!({
            "id": team.id,
            "name": team.name,
            "teamUsersCount": self.company.active_members(team.id),
            "apiTeamPath": format!("/v1/teams/{}.json", team.id),
            "apiTeamUsersPath": format!("/v1/teams/{}/users.json", team.id),
            "manager": null,
        })
    }

    /// A team as `PUT /v1/teams/{id}` answers by default ("Simple").
    pub(crate) fn team_simple(&self, team: &Team) -> Value {
        json!({
            "id": team.id,
            "name": team.name,
            "integrationExternalId": team.integration_external_id,
            "teamUsersCount": self.company.active_members(team.id),
            "apiTeamPath": format!("/v1/teams/{}.json", team.id),
            "apiTeamUsersPath": format!("/v1/teams/{}/users.json", team.id),
            "manager": null,
            "secondaryManagers": [],
        })
    }

    /// A team as `GET /v1/teams` lists it: the simple form and its parent's id.
    pub(crate) fn team(&self, team: &Team) -> Value {
        let mut value = self.team_simple(team);
        if let Value::Object(map) = &mut value {
            map.insert("parentTeamId".into(), Value::Null);
        }
        value
    }

    /// A team in full, as show and create answer: the simple form plus its
    /// active users, sub-teams, parent and tags (the sandbox keeps no
    /// hierarchy or tags).
    pub(crate) fn team_full(&self, team: &Team) -> Value {
        let mut value = self.team_simple(team);
        if let Value::Object(map) = &mut value {
            let users = self.company.active_members_of(team.id).map(|u| self.member(team, u));
            map.insert("users".into(), users.collect());
            map.insert("subTeams".into(), json!([]));
            map.insert("parentTeam".into(), Value::Null);
            map.insert("tags".into(), json!([]));
        }
        value
    }
}

/// `{"status": "Invite pending", "time": "Sent 25 Sep 19"}`; a user never
/// invited has no time.
fn status(user: &User) -> Value {
    let day = user.status_date.format("%-d %b %y");
    let time = match user.status {
        Status::NotInvited => Value::Null,
        Status::InvitePending => json!(format!("Sent {day}")),
        Status::Deactivated => json!(format!("On {day}")),
    };
    json!({ "status": user.status.label(), "time": time })
}
