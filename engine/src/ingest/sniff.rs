//! What a file's first bytes say before any of it is parsed: a byte-order
//! mark, a file that is not CSV text at all (UTF-16, a PGP message),
//! old-Mac line ends (CR only), the encoding (`csv.encoding = "auto"`, and
//! whether a configured code page looks wrong), and the delimiter the
//! header line is separated by (`csv.delimiter = "auto"`, and the hint when
//! it is not the configured one).

use encoding_rs::{Encoding as TextEncoding, UTF_8};

use super::IngestError;
use crate::config::{CsvConfig, Delimiter, Encoding};

/// Bytes looked at before parsing: enough to hold a header line.
pub(super) const HEAD: usize = 64 * 1024;

/// Lines after the header looked at to tell delimiters apart.
const SAMPLE_ROWS: usize = 20;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How to read a file, from its first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sniffed {
    /// The encoding to decode it with: a UTF-8 byte-order mark means UTF-8,
    /// whatever `csv.encoding` says; `"auto"` is resolved here.
    pub encoding: &'static TextEncoding,
    /// Lines end in CR alone (old Mac exports): read each CR as a line end.
    pub cr_only: bool,
    /// The field separator: the configured one, or the header's under
    /// `"auto"` (a comma when nothing tells).
    pub delimiter: u8,
    /// The separator the header line looks split by, when that is not the
    /// configured one (for the hint of a missing column).
    pub looks_like: Option<Delimiter>,
    /// Read as UTF-8 but not valid UTF-8 in its first bytes: what the
    /// detector takes it for (for the hint of a decoding error).
    pub guess: Option<&'static TextEncoding>,
    /// A configured single-byte code page that the detector thinks is
    /// likely the wrong one.
    pub warning: Option<String>,
}

/// Looks at `head` (the first [`HEAD`] bytes of `file`, or all of it):
/// refuses what is not CSV text, and says how to read the rest under the
/// `csv` settings.
pub(super) fn sniff(head: &[u8], csv: &CsvConfig, file: &str) -> Result<Sniffed, IngestError> {
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") || looks_utf16(head) {
        return Err(IngestError::Utf16 { file: file.to_owned() });
    }
    // The content, not the name: `import` is given what it is given.
    if crate::pgp::looks_encrypted("", head) {
        return Err(IngestError::Encrypted { file: file.to_owned() });
    }
    let cr_only = head.contains(&b'\r') && !head.contains(&b'\n');
    let complete = head.len() < HEAD;
    let utf8 = is_utf8(head, complete);
    let (encoding, warning) = match csv.encoding {
        _ if head.starts_with(UTF8_BOM) => (UTF_8, None),
        Encoding::Auto if utf8 => (UTF_8, None),
        Encoding::Auto => (detect(head, complete), None),
        Encoding::Fixed(configured) => (configured, unlikely(head, complete, configured, utf8, file)),
    };
    let guess = (encoding == UTF_8 && !utf8).then(|| detect(head, complete));

    let lines = header_and_rows(head, csv.skip_lines, cr_only, complete);
    let detected = delimiter_of(&lines);
    let delimiter = match (csv.delimiter.byte(), detected) {
        (Some(byte), _) => byte,
        (None, Some(d)) => d.byte().unwrap_or(b','),
        (None, None) => b',',
    };
    let looks_like = detected.filter(|d| csv.delimiter != Delimiter::Auto && *d != csv.delimiter);
    Ok(Sniffed {
        encoding,
        cr_only,
        delimiter,
        looks_like,
        guess,
        warning,
    })
}

/// Whether `head` is UTF-8 (a character cut off at its end does not count
/// against it unless the head is the `complete` file).
fn is_utf8(head: &[u8], complete: bool) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none(),
    }
}

/// The detector's legacy encoding for `bytes` (never UTF-8: valid UTF-8 is
/// told apart before, by decoding it).
pub(crate) fn detect(bytes: &[u8], complete: bool) -> &'static TextEncoding {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, complete);
    detector.guess(None, false)
}

