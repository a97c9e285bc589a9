//! The shape of a sample export: its encoding, its delimiter, the lines
//! before its header, and its rows as text. Only `init --from` reads a file
//! this way (whole, in memory: a sample); `import` reads with the config.

use super::InitFromError;

/// Delimiters tried, in order of preference when two fit equally.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Lines looked at for the header: exports put at most a few lines of
/// preamble (Entra's `version:v1.0`) before it.
const MAX_PREAMBLE: usize = 10;

/// Records read from the sample: enough to see its values.
const MAX_SAMPLE_ROWS: usize = 5000;

/// How a sample is laid out, and what it holds.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// The WHATWG label of its encoding, lower case (`utf-8`, `windows-1250`).
    pub encoding: String,
    /// It is not UTF-8: the encoding was guessed from its bytes.
    pub encoding_guessed: bool,
    pub delimiter: u8,
    /// Lines before the header.
    pub skip_lines: usize,
    /// The first of them, for the comment.
    pub preamble: Option<String>,
    pub header: Vec<String>,
    /// Data rows (all-empty rows left out), each with its 1-based line.
    pub rows: Vec<(u64, Vec<String>)>,
    /// All-empty rows (`;;;;` under an Excel table).
    pub empty_rows: usize,
}

/// Reads the shape of `bytes`.
pub(crate) fn read(bytes: &[u8]) -> Result<Shape, InitFromError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") || crate::ingest::looks_utf16(bytes) {
        return Err(InitFromError::Utf16);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (text, encoding, encoding_guessed) = match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), "utf-8".to_owned(), false),
        Err(_) => {
            let found = crate::ingest::detect_encoding(bytes, true);
            let (text, _) = found.decode_without_bom_handling(bytes);
            (text.into_owned(), found.name().to_lowercase(), true)
        }
    };
    if text.trim().is_empty() {
        return Err(InitFromError::Empty);
    }
    let best = DELIMITERS
        .iter()
        .filter_map(|&d| layout(&text, d))
        .max_by_key(|l| (l.consistent, l.columns, std::cmp::Reverse(l.order)))
        .ok_or(InitFromError::NoHeader)?;
    let mut records = parse(&text, best.delimiter);
    let header_at = best.header_index;
    let header_line = records[header_at].0;
    let header: Vec<String> = records[header_at].1.iter().map(|h| h.trim().to_owned()).collect();
    let mut rows = Vec::new();
    let mut empty_rows = 0;
    for (line, fields) in records.drain(header_at + 1..) {
        if fields.iter().all(|f| f.trim().is_empty()) {
            empty_rows += 1;
        } else {
            rows.push((line, fields));
        }
    }
    let skip_lines = (header_line - 1) as usize;
    let preamble = (skip_lines > 0)
        .then(|| text.lines().next().map(|l| l.trim().to_owned()))
        .flatten();
    Ok(Shape {
        encoding,
        encoding_guessed,
        delimiter: best.delimiter,
        skip_lines,
        preamble,
        header,
        rows,
        empty_rows,
    })
}

/// How well one delimiter explains the sample.
struct Layout {
    delimiter: u8,
    order: usize,
    header_index: usize,
    columns: usize,
    /// Rows after the header with as many fields as it has (all-empty
    /// rows aside), in tenths of the rows.
    consistent: usize,
}

/// The header a delimiter finds: the first of the first lines with two or
/// more fields that most of the rows after it agree with.
fn layout(text: &str, delimiter: u8) -> Option<Layout> {
    let records = parse(text, delimiter);
    let order = DELIMITERS.iter().position(|&d| d == delimiter).unwrap_or(0);
    (0..records.len().min(MAX_PREAMBLE)).find_map(|i| {
        let columns = records[i].1.len();
        if columns < 2 || records[i].1.iter().all(|f| f.trim().is_empty()) {
            return None;
        }
        let rest: Vec<&(u64, Vec<String>)> = records[i + 1..]
            .iter()
            .filter(|(_, r)| !r.iter().all(|f| f.trim().is_empty()))
            .collect();
        let agree = rest.iter().filter(|(_, r)| r.len() == columns).count();
        let consistent = if rest.is_empty() { 10 } else { agree * 10 / rest.len() };
        (consistent >= 8).then_some(Layout {
            delimiter,
            order,
            header_index: i,
            columns,
            consistent,
        })
    })
}

/// The records of `text` under `delimiter`, each with its 1-based line.
fn parse(text: &str, delimiter: u8) -> Vec<(u64, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        // Lines end at `\n` only: csv's line numbers are off by one after
        // a `\r\n`. The `\r` left at the end of a last field is trimmed.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    while out.len() <= MAX_SAMPLE_ROWS {
        match reader.read_record(&mut record) {
            Ok(true) => {
                let line = record.position().map_or(1, |p| p.line());
                out.push((
                    line,
                    record.iter().map(|f| f.trim_end_matches('\r').to_owned()).collect(),
                ));
            }
            // The text is decoded already, so this is a malformed record:
            // a sample is read as far as it goes.
            Ok(false) | Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_delimiter_preamble_and_encoding() {
        let cases: [(&[u8], u8, usize, &str, usize); 5] = [
            (b"a,b,c\n1,2,3\n4,5,6\n", b',', 0, "utf-8", 2),
            (b"Name;Email;Team\nA, B;a@x.io;T\n;;\n", b';', 0, "utf-8", 1),
            (
                b"version:v1.0\nName [displayName] Required,User name\nA,a@x.io\n",
                b',',
                1,
                "utf-8",
                1,
            ),
            (b"version:v1.0\r\nName,User name\r\nA,a@x.io\r\n", b',', 1, "utf-8", 1),
            (b"First\tLast\tEmail\nA\tB\ta@x.io\n", b'\t', 0, "utf-8", 1),
        ];
        for (text, delimiter, skip, encoding, rows) in cases {
            let shape = read(text).expect("a shape");
            assert_eq!(
                (
                    shape.delimiter,
                    shape.skip_lines,
                    shape.encoding.as_str(),
                    shape.rows.len()
                ),
                (delimiter, skip, encoding, rows),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        let shape = read(b"Name;Email;Team\nA;a@x.io;T\n;;\n").expect("a shape");
        assert_eq!(shape.empty_rows, 1);
    }

    #[test]
    fn legacy_code_pages_are_detected() {
        // "Łukasz Wiśniewski" and friends in windows-1250, as Polish Excel saves it.
        let (bytes, _, _) =
            encoding_rs::WINDOWS_1250.encode("Imię;Nazwisko;Email\nŁukasz;Wiśniewski;l@x.pl\nGrażyna;Żółć;g@x.pl\nZdzisław;Kęsicki;z@x.pl\nMałgorzata;Ślązak;m@x.pl\n");
        let shape = read(&bytes).expect("a shape");
        assert_eq!(shape.encoding, "windows-1250");
        assert!(shape.encoding_guessed);
        assert_eq!(shape.rows[0].1[0], "Łukasz");
    }

    #[test]
    fn utf16_and_empty_files_are_refused() {
        let utf16: Vec<u8> = "Email,Name\r\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(matches!(read(&utf16), Err(InitFromError::Utf16)));
        assert!(matches!(read(b"  \n"), Err(InitFromError::Empty)));
        assert!(matches!(read(b"just one column\nx\n"), Err(InitFromError::NoHeader)));
    }
}
