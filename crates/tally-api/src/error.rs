//! API errors: each becomes a GraphQL error with a stable `code` extension. Internal details
//! are logged with `tracing` and replaced by a generic message.

use async_graphql::ErrorExtensions as _;

/// Codes the API itself emits (domain rejection codes pass through as they are).
pub mod code {
    /// No token, or a token that matches no configured one.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The caller's role may not use the field.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// Malformed GraphQL, wrong types, a bad argument or a command that does not parse.
    pub const INVALID_INPUT: &str = "INVALID_INPUT";
    /// A query over the depth or complexity limit, or a per-connection limit.
    pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
    /// The thing asked for does not exist.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The idempotency key was used for a different command.
    pub const IDEMPOTENCY_CONFLICT: &str = "IDEMPOTENCY_CONFLICT";
    /// The engine cannot take commands (closed, shutting down, or stopped by a failure).
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    /// The store could not make a command's events durable (a full disk, an I/O error):
    /// nothing was acknowledged, and the engine takes no more commands until restarted.
    pub const STORAGE_FAILED: &str = "STORAGE_FAILED";
    /// An operation of that kind (`startOperation`) is already running; its id is in the
    /// message.
    pub const OPERATION_RUNNING: &str = "OPERATION_RUNNING";
    /// Anything else; the details are in the server log only.
    pub const INTERNAL: &str = "INTERNAL";
}

/// An error answered to a client. It has no `Display` on purpose: async-graphql converts any
/// `Display` type into an error without a code, so this one must go through the `From` below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The stable code.
    pub code: &'static str,
    /// A message safe to show.
    pub message: String,
}

impl ApiError {
    /// An error with a code and a client-safe message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_INPUT, message)
    }

    /// Not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(code::NOT_FOUND, message)
    }

    /// Logs `detail` and answers a generic internal error.
    pub fn internal(context: &str, detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(context, %detail, "internal error");
        Self::new(code::INTERNAL, format!("internal error ({context})"))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let code = e.code;
        async_graphql::Error::new(e.message).extend_with(|_, ext| ext.set("code", code))
    }
}

impl From<tally_engine::SubmitError> for ApiError {
    fn from(e: tally_engine::SubmitError) -> Self {
        use tally_engine::SubmitError;
        match &e {
            SubmitError::Unavailable(reason) => {
                tracing::warn!(%reason, "engine unavailable");
                Self::new(code::UNAVAILABLE, "the engine is not taking commands")
            }
            SubmitError::StorageFailed(reason) => {
                tracing::error!(%reason, "storage failed");
                Self::new(
                    code::STORAGE_FAILED,
                    "the store could not persist the command (storage failure); nothing was \
                     acknowledged, and no commands are taken until the server is restarted",
                )
            }
            // Rejections, idempotency conflicts and invalid envelopes are the caller's business.
            _ => Self::new(e.code(), e.to_string()),
        }
    }
}

/// Maps a log error: caller mistakes (a seq or size past the head) are `INVALID_INPUT`,
/// everything else is logged and answered as `INTERNAL`.
pub fn log_error(context: &str, e: &tally_log::Error) -> ApiError {
    match e {
        tally_log::Error::Invalid(message) => ApiError::invalid(message.clone()),
        tally_log::Error::Closed | tally_log::Error::Poisoned(_) => {
            tracing::warn!(context, error = %e, "log unavailable");
            ApiError::new(code::UNAVAILABLE, "the log is not available")
        }
        _ => ApiError::internal(context, e),
    }
}

/// `Result` with [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;
