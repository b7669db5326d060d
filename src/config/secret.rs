//! Secrets (API tokens, later webhook URLs) read from the environment or a
//! file at start-up. A [`Secret`] never shows its value in `Debug` or
//! `Display`, so it cannot leak into logs, errors or the API by accident.

use std::fmt;
use std::path::PathBuf;

/// Where a secret lives.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

/// A resolved secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read by config validation.
    pub(crate) fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"<redacted>\")")
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl SecretRef {
    /// Reads the secret. The error names the variable or file, never a value.
    pub fn resolve(&self) -> Result<Secret, String> {
        let value = match self {
            SecretRef::Env(name) => std::env::var(name)
                .map_err(|_| format!("environment variable {name:?} is not set"))?,
            SecretRef::File(path) => std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "cannot read secret file {:?}: {e}",
                    path.display().to_string()
                )
            })?,
        };
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(format!("secret from {self:?} is empty"));
        }
        Ok(Secret(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_file_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t\n").unwrap();
        let secret = SecretRef::File(path).resolve().unwrap();
        assert_eq!(secret.expose(), "s3cr3t");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        let missing = SecretRef::Env("TOCSIN_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert!(missing.contains("TOCSIN_TEST_SURELY_UNSET"));
    }
}
