//! How the company is set up, as far as the API's answers depend on it:
//! packages, skills-matrix roles, custom fields, and whether deactivated
//! users are listed by default.

use crate::{CustomFieldDef, SandboxOptions};

/// The time zone every user shows: the company's default. The users API
/// takes no time zone, so none is ever set per user.
pub(crate) const COMPANY_TIME_ZONE: &str = "London";

/// The company's settings (fixed for the sandbox's life, but for the
/// HR-role package, which a test may buy: `Sandbox::set_hr_package`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    /// The HR-role package: without it, `role=hr` is 422.
    pub(crate) hr_package: bool,
    /// Names `occupationRole` may take.
    pub(crate) occupation_roles: Vec<String>,
    /// `None`: custom fields disabled (ignored).
    pub(crate) custom_fields: Option<Vec<CustomFieldDef>>,
    /// Lists leave deactivated users out unless a status filter asks.
    pub(crate) hide_deactivated_by_default: bool,
}

impl Settings {
    /// The settings the options describe.
    pub(crate) fn from_options(options: &SandboxOptions) -> Self {
        Settings {
            hr_package: options.hr_package,
            occupation_roles: options.occupation_roles.clone(),
            custom_fields: options.custom_fields.clone(),
            hide_deactivated_by_default: options.hide_deactivated_by_default,
        }
    }

    /// The definition of custom field `name`, if the company has it.
    pub(crate) fn custom_field(&self, name: &str) -> Option<&CustomFieldDef> {
        self.custom_fields.as_ref()?.iter().find(|d| d.name == name)
    }
}
