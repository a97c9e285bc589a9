//! What a checked [`UserForm`] does to the company: resolve the manager and
//! the teams it names (400 when unknown), check what the company allows
//! (422: `hr` without the HR-role package, an unknown `occupationRole`),
//! apply the custom fields (404 / 400), build the new user, check the model
//! validations (email well-formed and unique ignoring case, integration
//! external id unique), and store it. Nothing is stored when any check
//! fails.

use chrono::NaiveDate;

use crate::{
    company::{Company, Status, User},
    custom_fields,
    error::{ApiError, FieldErrors},
    user_form::{ManagerRef, TeamRef, UserForm},
};

/// Creates a user from a create form and returns it.
pub(crate) fn create(company: &mut Company, form: UserForm, today: NaiveDate) -> Result<User, ApiError> {
    let status = if form.skip_invitation {
        Status::NotInvited
    } else {
        Status::InvitePending
    };
    let blank = User {
        id: company.next_user_id(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        job_title: None,
        language: "en".to_owned(),
        role: "viewer".to_owned(),
        integration_external_id: None,
        occupation_role: None,
        hire_date: None,
        location: None,
        department: None,
        status,
        status_date: today,
        status_before_deactivation: status,
        manager: None,
        primary_team: None,
        secondary_teams: Vec::new(),
        custom_fields: Default::default(),
    };
    let user = changed(company, blank, form, today)?;
    company.put_user(user.clone());
    Ok(user)
}

/// Applies an update form to user `id`; returns the user and whether it was
/// reactivated (`reactivate=true` on a deactivated user).
pub(crate) fn update(
    company: &mut Company,
    id: u64,
    form: UserForm,
    today: NaiveDate,
) -> Result<(User, bool), ApiError> {
    let current = company.user(id).cloned().ok_or_else(ApiError::not_found)?;
    let reactivates = form.reactivate && !current.is_active();
    let user = changed(company, current, form, today)?;
    company.put_user(user.clone());
    Ok((user, reactivates))
}

/// `user` with the form applied, every check passed.
fn changed(company: &Company, mut user: User, form: UserForm, today: NaiveDate) -> Result<User, ApiError> {
    let manager = form
        .manager
        .as_ref()
        .map(|m| m.as_ref().map(|m| resolve_manager(company, m)).transpose())
        .transpose()?;
    let teams = resolve_teams(company, &form)?;
    if form.role.as_deref() == Some("hr") && !company.settings.hr_package {
        return Err(ApiError::unprocessable("hr role requires the HR-role package"));
    }
    if let Some(Some(role)) = &form.occupation_role
        && !company.settings.occupation_roles.contains(role)
    {
        return Err(ApiError::unprocessable(
            "occupationRole does not match an existing role in your company",
        ));
    }
    custom_fields::apply(&company.settings, &mut user.custom_fields, form.custom_fields)?;
    set(&mut user.email, form.email);
    set(&mut user.first_name, form.first_name);
    set(&mut user.last_name, form.last_name);
    set(&mut user.integration_external_id, form.integration_external_id);
    set(&mut user.job_title, form.job_title);
    set(&mut user.location, form.location);
    set(&mut user.department, form.department);
    set(&mut user.role, form.role);
    set(&mut user.language, form.language);
    set(&mut user.occupation_role, form.occupation_role);
    set(&mut user.hire_date, form.hire_date);
    set(&mut user.manager, manager);
    set(&mut user.primary_team, teams.primary);
    set(&mut user.secondary_teams, teams.secondary);
    if form.reactivate {
        user.reactivate(today);
    }
    validate(company, &user)?;
    Ok(user)
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// The manager's id: an active user with that id or email.
fn resolve_manager(company: &Company, manager: &ManagerRef) -> Result<u64, ApiError> {
    match manager {
        ManagerRef::Email(email) => company
            .user_by_email(email)
            .filter(|u| u.is_active())
            .map(|u| u.id)
            .ok_or_else(|| ApiError::bad_request("managerEmail must match an existing user email within your company")),
        ManagerRef::Id(id) => company
            .user(*id)
            .filter(|u| u.is_active())
            .map(|u| u.id)
            .ok_or_else(|| ApiError::bad_request("managerId must match an existing user within your company")),
    }
}

/// The team ids a form sets; `None`: unchanged.
struct Teams {
    /// `Some(None)`: cleared.
    primary: Option<Option<u64>>,
    secondary: Option<Vec<u64>>,
}

/// The teams the form names, each unknown reference reported with
/// `fullErrors`.
fn resolve_teams(company: &Company, form: &UserForm) -> Result<Teams, ApiError> {
    let mut errors = FieldErrors::default();
    let primary = form.primary_team.as_ref().map(|team| {
        team.as_ref().and_then(|t| {
            resolve_team(
                company,
                t,
                "primaryTeamId",
                "primaryTeamIntegrationExternalId",
                &mut errors,
            )
        })
    });
    let secondary = form.secondary_teams.as_ref().map(|teams| {
        let mut ids = Vec::with_capacity(teams.len());
        for team in teams {
            let found = resolve_team(
                company,
                team,
                "secondaryTeamIds",
                "secondaryTeamIntegrationExternalIds",
                &mut errors,
            );
            if let Some(id) = found.filter(|id| !ids.contains(id)) {
                ids.push(id);
            }
        }
        ids
    });
    errors.into_params_result()?;
    Ok(Teams { primary, secondary })
}

fn resolve_team(
    company: &Company,
    team: &TeamRef,
    id_key: &str,
    external_key: &str,
    errors: &mut FieldErrors,
) -> Option<u64> {
    let found = match team {
        TeamRef::Id(id) => company.team(*id),
        TeamRef::ExternalId(external_id) => company.team_by_external_id(external_id),
    };
    if found.is_none() {
        match team {
            TeamRef::Id(_) => errors.add(id_key, "must match existing teams IDs"),
            TeamRef::ExternalId(_) => errors.add(external_key, "must match existing teams integration external IDs"),
        }
    }
    found.map(|t| t.id)
}

/// The model validations, all reported together.
fn validate(company: &Company, user: &User) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    if !is_email(&user.email) {
        errors.add("email", "is invalid");
    } else if company
        .user_by_email(&user.email)
        .is_some_and(|other| other.id != user.id)
    {
        errors.add("email", "has already been taken");
    }
    let external_id = user.integration_external_id.as_deref();
    if external_id
        .and_then(|e| company.user_by_external_id(e))
        .is_some_and(|other| other.id != user.id)
    {
        errors.add("integrationExternalId", "has already been taken");
    }
    errors.into_validation_result()
}

/// One `@` with something on each side, a dot in the domain, no spaces.
fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_email_shapes() {
        for good in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(is_email(good), "{good}");
        }
        for bad in ["", "a", "a@b", "@b.co", "a@.co", "a@b.", "a b@c.co", "a@b@c.co"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
