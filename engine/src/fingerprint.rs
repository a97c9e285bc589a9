//! The config fingerprint: a blake3 of everything in the config that decides
//! how a file is read, so a file read with one mapping can be told from the
//! same bytes read with another (the idempotency key of an import is the
//! file's hash plus this).
//!
//! It covers the `[csv]`, `[mapping]` and `[[skip]]` tables and
//! `policy.future_hires`, taken from the TOML value as written (not from the
//! typed config): keys added to those tables are covered without a change
//! here, and a build whose defaults differ does not change it. The value is
//! re-serialised canonically (keys sorted, every item typed and
//! length-prefixed), so comments, order and layout do not count; an absent
//! table counts as an empty one. The decoding rules' version is in it too.
//! It does not depend on the file's header: the row hashes' key does that.

use std::fmt;

use crate::ingest::DECODING_RULES;

/// The top-level tables that decide how a file is read, whole.
const TABLES: [&str; 3] = ["csv", "mapping", "skip"];

/// The settings of other tables that decide it: (table, key).
const SETTINGS: [(&str, &str); 1] = [("policy", "future_hires")];

/// The fingerprint of how a config reads files.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a parsed config file.
    pub fn of(config: &toml::Table) -> Fingerprint {
        let mut hasher = blake3::Hasher::new_derive_key("ampsync config fingerprint 2026-11-30");
        hasher.update(&DECODING_RULES.to_le_bytes());
        let empty = toml::Value::Table(toml::Table::new());
        for name in TABLES {
            let value = config.get(name).unwrap_or(&empty);
            canonical(&mut hasher, &toml::Value::String(name.to_owned()));
            canonical(&mut hasher, value);
        }
        for (table, key) in SETTINGS {
            canonical(&mut hasher, &toml::Value::String(format!("{table}.{key}")));
            match config.get(table).and_then(|t| t.get(key)) {
                Some(value) => {
                    hasher.update(b"+");
                    canonical(&mut hasher, value);
                }
                None => {
                    hasher.update(b"-");
                }
            }
        }
        Fingerprint(*hasher.finalize().as_bytes())
    }

    /// The fingerprint of config text, or the TOML error.
    pub fn of_text(text: &str) -> Result<Fingerprint, toml::de::Error> {
        Ok(Fingerprint::of(&text.parse::<toml::Table>()?))
    }

    /// The 32 bytes.
    pub fn bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The first 8 hex digits, as messages show it.
    pub fn short(&self) -> String {
        short(&self.0)
    }
}

/// The first 8 hex digits of fingerprint bytes, as messages show them.
pub fn short(bytes: &[u8; 32]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl Default for Fingerprint {
    /// The fingerprint of an empty config (every setting at its default).
    fn default() -> Self {
        Fingerprint::of(&toml::Table::new())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.short())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

/// Feeds `value` to `hasher` as a type tag and its content, lengths first,
/// table keys in sorted order: equal values always feed the same bytes,
/// and different ones never do.
fn canonical(hasher: &mut blake3::Hasher, value: &toml::Value) {
    let len = |hasher: &mut blake3::Hasher, n: usize| {
        hasher.update(&(n as u64).to_le_bytes());
    };
    match value {
        toml::Value::String(s) => {
            hasher.update(b"s");
            len(hasher, s.len());
            hasher.update(s.as_bytes());
        }
        toml::Value::Integer(i) => {
            hasher.update(b"i");
            hasher.update(&i.to_le_bytes());
        }
        toml::Value::Float(x) => {
            hasher.update(b"f");
            hasher.update(&x.to_bits().to_le_bytes());
        }
        toml::Value::Boolean(b) => {
            hasher.update(if *b { b"T" } else { b"F" });
        }
        toml::Value::Datetime(d) => {
            let text = d.to_string();
            hasher.update(b"d");
            len(hasher, text.len());
            hasher.update(text.as_bytes());
        }
        toml::Value::Array(items) => {
            hasher.update(b"a");
            len(hasher, items.len());
            for item in items {
                canonical(hasher, item);
            }
        }
        toml::Value::Table(table) => {
            hasher.update(b"t");
            len(hasher, table.len());
            let mut keys: Vec<&String> = table.keys().collect();
            keys.sort();
            for key in keys {
                len(hasher, key.len());
                hasher.update(key.as_bytes());
                canonical(hasher, &table[key.as_str()]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Fingerprint {
        Fingerprint::of_text(text).expect("toml")
    }

    #[test]
    fn only_what_decides_the_reading_counts() {
        let base = of("[csv]\nkey = \"Employee ID\"\n[mapping]\njobTitle = \"Title\"\n");
        // The same settings written otherwise, and other tables, do not count.
        for same in [
            "[mapping]\njobTitle = \"Title\" # the job\n\n[csv]\nkey = \"Employee ID\"\n",
            "mapping = { jobTitle = \"Title\" }\ncsv = { key = \"Employee ID\" }\n",
            "[csv]\nkey = \"Employee ID\"\n[mapping]\njobTitle = \"Title\"\n[store]\nkeep_raw_days = 3\n\
             [policy]\nmax_change_percent = 90\n[learnamp]\nbase_url = \"https://x.example\"\n",
        ] {
            assert_eq!(of(same), base, "{same}");
        }
        // Anything in the tables that read the file does.
        for other in [
            "[csv]\nkey = \"Employee ID\"\n[mapping]\njobTitle = \"Job title\"\n",
            "[csv]\nkey = \"Employee ID\"\n[mapping]\njobTitle = [\"Title\"]\n",
            "[csv]\nkey = \"Employee ID\"\ndelimiter = \",\"\n[mapping]\njobTitle = \"Title\"\n",
            "[csv]\nkey = \"Employee ID\"\n[mapping]\njobTitle = \"Title\"\n[mapping.values.role]\nX = \"admin\"\n",
            "[csv]\nkey = \"Employee ID\"\n[mapping]\njobTitle = \"Title\"\n[[skip]]\ncolumn = \"T\"\nequals = [\"G\"]\n",
            "[csv]\nkey = \"Employee ID\"\n[mapping]\njobTitle = \"Title\"\n[policy]\nfuture_hires = \"wait\"\n",
            "[csv]\nkey = \"Employee ID\"\n",
        ] {
            assert_ne!(of(other), base, "{other}");
        }
    }

    #[test]
    fn an_empty_table_is_an_absent_one_and_the_default_is_the_empty_config() {
        assert_eq!(of("[csv]\n[mapping]\n"), of(""));
        assert_eq!(Fingerprint::default(), of(""));
        // A key and a value are not confused with their concatenation.
        assert_ne!(of("[mapping]\nab = \"c\"\n"), of("[mapping]\na = \"bc\"\n"));
        assert_ne!(of("[csv]\nskip_lines = 1\n"), of("[csv]\nskip_lines = \"1\"\n"));
    }

    #[test]
    fn the_fingerprint_is_stable() {
        // Golden: a change here changes every stored snapshot's fingerprint,
        // and so re-reads every file once. Make it deliberately.
        assert_eq!(Fingerprint::default().to_string(), "51ec74fe");
        assert_eq!(of("[csv]\nkey = \"Employee ID\"\n").short(), "c488bc2e");
    }
}
