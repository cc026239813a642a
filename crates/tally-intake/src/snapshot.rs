//! The `snapshot` importer (being written).

use crate::{FormatError, Options, Record};

/// Translates one input.
///
/// # Errors
/// Always, for now: the importer is not written yet.
pub fn translate(_bytes: &[u8], _options: &Options) -> Result<Vec<Record>, FormatError> {
    Err(FormatError::Invalid("this format is not implemented yet".to_owned()))
}
