//! What `init --from` knows of HR and identity systems' exports: each
//! system's header set (to say which system a file came from), and what a
//! column means by its header, across systems.
//!
//! Headers are compared folded ([`fold_header`]: no case, spaces,
//! underscores or hyphens). A header with a bracketed part names its
//! meaning there when it is an identity property (Entra's bulk template:
//! `First name [givenName]`); Google's `[Required]` and `[READ ONLY]` are
//! dropped.

use crate::fields::{Field, fold_header};

/// A system whose export headers are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct System {
    pub name: &'static str,
    /// Folded headers its exports have (most of them, in every export).
    pub signature: &'static [&'static str],
    /// Its dates are month first when they cannot be told apart (US).
    pub month_first: bool,
    /// Learn Amp's own format: read as it is, with no mapping.
    pub learn_amp: bool,
}

const fn system(name: &'static str, signature: &'static [&'static str]) -> System {
    System {
        name,
        signature,
        month_first: false,
        learn_amp: false,
    }
}

/// The systems recognised, each with the headers of its user export.
pub(crate) const SYSTEMS: &[System] = &[
    System {
        learn_amp: true,
        ..system(
            "Learn Amp sFTP sync format",
            &[
                "firstname",
                "lastname",
                "email",
                "jobtitle",
                "manager",
                "coach",
                "primaryteam",
                "secondaryteam",
                "role",
                "language",
                "location",
                "timezone",
                "hiredate",
                "deactivate",
            ],
        )
    },
    System {
        learn_amp: true,
        ..system(
            "Learn Amp bulk-invite template",
            &[
                "firstname",
                "lastname",
                "email",
                "jobtitle",
                "primaryteam",
                "secondaryteams",
                "role",
                "language",
                "location",
                "timezone",
            ],
        )
    },
    System {
        month_first: true,
        ..system(
            "BambooHR",
            &[
                "employee#",
                "firstname",
                "lastname",
                "preferredname",
                "workemail",
                "jobtitle",
                "department",
                "division",
                "location",
                "hiredate",
                "terminationdate",
                "reportingto",
                "status",
                "employmentstatus",
                "supervisoremail",
            ],
        )
    },
    System {
        month_first: true,
        ..system(
            "Workday",
            &[
                "employeeid",
                "legalfirstname",
                "legallastname",
                "preferredfirstname",
                "primaryworkemail",
                "businesstitle",
                "supervisoryorganization",
                "location",
                "hiredate",
                "terminationdate",
                "manageremployeeid",
                "workerstatus",
                "workertype",
            ],
        )
    },
    system(
        "HiBob",
        &[
            "employeeid",
            "firstname",
            "lastname",
            "displayname",
            "email",
            "jobtitle",
            "department",
            "site",
            "startdate",
            "reportsto",
            "lifecyclestatus",
            "terminationdate",
        ],
    ),
    system(
        "Personio",
        &[
            "id",
            "firstname",
            "lastname",
            "preferredname",
            "email",
            "status",
            "position",
            "department",
            "office",
            "hiredate",
            "terminationdate",
            "supervisor",
        ],
    ),
    system(
        "PeopleHR",
        &[
            "employeeid",
            "title",
            "firstname",
            "lastname",
            "email",
            "jobrole",
            "department",
            "location",
            "startdate",
            "reportsto",
            "leavingdate",
            "company",
        ],
    ),
    system(
        "Sage HR",
        &[
            "employeenumber",
            "firstname",
            "lastname",
            "email",
            "position",
            "team",
            "location",
            "employmentstartdate",
            "reportsto",
            "terminationdate",
        ],
    ),
    system(
        "Cezanne HR",
        &[
            "personid",
            "knownas",
            "forename",
            "surname",
            "workemail",
            "jobtitle",
            "department",
            "location",
            "startdate",
            "linemanager",
            "leavingdate",
        ],
    ),
    System {
        month_first: true,
        ..system(
            "Okta",
            &[
                "login",
                "firstname",
                "lastname",
                "email",
                "status",
                "managerid",
                "employeenumber",
                "title",
                "department",
                "division",
                "displayname",
                "secondemail",
                "organization",
            ],
        )
    },
    System {
        month_first: true,
        ..system(
            "Google Workspace",
            &[
                "firstname[required]",
                "lastname[required]",
                "emailaddress[required]",
                "orgunitpath[required]",
                "status[readonly]",
                "lastsignin[readonly]",
                "employeeid",
                "employeetitle",
                "manageremail",
                "department",
                "employeetype",
            ],
        )
    },
    system(
        "Microsoft Entra ID (user download)",
        &[
            "userprincipalname",
            "displayname",
            "surname",
            "mail",
            "givenname",
            "objectid",
            "usertype",
            "jobtitle",
            "department",
            "accountenabled",
            "usagelocation",
            "officelocation",
            "companyname",
            "creationtype",
            "directorysynced",
        ],
    ),
    system(
        "Microsoft Entra ID (bulk create template)",
        &[
            "name[displayname]required",
            "username[userprincipalname]required",
            "initialpassword[passwordprofile]required",
            "blocksignin(yes/no)[accountenabled]required",
            "firstname[givenname]",
            "lastname[surname]",
            "jobtitle[jobtitle]",
            "department[department]",
            "usagelocation[usagelocation]",
        ],
    ),
];

/// The system whose header set `header` matches best, if any matches well
/// (at least half its signature, and three headers).
pub(crate) fn recognise(header: &[String]) -> Option<&'static System> {
    let folded: Vec<String> = header.iter().map(|h| fold_header(h)).collect();
    SYSTEMS
        .iter()
        .map(|s| {
            let hits = s.signature.iter().filter(|h| folded.iter().any(|f| f == *h)).count();
            (s, hits, hits * 1000 / s.signature.len())
        })
        .filter(|&(s, hits, share)| hits >= 3.min(s.signature.len()) && share >= 500)
        .max_by_key(|&(_, hits, share)| (share, hits))
        .map(|(s, _, _)| s)
}

