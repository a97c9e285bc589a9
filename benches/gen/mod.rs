//! Seeded staff CSVs for the import bench: a first day, the next day with
//! about 1% churn, and the first day again in another order.
//!
//! Everything follows from the seed and the row count, so two runs write the
//! same bytes. The churn is chosen so its effect is known exactly: the
//! generator returns the counts the import must report.
//!
//! - `day1.csv`: `rows` people, in employee ID order.
//! - `day2.csv`: day 1 less 0.3% leavers, plus 0.3% joiners (new IDs), with
//!   0.4% of people changed (job title, primary team or email, in turn), all
//!   shuffled.
//! - `day1_reordered.csv`: day 1's rows shuffled: another file hash, no change.
//! - `day1_mapped.csv`, `day2_mapped.csv`: days 1 and 2 as an HR system
//!   would write them, read with [`MAPPED_CONFIG`]: hire dates as DD/MM/YYYY,
//!   the manager by employee ID (resolved to their email), and an empty
//!   termination date column mapped as `leaveDate`. They import to the same
//!   records as days 1 and 2.
//!
//! Rows are about 170 bytes: non-ASCII names, quoted fields with commas, team
//! lists with `\,` (a comma inside a team name). Leavers and email changes
//! are never taken from the managers, so no one else's row changes with them.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub const HEADER: &str = "Employee ID,First name,Last name,Email,Job title,Primary team,\
Secondary teams,Role,Language,Location,Hire date,Manager email";

/// The header of the `_mapped` files.
pub const MAPPED_HEADER: &str = "Employee ID,First name,Last name,Email,Job title,Primary team,\
Secondary teams,Role,Language,Location,Hire date,Manager ID,Termination date";

/// The config that reads the `_mapped` files.
pub const MAPPED_CONFIG: &str = "[csv]\ndate_formats = [\"%d/%m/%Y\"]\n\
[mapping]\nmanagerKey = \"Manager ID\"\nleaveDate = \"Termination date\"\n";

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Learn Amp's own format: ISO dates, the manager's email.
    Plain,
    /// [`MAPPED_HEADER`].
    Mapped,
}

/// The files written and what importing them must do.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub day1: PathBuf,
    pub day2: PathBuf,
    pub day1_reordered: PathBuf,
    pub day1_mapped: PathBuf,
    pub day2_mapped: PathBuf,
    /// Data rows in day 1 (and in its reordered copy).
    pub day1_rows: u64,
    /// Data rows in day 2.
    pub day2_rows: u64,
    /// What importing day 2 over day 1 must report.
    pub expect_day2: Expected,
}

/// Event counts an import must report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
}

/// SplitMix64: tiny, seeded, good enough to pick names.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// (as written, as in an email address)
const FIRST_NAMES: &[(&str, &str)] = &[
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Łukasz", "lukasz"),
    ("Siobhán", "siobhan"),
    ("Anaïs", "anais"),
    ("Björn", "bjorn"),
    ("François", "francois"),
    ("Małgorzata", "malgorzata"),
    ("Søren", "soren"),
    ("Chloé", "chloe"),
    ("Jürgen", "jurgen"),
    ("Renée", "renee"),
    ("Margaret", "margaret"),
    ("James", "james"),
    ("Priya", "priya"),
    ("Oliver", "oliver"),
    ("Amelia", "amelia"),
    ("Mohammed", "mohammed"),
    ("Hannah", "hannah"),
    ("Daniel", "daniel"),
    ("Sofia", "sofia"),
    ("Lucas", "lucas"),
    ("Emma", "emma"),
    ("Noah", "noah"),
    ("Isabella", "isabella"),
    ("Wei", "wei"),
    ("Yuki", "yuki"),
    ("Aisha", "aisha"),
    ("Mateo", "mateo"),
    ("Grace", "grace"),
    ("Thomas", "thomas"),
    ("Laura", "laura"),
];

