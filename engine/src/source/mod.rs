//! Sources of the daily file. A `dir` source is a local folder; the newest
//! file matching the pattern is taken once it has settled.

mod dir;
mod pattern;

pub use dir::{DirSource, Pick};
pub use pattern::matches;
