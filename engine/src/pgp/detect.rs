//! Telling a PGP message from a plain CSV by its name and first bytes, so an
//! encrypted file is decrypted and a plain one read as it is.

/// The armor line that opens an ASCII-armored message.
pub(super) const ARMOR_HEADER: &[u8] = b"-----BEGIN PGP MESSAGE-----";

/// Packet tags that can open an OpenPGP message: PKESK, SKESK, compressed data, SEIPD.
const OPENING_TAGS: [u8; 4] = [1, 3, 8, 18];

/// True when the bytes look like a PGP message: an armor header
/// "-----BEGIN PGP MESSAGE-----" (after optional whitespace) or a binary
/// OpenPGP packet header whose tag is PKESK (1), SKESK (3), SEIPD (18) or
/// compressed (8) — or the file name ends in .pgp/.gpg/.asc.
///
/// A binary header is also checked against the version (or algorithm) octet
/// that opens the packet body, when `head` reaches it: a Windows-1252 CSV
/// whose first letter is "Á" (0xC1) has the bit pattern of a PKESK header.
pub fn looks_encrypted(file_name: &str, head: &[u8]) -> bool {
    let name = file_name.to_ascii_lowercase();
    if [".pgp", ".gpg", ".asc"].iter().any(|ext| name.ends_with(ext)) {
        return true;
    }
    head.trim_ascii_start().starts_with(ARMOR_HEADER) || opens_with_message_packet(head)
}

fn opens_with_message_packet(head: &[u8]) -> bool {
    let Some(&ctb) = head.first() else { return false };
    if ctb & 0x80 == 0 {
        return false;
    }
    // RFC 9580 §4.2: new format keeps the tag in the low six bits and the
    // length in the next octets; old format keeps the tag in bits 5-2 and the
    // size of the length field in bits 1-0.
    let (tag, length_octets) = if ctb & 0x40 != 0 {
        let length_octets = match head.get(1) {
            None => return OPENING_TAGS.contains(&(ctb & 0x3f)),
            Some(0..=191) | Some(224..=254) => 1,
            Some(192..=223) => 2,
            Some(255) => 5,
        };
        (ctb & 0x3f, length_octets)
    } else {
        let length_octets = match ctb & 0x03 {
            0 => 1,
            1 => 2,
            2 => 4,
            _ => 0,
        };
        ((ctb >> 2) & 0x0f, length_octets)
    };
    if !OPENING_TAGS.contains(&tag) {
        return false;
    }
    let Some(&first) = head.get(1 + length_octets) else {
        return true;
    };
    match tag {
        1 => matches!(first, 3 | 6), // PKESK version
        3 => matches!(first, 4..=6), // SKESK version
        8 => first <= 3,             // compression algorithm
        _ => matches!(first, 1 | 2), // SEIPD version
    }
}

#[cfg(test)]
mod tests {
    use super::looks_encrypted;

    #[test]
    fn by_name_and_content() {
        let cases: &[(&str, &[u8], bool)] = &[
            ("users.csv.pgp", b"a,b\n", true),
            ("USERS.GPG", b"", true),
            ("users.asc", b"", true),
            ("users.csv", b"-----BEGIN PGP MESSAGE-----\n\nhQ", true),
            ("users.csv", b"\r\n  -----BEGIN PGP MESSAGE-----\n", true),
            ("users.csv", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n", false),
            // gpg's usual opening: old-format PKESK, two-octet length, version 3.
            ("users.csv", &[0x85, 0x01, 0x8c, 0x03], true),
            // New-format PKESK, one-octet length, version 3.
            ("users.csv", &[0xc1, 0x5e, 0x03], true),
            // New-format SEIPD v1 and compressed ZLIB.
            ("users.csv", &[0xd2, 0x40, 0x01], true),
            ("users.csv", &[0xc8, 0x40, 0x02], true),
            ("users.csv", &[0xa3, 0x01], true),
            // Windows-1252 "Ábrego": the PKESK bit pattern, but no version 3 after it.
            ("users.csv", b"\xc1brego,Ana\n", false),
            // UTF-8 BOM.
            ("users.csv", b"\xef\xbb\xbfFirst name,Last name\n", false),
            ("users.csv", b"First name,Last name\n", false),
            ("users.csv", b"", false),
            // A secret key is not a message.
            ("users.csv", &[0x95, 0x01, 0xd8, 0x04], false),
        ];
        for (name, head, expected) in cases {
            assert_eq!(looks_encrypted(name, head), *expected, "{name} {head:02x?}");
        }
    }
}