/// A warning when `head`, read as the single-byte `configured` code page,
/// looks like another one that would read it differently.
fn unlikely(head: &[u8], complete: bool, configured: &'static TextEncoding, utf8: bool, file: &str) -> Option<String> {
    // Valid UTF-8 over a legacy code page has a warning of its own, by row.
    if !configured.is_single_byte() || head.is_ascii() || utf8 {
        return None;
    }
    let likely = detect(head, complete);
    if likely == configured || !likely.is_single_byte() {
        return None;
    }
    let (as_configured, as_likely) = example(head, configured, likely)?;
    let (name, likely_name) = (label(configured), label(likely));
    Some(format!(
        "{file}: read as csv.encoding = \"{name}\", but the text looks like {likely_name} \
         ({as_configured:?} would read {as_likely:?}): if names look garbled, \
         set csv.encoding = \"{likely_name}\" (or \"auto\")"
    ))
}

/// The first word of `head` that `a` and `b` read differently, as each
/// reads it; `None` if they read it all alike.
fn example(head: &[u8], a: &'static TextEncoding, b: &'static TextEncoding) -> Option<(String, String)> {
    let separator = |c: &u8| c.is_ascii_whitespace() || matches!(c, b',' | b';' | b'|' | b'"');
    head.split(separator).find_map(|word| {
        if word.is_ascii() {
            return None;
        }
        let (x, y) = (decode(word, a), decode(word, b));
        (x != y).then_some((x, y))
    })
}