/// What a column means, by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// An employee number or id: a key candidate.
    Key,
    FirstName,
    PreferredName,
    LastName,
    /// A full name ("First Last", or "Last, First").
    FullName,
    Email,
    /// A sign-in name, often the email (Entra's UPN, Okta's login).
    Login,
    /// `title`: a job title, or Mr/Ms (told apart by the values).
    Title,
    JobTitle,
    Department,
    Team,
    Location,
    HireDate,
    LeaveDate,
    ManagerEmail,
    ManagerKey,
    /// A manager given by name, id or email (told apart by the values).
    Manager,
    /// Active, terminated, …
    Status,
    /// Entra's `accountEnabled`: TRUE is active.
    Enabled,
    /// Entra's bulk template "Block sign in (Yes/No)": Yes is blocked.
    Blocked,
    /// What kind of account a row is (Guest, Member, Service account).
    AccountType,
    /// Learn Amp's role.
    Role,
    /// Any other field Learn Amp's own formats name.
    Field(Field),
}

/// Folded headers and their meaning, across systems.
const MEANINGS: &[(&str, Meaning)] = &[
    ("employee#", Meaning::Key),
    ("employeeid", Meaning::Key),
    ("employeenumber", Meaning::Key),
    ("employeeno", Meaning::Key),
    ("employeecode", Meaning::Key),
    ("empid", Meaning::Key),
    ("id", Meaning::Key),
    ("personid", Meaning::Key),
    ("workerid", Meaning::Key),
    ("objectid", Meaning::Key),
    ("staffid", Meaning::Key),
    ("staffnumber", Meaning::Key),
    ("integrationexternalid", Meaning::Key),
    ("firstname", Meaning::FirstName),
    ("givenname", Meaning::FirstName),
    ("forename", Meaning::FirstName),
    ("legalfirstname", Meaning::FirstName),
    ("legalnamefirstname", Meaning::FirstName),
    ("preferredname", Meaning::PreferredName),
    ("preferredfirstname", Meaning::PreferredName),
    ("preferrednamefirstname", Meaning::PreferredName),
    ("knownas", Meaning::PreferredName),
    ("nickname", Meaning::PreferredName),
    ("lastname", Meaning::LastName),
    ("surname", Meaning::LastName),
    ("familyname", Meaning::LastName),
    ("legallastname", Meaning::LastName),
    ("legalnamelastname", Meaning::LastName),
    ("name", Meaning::FullName),
    ("fullname", Meaning::FullName),
    ("displayname", Meaning::FullName),
    ("employeename", Meaning::FullName),
    ("workemail", Meaning::Email),
    ("email", Meaning::Email),
    ("emailaddress", Meaning::Email),
    ("primaryworkemail", Meaning::Email),
    ("emailprimarywork", Meaning::Email),
    ("workemailaddress", Meaning::Email),
    ("businessemail", Meaning::Email),
    ("mail", Meaning::Email),
    ("login", Meaning::Login),
    ("userprincipalname", Meaning::Login),
    ("username", Meaning::Login),
    ("title", Meaning::Title),
    ("jobtitle", Meaning::JobTitle),
    ("businesstitle", Meaning::JobTitle),
    ("position", Meaning::JobTitle),
    ("jobrole", Meaning::JobTitle),
    ("employeetitle", Meaning::JobTitle),
    ("positiontitle", Meaning::JobTitle),
    ("department", Meaning::Department),
    ("departmentname", Meaning::Department),
    ("team", Meaning::Team),
    ("teamname", Meaning::Team),
    ("primaryteam", Meaning::Team),
    ("supervisoryorganization", Meaning::Team),
    ("orgunitpath", Meaning::Team),
    ("orgunit", Meaning::Team),
    ("location", Meaning::Location),
    ("office", Meaning::Location),
    ("site", Meaning::Location),
    ("worklocation", Meaning::Location),
    ("officelocation", Meaning::Location),
    ("physicaldeliveryofficename", Meaning::Location),
    ("hiredate", Meaning::HireDate),
    ("startdate", Meaning::HireDate),
    ("employmentstartdate", Meaning::HireDate),
    ("originalhiredate", Meaning::HireDate),
    ("dateofjoining", Meaning::HireDate),
    ("joiningdate", Meaning::HireDate),
    ("terminationdate", Meaning::LeaveDate),
    ("leavingdate", Meaning::LeaveDate),
    ("leavedate", Meaning::LeaveDate),
    ("enddate", Meaning::LeaveDate),
    ("employmentenddate", Meaning::LeaveDate),
    ("lastdayofwork", Meaning::LeaveDate),
    ("dateofleaving", Meaning::LeaveDate),
    ("manageremail", Meaning::ManagerEmail),
    ("supervisoremail", Meaning::ManagerEmail),
    ("reportstoemail", Meaning::ManagerEmail),
    ("linemanageremail", Meaning::ManagerEmail),
    ("managerid", Meaning::ManagerKey),
    ("manageremployeeid", Meaning::ManagerKey),
    ("manageremployeenumber", Meaning::ManagerKey),
    ("supervisorid", Meaning::ManagerKey),
    ("reportstoid", Meaning::ManagerKey),
    ("linemanagerid", Meaning::ManagerKey),
    ("manager", Meaning::Manager),
    ("managername", Meaning::Manager),
    ("reportingto", Meaning::Manager),
    ("reportsto", Meaning::Manager),
    ("supervisor", Meaning::Manager),
    ("linemanager", Meaning::Manager),
    ("directmanager", Meaning::Manager),
    ("status", Meaning::Status),
    ("employeestatus", Meaning::Status),
    ("workerstatus", Meaning::Status),
    ("lifecyclestatus", Meaning::Status),
    ("activestatus", Meaning::Status),
    ("accountstatus", Meaning::Status),
    ("accountenabled", Meaning::Enabled),
    ("usertype", Meaning::AccountType),
    ("accounttype", Meaning::AccountType),
    ("employeetype", Meaning::AccountType),
    ("role", Meaning::Role),
];

