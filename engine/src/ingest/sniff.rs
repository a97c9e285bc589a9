//! What a file's first bytes say before any of it is parsed: a byte-order
//! mark, a file that is not CSV text at all (UTF-16, a PGP message), and
//! old-Mac line ends (CR only).

use super::IngestError;
use crate::config::Encoding;

/// Bytes looked at before parsing: enough to hold a header line.
pub(super) const HEAD: usize = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How to read a file, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sniffed {
    /// The encoding to decode it with: a UTF-8 byte-order mark means UTF-8,
    /// whatever `csv.encoding` says.
    pub encoding: Encoding,
    /// Lines end in CR alone (old Mac exports): read each CR as a line end.
    pub cr_only: bool,
}

/// Looks at `head` (the first [`HEAD`] bytes of `file`, or all of it):
/// refuses what is not CSV text, and says how to read the rest.
pub(super) fn sniff(head: &[u8], configured: Encoding, file: &str) -> Result<Sniffed, IngestError> {
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") || looks_utf16(head) {
        return Err(IngestError::Utf16 { file: file.to_owned() });
    }
    // The content, not the name: `import` is given what it is given.
    if crate::pgp::looks_encrypted("", head) {
        return Err(IngestError::Encrypted { file: file.to_owned() });
    }
    let encoding = if head.starts_with(UTF8_BOM) {
        Encoding::Utf8
    } else {
        configured
    };
    let cr_only = head.contains(&b'\r') && !head.contains(&b'\n');
    Ok(Sniffed { encoding, cr_only })
}

/// UTF-16 without a byte-order mark: CSV text is mostly ASCII, so every
/// other byte is NUL.
fn looks_utf16(head: &[u8]) -> bool {
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

    #[test]
    fn first_bytes_decide_how_a_file_is_read() {
        let w = Encoding::Windows1252;
        let ok = |encoding, cr_only| Some(Sniffed { encoding, cr_only });
        assert_eq!(
            sniff(b"\xEF\xBB\xBFEmail\na@x.io\n", w, "f").ok(),
            ok(Encoding::Utf8, false)
        );
        assert_eq!(sniff(b"Email\na@x.io\n", w, "f").ok(), ok(w, false));
        assert_eq!(
            sniff(b"Email\ra@x.io\r", Encoding::Utf8, "f").ok(),
            ok(Encoding::Utf8, true)
        );
        assert_eq!(
            sniff(b"Email\r\na@x.io\r\n", Encoding::Utf8, "f").ok(),
            ok(Encoding::Utf8, false)
        );
        assert_eq!(sniff(b"", Encoding::Utf8, "f").ok(), ok(Encoding::Utf8, false));
        // binary noise with a NUL here and there is not UTF-16
        assert_eq!(
            sniff(b"8\xb4\xe6R\xe4M\xa7\xf27\r\x9e&\x0e'\x13e\x00P", w, "f").ok(),
            ok(w, true)
        );
    }

    #[test]
    fn utf16_and_pgp_are_named() {
        for head in [
            [b"\xFF\xFE".as_slice(), &utf16le("Email\r\n")].concat(),
            utf16le("Email,First name\r\n"),
            "Email\n".encode_utf16().flat_map(u16::to_be_bytes).collect(),
        ] {
            assert!(
                matches!(sniff(&head, Encoding::Utf8, "f"), Err(IngestError::Utf16 { .. })),
                "{head:02x?}"
            );
        }
        for head in [
            b"-----BEGIN PGP MESSAGE-----\n\nhQ".as_slice(),
            &[0x85, 0x01, 0x8c, 0x03],
        ] {
            assert!(matches!(
                sniff(head, Encoding::Utf8, "f"),
                Err(IngestError::Encrypted { .. })
            ));
        }
    }
}