fn decode(bytes: &[u8], encoding: &'static TextEncoding) -> String {
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

/// An encoding's name as `csv.encoding` takes it ("windows-1250", "iso-8859-2").
pub(super) fn label(encoding: &'static TextEncoding) -> String {
    encoding.name().to_ascii_lowercase()
}

/// The header line and the lines after it in `head`, past `skip` lines
/// (CR read as a line end in a CR-only file), without a last line cut off.
fn header_and_rows(head: &[u8], skip: u32, cr_only: bool, complete: bool) -> Vec<u8> {
    let end = if cr_only { b'\r' } else { b'\n' };
    let mut rest = head;
    for _ in 0..skip {
        match rest.iter().position(|&b| b == end) {
            Some(at) => rest = &rest[at + 1..],
            None => return Vec::new(),
        }
    }
    if !complete {
        rest = &rest[..rest.iter().rposition(|&b| b == end).map_or(0, |at| at + 1)];
    }
    let mut lines = rest.to_vec();
    if cr_only {
        lines.iter_mut().filter(|b| **b == b'\r').for_each(|b| *b = b'\n');
    }
    lines
}

/// The separator that splits the header (the first line of `lines`) into
/// the most fields, preferring one that splits every row after it into as
/// many; `None` when none splits the header at all. Ties go to the earlier
/// of [`Delimiter::CANDIDATES`].
pub(super) fn delimiter_of(lines: &[u8]) -> Option<Delimiter> {
    let mut best: Option<(bool, usize, Delimiter)> = None;
    for candidate in Delimiter::CANDIDATES {
        let Some(byte) = candidate.byte() else { continue };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(byte)
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(lines);
        let mut records = reader.byte_records().take(SAMPLE_ROWS + 1).map_while(Result::ok);
        let fields = records.next()?.len();
        if fields < 2 {
            continue;
        }
        let consistent = records.all(|r| r.len() == fields);
        if best.is_none_or(|(c, n, _)| (consistent, fields) > (c, n)) {
            best = Some((consistent, fields, candidate));
        }
    }
    best.map(|(_, _, d)| d)
}

/// UTF-16 without a byte-order mark: CSV text is mostly ASCII, so every
/// other byte is NUL.
pub(crate) fn looks_utf16(head: &[u8]) -> bool {
    let head = &head[..head.len().min(256)];
    if head.len() < 8 {
        return false;
    }
    let zeros_at = |parity: usize| head.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let half = head.len() / 2;
    [0, 1].into_iter().any(|parity| zeros_at(parity) * 10 >= half * 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn csv_config(encoding: &str, delimiter: &str, skip_lines: u32) -> CsvConfig {
        CsvConfig {
            encoding: Encoding::try_from(encoding.to_owned()).expect("encoding"),
            delimiter: Delimiter::try_from(delimiter.to_owned()).expect("delimiter"),
            skip_lines,
            ..CsvConfig::default()
        }
    }

    fn sniffed(head: &[u8], encoding: &str) -> Option<(&'static str, bool)> {
        sniff(head, &csv_config(encoding, ",", 0), "f")
            .ok()
            .map(|s| (s.encoding.name(), s.cr_only))
    }

    /// Polish names as Excel saves them on a Polish Windows.
    fn polish() -> Vec<u8> {
        let text = "Employee ID,First name,Last name,Email\n\
                    E1,Łukasz,Wiśniewski,lw@acme.example\n\
                    E2,Małgorzata,Dąbrowska,md@acme.example\n\
                    E3,Paweł,Żółkiewski,pz@acme.example\n\
                    E4,Zofia,Wójcik,zw@acme.example\n\
                    E5,Grzegorz,Szczęsny,gs@acme.example\n";
        encoding_rs::WINDOWS_1250.encode(text).0.into_owned()
    }

    #[test]
    fn first_bytes_decide_how_a_file_is_read() {
        let polish = polish();
        for (head, encoding, want) in [
            (
                b"\xEF\xBB\xBFEmail\na@x.io\n".as_slice(),
                "windows-1252",
                Some(("UTF-8", false)),
            ),
            (b"Email\na@x.io\n", "windows-1252", Some(("windows-1252", false))),
            (b"Email\ra@x.io\r", "utf-8", Some(("UTF-8", true))),
            (b"Email\r\na@x.io\r\n", "utf-8", Some(("UTF-8", false))),
            (b"", "utf-8", Some(("UTF-8", false))),
            (b"", "auto", Some(("UTF-8", false))),
            // Labels are WHATWG's: latin1 is read as windows-1252, as browsers do.
            (b"Email\n", "latin1", Some(("windows-1252", false))),
            (b"Email\n", "cp1250", Some(("windows-1250", false))),
            ("Email,Name\nzoe@x.io,Zoë\n".as_bytes(), "auto", Some(("UTF-8", false))),
            (&polish, "auto", Some(("windows-1250", false))),
            (&polish, "windows-1252", Some(("windows-1252", false))),
            (
                b"\xEF\xBB\xBFEmail,Name\nzoe@x.io,Zo\xC3\xAB\n",
                "auto",
                Some(("UTF-8", false)),
            ),
            // binary noise with a NUL here and there is not UTF-16
            (
                b"8\xb4\xe6R\xe4M\xa7\xf27\r\x9e&\x0e'\x13e\x00P",
                "windows-1252",
                Some(("windows-1252", true)),
            ),
        ] {
            assert_eq!(sniffed(head, encoding), want, "{encoding}: {head:02x?}");
        }
    }

    #[test]
    fn a_utf8_character_cut_at_the_end_of_the_head_is_still_utf8() {
        let mut head = "Email,Name\n".repeat(HEAD / 11 + 1).into_bytes();
        head.truncate(HEAD - 1);
        head.push(0xC3); // the first byte of "ë"
        let s = sniff(&head, &csv_config("auto", ",", 0), "f").expect("sniffs");
        assert_eq!((s.encoding, s.guess), (UTF_8, None));
        // The whole file ending so is not UTF-8.
        assert!(!is_utf8(b"Zo\xC3", true));
    }

    #[test]
    fn a_likely_wrong_code_page_is_warned_of_with_an_example() {
        let polish = polish();
        let s = sniff(&polish, &csv_config("windows-1252", ",", 0), "pl.csv").expect("sniffs");
        assert_eq!(
            s.warning.as_deref(),
            Some(
                "pl.csv: read as csv.encoding = \"windows-1252\", but the text looks like windows-1250 \
                 (\"£ukasz\" would read \"Łukasz\"): if names look garbled, set csv.encoding = \"windows-1250\" (or \"auto\")"
            )
        );
        for (head, encoding) in [
            (polish.as_slice(), "windows-1250"),
            ("Email,Name\nzoe@x.io,Zoë\n".as_bytes(), "windows-1252"),
            (b"Email,Name\na@x.io,Ann\n", "windows-1252"),
        ] {
            let s = sniff(head, &csv_config(encoding, ",", 0), "f").expect("sniffs");
            assert_eq!(s.warning, None, "{encoding}");
        }
    }

    #[test]
    fn text_that_is_not_utf8_gets_the_detectors_guess() {
        let s = sniff(&polish(), &csv_config("utf-8", ",", 0), "f").expect("sniffs");
        assert_eq!((s.encoding, s.guess), (UTF_8, Some(encoding_rs::WINDOWS_1250)));
        let s = sniff(b"Email,Name\na@x.io,Ren\xE9e\n", &csv_config("utf-8", ",", 0), "f").expect("sniffs");
        assert_eq!(s.guess, Some(encoding_rs::WINDOWS_1252));
        let s = sniff(b"Email,Name\na@x.io,Ann\n", &csv_config("utf-8", ",", 0), "f").expect("sniffs");
        assert_eq!(s.guess, None);
    }

    #[test]
    fn the_header_line_tells_the_delimiter() {
        use Delimiter::*;
        for (lines, want) in [
            (b"Email,First name,Last name\na@x.io,A,B\n".as_slice(), Some(Comma)),
            (b"Email;First name;Last name\na@x.io;A;B\n", Some(Semicolon)),
            (b"Email\tFirst name\tLast name\n", Some(Tab)),
            (b"Email|First name|Last name\n", Some(Pipe)),
            // Commas inside the names of a `;` file: the header decides.
            (b"Email;Name;Team\na@x.io;Lee, Ann;Ops, EMEA\n", Some(Semicolon)),
            // A quoted `;` in a comma header is no separator.
            (b"\"Email\",\"Team; or teams\",Name\na@x.io,x,y\n", Some(Comma)),
            // As many fields either way: the one the rows agree with.
            (b"a,b;c\n1,2;3;4\n", Some(Comma)),
            (b"a;b,c\n1;2\n", Some(Semicolon)),
            (b"a;b,c\n1;2,3\n", Some(Comma)),
            (b"Email\na@x.io\n", None),
            (b"", None),
        ] {
            assert_eq!(delimiter_of(lines), want, "{}", String::from_utf8_lossy(lines));
        }
    }

    #[test]
    fn the_delimiter_is_the_configured_one_or_the_headers_past_skipped_lines() {
        let entra = b"version:v1.0\nName [displayName] Required;Email;Title\nA;a@x.io;T\n";
        for (delimiter, skip, want, looks_like) in [
            ("auto", 1, b';', None),
            // Without the skip the header would be `version:v1.0`: nothing to tell.
            ("auto", 0, b',', None),
            (",", 1, b',', Some(Delimiter::Semicolon)),
            (";", 1, b';', None),
            ("auto", 9, b',', None),
        ] {
            let s = sniff(entra, &csv_config("utf-8", delimiter, skip), "f").expect("sniffs");
            assert_eq!((s.delimiter, s.looks_like), (want, looks_like), "{delimiter} {skip}");
        }
        let cr = sniff(b"x\ra|b|c\r1|2|3\r", &csv_config("utf-8", "auto", 1), "f").expect("sniffs");
        assert_eq!((cr.delimiter, cr.cr_only), (b'|', true));
    }

    #[test]
    fn utf16_and_pgp_are_named() {
        let csv = csv_config("utf-8", ",", 0);
        for head in [
            [b"\xFF\xFE".as_slice(), &utf16le("Email\r\n")].concat(),
            utf16le("Email,First name\r\n"),
            "Email\n".encode_utf16().flat_map(u16::to_be_bytes).collect(),
        ] {
            assert!(
                matches!(sniff(&head, &csv, "f"), Err(IngestError::Utf16 { .. })),
                "{head:02x?}"
            );
        }
        for head in [
            b"-----BEGIN PGP MESSAGE-----\n\nhQ".as_slice(),
            &[0x85, 0x01, 0x8c, 0x03],
        ] {
            assert!(matches!(sniff(head, &csv, "f"), Err(IngestError::Encrypted { .. })));
        }
    }
}
