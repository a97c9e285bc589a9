//! PGP decryption of the daily file (being written).
