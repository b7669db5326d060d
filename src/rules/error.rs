//! Errors found while loading and compiling rule files.
//!
//! Every error names `file:line:col` so an author can jump straight to it;
//! compilation collects all of them instead of stopping at the first.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What kind of problem a [`RuleError`] reports; tests and tools branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// TOML syntax, or a value of the wrong type.
    Syntax,
    /// A key the format does not know.
    UnknownKey,
    /// A rule names an indicator that no file declares.
    UnknownIndicator,
    /// An expression or include names a context group that no file declares.
    UnknownContext,
    /// A context group includes itself, directly or not.
    ContextCycle,
    /// Two rules, indicators or context groups share an id.
    DuplicateId,
    /// A `regex` that does not compile.
    InvalidRegex,
    /// `any = []`, a term that folds to nothing, or a table without operator.
    EmptyExpression,
    /// A `*` that is not at the end of a word.
    BadWildcard,
    /// A wildcard stem shorter than three characters.
    ShortStem,
    /// A value outside its allowed set (severity, mode, scope, numbers).
    BadValue,
}

/// One problem in one rule file, located by line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}:{col}: {message}", file.display())]
pub struct RuleError {
    /// Path of the file as it was given to the loader.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    /// What is wrong, lowercase, quoting the input.
    pub message: String,
    /// Category of the problem.
    pub kind: ErrorKind,
}

/// All problems found in a rule directory; displays one error per line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// One source file with its text, able to turn byte offsets into positions.
pub(crate) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// Converts a byte offset into a 1-based line and character column.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        // Step back to a char boundary so slicing cannot panic on odd spans.
        let offset = (0..=offset)
            .rev()
            .find(|&i| self.text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// Makes an error located at the start of `span`.
    pub fn error(&self, span: Range<usize>, kind: ErrorKind, message: String) -> RuleError {
        let (line, col) = self.line_col(span.start);
        RuleError {
            file: self.path.to_path_buf(),
            line,
            col,
            message,
            kind,
        }
    }
}
