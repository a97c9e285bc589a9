//! Learn Amp's user fields as ampsync names them, the header aliases that
//! find them in a file, and the values Learn Amp accepts.

/// A user field ampsync can read from a file. The names are Learn Amp's API
/// names; `Name` (a full name) and `Deactivate` (a flag) are read from files
/// but never stored as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    FirstName,
    LastName,
    Name,
    Email,
    IntegrationExternalId,
    JobTitle,
    Role,
    Language,
    Location,
    Department,
    HireDate,
    ManagerEmail,
    Coach,
    PrimaryTeam,
    SecondaryTeams,
    TimeZone,
    Deactivate,
    PrimaryTeamExternalId,
    SecondaryTeamExternalIds,
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 19] = [
        Field::FirstName,
        Field::LastName,
        Field::Name,
        Field::Email,
        Field::IntegrationExternalId,
        Field::JobTitle,
        Field::Role,
        Field::Language,
        Field::Location,
        Field::Department,
        Field::HireDate,
        Field::ManagerEmail,
        Field::Coach,
        Field::PrimaryTeam,
        Field::SecondaryTeams,
        Field::TimeZone,
        Field::Deactivate,
        Field::PrimaryTeamExternalId,
        Field::SecondaryTeamExternalIds,
    ];

    /// Whether the field names a person (an id or an email), so its value
    /// is compared as an identifier: NFKC, with no zero-width characters.
    pub fn is_identifier(self) -> bool {
        matches!(
            self,
            Field::Email | Field::IntegrationExternalId | Field::ManagerEmail | Field::Coach
        )
    }

    /// The name used in `[mapping]`, in records and in the event log.
    pub fn api_name(self) -> &'static str {
        match self {
            Field::FirstName => "firstName",
            Field::LastName => "lastName",
            Field::Name => "name",
            Field::Email => "email",
            Field::IntegrationExternalId => "integrationExternalId",
            Field::JobTitle => "jobTitle",
            Field::Role => "role",
            Field::Language => "language",
            Field::Location => "location",
            Field::Department => "department",
            Field::HireDate => "hireDate",
            Field::ManagerEmail => "managerEmail",
            Field::Coach => "coachEmail",
            Field::PrimaryTeam => "primaryTeam",
            Field::SecondaryTeams => "secondaryTeams",
            Field::TimeZone => "timeZone",
            Field::Deactivate => "deactivate",
            Field::PrimaryTeamExternalId => "primaryTeamExternalId",
            Field::SecondaryTeamExternalIds => "secondaryTeamExternalIds",
        }
    }

    /// The field a `[mapping]` key names.
    pub fn from_api_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.api_name() == name)
    }

    /// Header spellings recognised without a mapping, already folded by
    /// [`fold_header`]: Learn Amp's sFTP sync format, its bulk-invite
    /// template, and common HR export names.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::FirstName => &["firstname", "givenname", "forename"],
            Field::LastName => &["lastname", "surname", "familyname"],
            Field::Name => &["name", "fullname"],
            Field::Email => &["email", "emailaddress", "workemail"],
            Field::IntegrationExternalId => &["employeeid", "integrationexternalid", "employeenumber"],
            // Not a bare "title": PeopleHR's `Title` is Mr/Ms.
            Field::JobTitle => &["jobtitle"],
            Field::Role => &["role"],
            Field::Language => &["language"],
            Field::Location => &["location"],
            Field::Department => &["department"],
            Field::HireDate => &["hiredate", "startdate"],
            Field::ManagerEmail => &["manageremail", "manager"],
            Field::Coach => &["coach", "coachemail"],
            Field::PrimaryTeam => &["primaryteam"],
            Field::SecondaryTeams => &["secondaryteam", "secondaryteams", "teams"],
            Field::TimeZone => &["timezone"],
            Field::Deactivate => &["deactivate"],
            Field::PrimaryTeamExternalId => &[
                "primaryteamexternalid",
                "primaryteamintegrationexternalid",
                "primaryteamid",
            ],
            Field::SecondaryTeamExternalIds => &[
                "secondaryteamexternalids",
                "secondaryteamintegrationexternalids",
                "secondaryteamids",
            ],
        }
    }

    /// The field a header names without any mapping.
    pub fn from_header(header: &str) -> Option<Field> {
        let folded = fold_header(header);
        Field::ALL.into_iter().find(|f| f.aliases().contains(&folded.as_str()))
    }
}

/// A header folded for matching: lower case, without spaces, underscores or
/// hyphens, so `First name`, `first_name` and `FirstName` are one.
pub fn fold_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Learn Amp's roles, as the API names them.
pub const ROLES: [&str; 6] = ["viewer", "curator", "reporter", "learning_designer", "hr", "admin"];

/// Learn Amp's languages, as the API names them: the 27 codes of
/// "Supported Language Codes" in the API reference.
pub const LANGUAGES: [&str; 27] = [
    "en", "en-US", "de", "es", "es-CO", "fr", "fr-CA", "it", "nl", "pt-BR", "pl", "ru", "no", "sv", "da", "zh-CN",
    "zh-TW", "ja", "ar", "sk", "ca", "cy", "el", "hu", "pt-PT", "ro", "tr",
];

/// Record fields kept in the history but never sent to Learn Amp, nor
/// compared with what it has: the users API has no time-zone or coach input.
pub const NOT_SENT: [&str; 2] = ["timeZone", "coachEmail"];

/// The record field name of a custom field.
pub fn custom_field_name(name: &str) -> String {
    format!("customFields.{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_ignoring_case_spaces_and_underscores() {
        for h in ["First name", "first_name", "FIRSTNAME", " First Name "] {
            assert_eq!(Field::from_header(h), Some(Field::FirstName), "{h}");
        }
        assert_eq!(Field::from_header("Employee ID"), Some(Field::IntegrationExternalId));
        assert_eq!(Field::from_header("secondary_team"), Some(Field::SecondaryTeams));
        assert_eq!(Field::from_header("Secondary teams"), Some(Field::SecondaryTeams));
        assert_eq!(Field::from_header("Timezone"), Some(Field::TimeZone));
        assert_eq!(Field::from_header("time_zone"), Some(Field::TimeZone));
        assert_eq!(Field::from_header("Cost centre"), None);
        assert_eq!(
            Field::from_header("Title"),
            None,
            "PeopleHR's Title is Mr/Ms, not a job title"
        );
        assert_eq!(
            Field::from_header("Primary team ID"),
            Some(Field::PrimaryTeamExternalId)
        );
        assert_eq!(
            Field::from_header("secondary_team_ids"),
            Some(Field::SecondaryTeamExternalIds)
        );
    }
}
