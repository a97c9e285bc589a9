//! File name patterns: `*` (any run) and `?` (any one character).

/// True when `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("users_*.csv*", "users_2026-11-25.csv", true),
            ("users_*.csv*", "users_2026-11-25.csv.pgp", true),
            ("users_*.csv*", "staff_2026.csv", false),
            ("*.csv", "a.csv.part", false),
            ("day?.csv", "day1.csv", true),
            ("day?.csv", "day10.csv", false),
            ("*", "", true),
        ] {
            assert_eq!(matches(p, n), want, "{p} ~ {n}");
        }
    }
}