const LAST_NAMES: &[(&str, &str)] = &[
    ("Müller", "muller"),
    ("Núñez", "nunez"),
    ("García", "garcia"),
    ("Kowalczyk", "kowalczyk"),
    ("O'Brien", "obrien"),
    ("Ó Súilleabháin", "osuilleabhain"),
    ("Østergaard", "ostergaard"),
    ("Dubois", "dubois"),
    ("Schröder", "schroder"),
    ("Gonçalves", "goncalves"),
    ("Wiśniewski", "wisniewski"),
    ("Yamamoto", "yamamoto"),
    ("Smith", "smith"),
    ("Jones", "jones"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Taylor", "taylor"),
    ("Hale", "hale"),
    ("Raman", "raman"),
    ("Rossi", "rossi"),
    ("de Vries", "devries"),
    ("van den Berg", "vandenberg"),
    ("Martin", "martin"),
    ("Bernard", "bernard"),
    ("Fischer", "fischer"),
    ("Weber", "weber"),
    ("Silva", "silva"),
    ("Santos", "santos"),
    ("Chen", "chen"),
    ("Tanaka", "tanaka"),
    ("Nowak", "nowak"),
    ("Lefèvre", "lefevre"),
];

const TITLES: &[&str] = &[
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Engineering Manager",
    "Account Executive",
    "Senior Account Executive",
    "Head of Sales, EMEA",
    "Head of Sales, Americas",
    "Customer Success Manager",
    "Support Specialist",
    "Data Analyst",
    "Product Manager",
    "Product Designer",
    "Marketing Manager",
    "Content Strategist",
    "Recruiter",
    "HR Business Partner",
    "Finance Analyst",
    "Payroll Specialist",
    "Learning & Development Lead",
    "Operations Coordinator",
    "Warehouse Associate",
    "Store Manager",
    "Sales Associate",
    "Director, People & Culture",
    "Legal Counsel",
    "IT Administrator",
    "Security Engineer",
    "Senior Customer Success Manager, Enterprise",
    "Regional Operations Manager, Northern Europe",
    "Principal Site Reliability Engineer",
    "Learning Experience Designer",
];

/// Team names; some hold a comma, escaped as `\,` in team lists.
const TEAMS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Customer Success",
    "Research, Development",
    "People",
    "Legal, Risk & Compliance",
    "Operations",
    "Support",
    "Product",
    "Data",
    "Retail",
    "Logistics",
    "IT",
    "Security",
];

/// Roles, mostly viewers (weights out of 100).
const ROLES: &[(&str, usize)] = &[
    ("viewer", 85),
    ("reporter", 7),
    ("curator", 3),
    ("learning_designer", 2),
    ("hr", 2),
    ("admin", 1),
];

const LANGUAGES: &[&str] = &["en", "en-US", "de", "fr", "es-CO", "it", "nl", "pt-BR", "pl", "ja"];

const LOCATIONS: &[&str] = &[
    "London",
    "Berlin",
    "Paris",
    "Bogotá",
    "Kraków",
    "São Paulo",
    "Tokyo",
    "Amsterdam",
    "Milan",
    "New York",
    "Washington, D.C.",
    "Zürich",
    "Dublin",
    "Manchester",
];

const DOMAIN: &str = "example.com";
/// The domain a changed email moves to.
const NEW_DOMAIN: &str = "corp.example.com";

/// One person, as indexes into the tables above.
#[derive(Debug, Clone, Copy)]
struct Person {
    /// Employee number: `E{number:07}`, also in the email (so it is unique).
    number: u32,
    first: u8,
    last: u8,
    title: u8,
    primary: u8,
    /// Up to two secondary teams; `u8::MAX` for none.
    secondary: [u8; 2],
    role: u8,
    language: u8,
    location: u8,
    /// Hire date: year 2000 + y, month, day (1..=28).
    hired: (u8, u8, u8),
    /// Index of the manager in the people list, or `u32::MAX`.
    manager: u32,
    new_email: bool,
}

const NONE: u8 = u8::MAX;

impl Person {
    fn random(rng: &mut Rng, number: u32, manager: u32) -> Person {
        let mut secondary = [NONE; 2];
        // Two thirds have secondary teams, half of them two.
        if rng.below(3) < 2 {
            secondary[0] = rng.below(TEAMS.len()) as u8;
            if rng.below(2) == 0 {
                let second = rng.below(TEAMS.len()) as u8;
                if second != secondary[0] {
                    secondary[1] = second;
                }
            }
        }
        let mut roll = rng.below(100);
        let mut role = 0;
        for (i, (_, weight)) in ROLES.iter().enumerate() {
            if roll < *weight {
                role = i;
                break;
            }
            roll -= weight;
        }
        Person {
            number,
            first: rng.below(FIRST_NAMES.len()) as u8,
            last: rng.below(LAST_NAMES.len()) as u8,
            title: rng.below(TITLES.len()) as u8,
            primary: rng.below(TEAMS.len()) as u8,
            secondary,
            role: role as u8,
            language: rng.below(LANGUAGES.len()) as u8,
            location: rng.below(LOCATIONS.len()) as u8,
            hired: (rng.below(26) as u8, 1 + rng.below(12) as u8, 1 + rng.below(28) as u8),
            manager,
            new_email: false,
        }
    }

    fn email(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(
            out,
            "{}.{}.{:06}@{}",
            FIRST_NAMES[self.first as usize].1,
            LAST_NAMES[self.last as usize].1,
            self.number,
            if self.new_email { NEW_DOMAIN } else { DOMAIN }
        );
    }
}

