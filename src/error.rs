//! The top-level error: one variant per failure class, each with an exit code and a next step.
//!
//! Module errors carry the detail; this type decides how the process ends. Messages are
//! lowercase, never repeat their source, and [`Error::hint`] names the command to try next.

use std::process::ExitCode;

/// Exit codes of the CLI contract (DESIGN.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Any failure that is not one of the classes below.
    Failure = 1,
    /// The user asked for something invalid (unknown phase, bad `--set`, malformed file).
    Usage = 2,
    /// Something the command needs is missing (cluster unreachable, kubeconfig, dependency phase).
    Prerequisite = 3,
    /// A checkpoint ran and failed.
    Checkpoint = 4,
    /// A wait ran out of time.
    Timeout = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A failure the CLI reports to the user.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// What happened, one line, lowercase.
    pub message: String,
    /// Which exit code this failure maps to.
    pub exit: Exit,
    /// The next command or action that fixes it.
    pub hint: Option<String>,
    /// The underlying cause, printed as a numbered chain.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// A new error of class `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Error { message: message.into(), exit, hint: None, source: None }
    }

    /// Invalid input from the user.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// A missing prerequisite.
    pub fn prerequisite(message: impl Into<String>) -> Self {
        Self::new(Exit::Prerequisite, message)
    }

    /// A generic failure.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }

    /// Attach the next step to take.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Attach the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The next step, if one is known.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The whole report: message, numbered causes, hint.
    pub fn report(&self) -> String {
        let mut out = format!("error: {}", self.message);
        let mut cause = std::error::Error::source(self);
        let mut n = 1;
        while let Some(c) = cause {
            // kube's Display of an API status repeats the message and dumps the struct; the
            // server's message, code and reason say it all, and nothing useful lies below.
            if let Some(k) = c.downcast_ref::<kube::Error>() {
                out.push_str(&format!("\n  {n}: {}", error_text(k)));
                break;
            }
            out.push_str(&format!("\n  {n}: {c}"));
            cause = c.source();
            n += 1;
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("\nhint: {h}"));
        }
        out
    }
}

/// The innermost cause of an error, which is usually the one a user can act on.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The server's own message when there is one: it names the offending field.
pub fn error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} (HTTP {} {})", status.message, status.code, status.reason).replace(" )", ")"),
        other => root_cause(other),
    }
}

/// Result alias used by the command layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_numbers_causes_and_ends_with_hint() {
        let io = std::io::Error::other("connection refused");
        let e = Error::prerequisite("cannot reach the cluster").with_source(io).with_hint("bigtop-k8s doctor");
        assert_eq!(e.report(), "error: cannot reach the cluster\n  1: connection refused\nhint: bigtop-k8s doctor");
        assert_eq!(e.exit, Exit::Prerequisite);
    }
}
