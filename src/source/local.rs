//! Local sources: one feed file, or a spool directory of feed files, for
//! air-gapped use and demos. A file's size and modification time stand in
//! for HTTP validators, so an unchanged spool costs one `stat` per file.

use super::fetch::Validators;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The files to read for a local source, and a validator for them all.
pub struct Snapshot {
    pub files: Vec<PathBuf>,
    pub validator: String,
}

/// Lists a file or directory (not recursive; hidden and partial files such
/// as `.tmp` writes-in-progress are skipped) with a combined validator.
pub fn snapshot(path: &Path, is_dir: bool) -> std::io::Result<Snapshot> {
    let mut files = if is_dir {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") {
                continue;
            }
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        files
    } else {
        vec![path.to_owned()]
    };
    files.sort();
    let mut validator = String::new();
    for file in &files {
        let meta = std::fs::metadata(file)?;
        let mtime = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        validator.push_str(&format!("{}:{}:{};", file.display(), meta.len(), mtime));
    }
    Ok(Snapshot { files, validator })
}

/// True when the snapshot is the same as the one recorded last time.
pub fn unchanged(snapshot: &Snapshot, previous: &Validators) -> bool {
    previous.etag.as_deref() == Some(snapshot.validator.as_str())
}