/// What `header` means, if anything known.
pub(crate) fn meaning(header: &str) -> Option<Meaning> {
    let folded = fold_header(header);
    if folded.starts_with("blocksignin") {
        return Some(Meaning::Blocked);
    }
    let lookup = |h: &str| MEANINGS.iter().find(|(name, _)| *name == h).map(|&(_, m)| m);
    // `First name [givenName]`: the property in brackets says it exactly.
    if let (Some(open), Some(close)) = (folded.find('['), folded.find(']'))
        && open < close
    {
        let inner = &folded[open + 1..close];
        let outer = &folded[..open];
        return lookup(inner)
            .or_else(|| lookup(outer))
            .or_else(|| Field::from_header(outer).map(Meaning::Field));
    }
    lookup(&folded).or_else(|| Field::from_header(header).map(Meaning::Field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sets_name_their_system() {
        let cases = [
            (
                "Employee #,First Name,Last Name,Preferred Name,Work Email,Job Title,Department,Hire Date,Reporting to,Status",
                Some("BambooHR"),
            ),
            (
                "userPrincipalName,displayName,surname,mail,givenName,objectId,userType,jobTitle,department,accountEnabled",
                Some("Microsoft Entra ID (user download)"),
            ),
            (
                "login,firstName,lastName,email,status,managerId,employeeNumber,title,department",
                Some("Okta"),
            ),
            (
                "first_name,last_name,email,job_title,manager,coach,primary_team,secondary_team,role,language,location,time_zone,hire_date,deactivate",
                Some("Learn Amp sFTP sync format"),
            ),
            (
                "First name,Last name,Email,Job title,Primary team,Secondary teams,Role,Language,Location,Timezone",
                Some("Learn Amp bulk-invite template"),
            ),
            (
                "Employee number,First name,Last name,Email,Position,Team,Location,Employment start date,Reports to,Termination date",
                Some("Sage HR"),
            ),
            (
                "Person ID,Known As,Forename,Surname,Work Email,Job Title,Department,Location,Start Date,Line Manager,Leaving Date",
                Some("Cezanne HR"),
            ),
            ("Colour,Shape,Size", None),
        ];
        for (header, want) in cases {
            let header: Vec<String> = header.split(',').map(str::to_owned).collect();
            assert_eq!(recognise(&header).map(|s| s.name), want, "{header:?}");
        }
    }

    #[test]
    fn headers_mean_what_their_systems_mean() {
        for (header, want) in [
            ("Employee #", Some(Meaning::Key)),
            ("First name [givenName]", Some(Meaning::FirstName)),
            ("Name [displayName] Required", Some(Meaning::FullName)),
            ("User name [userPrincipalName] Required", Some(Meaning::Login)),
            (
                "Block sign in (Yes/No) [accountEnabled] Required",
                Some(Meaning::Blocked),
            ),
            ("Email Address [Required]", Some(Meaning::Email)),
            ("Status [READ ONLY]", Some(Meaning::Status)),
            ("Org Unit Path [Required]", Some(Meaning::Team)),
            ("Legal Name - First Name", Some(Meaning::FirstName)),
            ("coach", Some(Meaning::Field(Field::Coach))),
            ("Favourite colour", None),
        ] {
            assert_eq!(meaning(header), want, "{header}");
        }
    }
}