/// Writes the three files into `dir` and returns what importing them must do.
pub fn generate(dir: &Path, rows: usize, seed: u64) -> io::Result<Dataset> {
    assert!(rows >= 10, "at least 10 rows");
    let mut rng = Rng::new(seed);
    // The first 1% (at least one) are the managers; everyone else reports to one.
    let managers = (rows / 100).max(1);
    let mut people: Vec<Person> = (0..rows)
        .map(|i| {
            let manager = if i == 0 {
                u32::MAX
            } else {
                rng.below(i.min(managers)) as u32
            };
            Person::random(&mut rng, i as u32 + 1, manager)
        })
        .collect();

    let day1 = dir.join("day1.csv");
    let in_order: Vec<u32> = (0..rows as u32).collect();
    write_file(&day1, &people, &in_order, Style::Plain)?;
    let day1_mapped = dir.join("day1_mapped.csv");
    write_file(&day1_mapped, &people, &in_order, Style::Mapped)?;

    let rw = dir.join("day1_reordered.csv");
    let mut order: Vec<u32> = (0..rows as u32).collect();
    rng.shuffle(&mut order);
    write_file(&rw, &people, &order, Style::Plain)?;

    // Churn, from distinct non-managers.
    let leavers = rows * 3 / 1000;
    let joiners = rows * 3 / 1000;
    let changes = rows * 4 / 1000;
    let mut candidates: Vec<u32> = (managers as u32..rows as u32).collect();
    rng.shuffle(&mut candidates);
    let left: Vec<u32> = candidates[..leavers].to_vec();
    for (n, &i) in candidates[leavers..leavers + changes].iter().enumerate() {
        let p = &mut people[i as usize];
        match n % 3 {
            0 => p.title = ((p.title as usize + 1 + rng.below(TITLES.len() - 1)) % TITLES.len()) as u8,
            1 => p.primary = ((p.primary as usize + 1 + rng.below(TEAMS.len() - 1)) % TEAMS.len()) as u8,
            _ => p.new_email = true,
        }
    }
    for j in 0..joiners {
        let manager = rng.below(managers) as u32;
        people.push(Person::random(&mut rng, (rows + j) as u32 + 1, manager));
    }
    let mut gone = vec![false; people.len()];
    for &i in &left {
        gone[i as usize] = true;
    }
    let mut order: Vec<u32> = (0..people.len() as u32).filter(|&i| !gone[i as usize]).collect();
    rng.shuffle(&mut order);
    let day2 = dir.join("day2.csv");
    write_file(&day2, &people, &order, Style::Plain)?;
    let day2_mapped = dir.join("day2_mapped.csv");
    write_file(&day2_mapped, &people, &order, Style::Mapped)?;

    Ok(Dataset {
        day1,
        day2,
        day1_reordered: rw,
        day1_mapped,
        day2_mapped,
        day1_rows: rows as u64,
        day2_rows: order.len() as u64,
        expect_day2: Expected {
            created: joiners as u64,
            updated: changes as u64,
            deactivated: leavers as u64,
        },
    })
}

/// Writes the header and `people[order[..]]`, one row each.
fn write_file(path: &Path, people: &[Person], order: &[u32], style: Style) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(match style {
        Style::Plain => HEADER.as_bytes(),
        Style::Mapped => MAPPED_HEADER.as_bytes(),
    })?;
    out.write_all(b"\n")?;
    let mut line = String::with_capacity(512);
    let mut email = String::with_capacity(64);
    let mut teams = String::with_capacity(64);
    for &i in order {
        let p = &people[i as usize];
        line.clear();
        let _ = write!(line, "E{:07}", p.number);
        line.push(',');
        field(&mut line, FIRST_NAMES[p.first as usize].0);
        line.push(',');
        field(&mut line, LAST_NAMES[p.last as usize].0);
        line.push(',');
        email.clear();
        p.email(&mut email);
        field(&mut line, &email);
        line.push(',');
        field(&mut line, TITLES[p.title as usize]);
        line.push(',');
        field(&mut line, TEAMS[p.primary as usize]);
        line.push(',');
        teams.clear();
        for (n, &t) in p.secondary.iter().filter(|&&t| t != NONE).enumerate() {
            if n > 0 {
                teams.push(',');
            }
            teams.push_str(&TEAMS[t as usize].replace(',', "\\,"));
        }
        field(&mut line, &teams);
        line.push(',');
        field(&mut line, ROLES[p.role as usize].0);
        line.push(',');
        field(&mut line, LANGUAGES[p.language as usize]);
        line.push(',');
        field(&mut line, LOCATIONS[p.location as usize]);
        line.push(',');
        let (y, m, d) = p.hired;
        match style {
            Style::Plain => _ = write!(line, "{:04}-{m:02}-{d:02}", 2000 + u32::from(y)),
            Style::Mapped => _ = write!(line, "{d:02}/{m:02}/{:04}", 2000 + u32::from(y)),
        }
        line.push(',');
        if p.manager != u32::MAX {
            match style {
                Style::Plain => {
                    email.clear();
                    people[p.manager as usize].email(&mut email);
                    field(&mut line, &email);
                }
                Style::Mapped => _ = write!(line, "E{:07}", people[p.manager as usize].number),
            }
        }
        if style == Style::Mapped {
            line.push(','); // No termination date.
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Appends `value` as a CSV field, quoted when it must be.
pub fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}
