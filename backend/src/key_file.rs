//! Key files the console makes itself (the demo's audit signing key, the
//! secret key): written whole under another name, readable by their owner
//! only, then moved into place, so that a server killed mid-write, or two
//! starting at once, never leave half a key behind.

use std::path::{Path, PathBuf};

fn staged_beside(path: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    std::fs::create_dir_all(&dir)?;
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| std::io::Error::other(e.to_string()))?;
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let staged = dir.join(format!(".key-{tag}"));
    Ok((dir, staged))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, format!("{text}\n").as_bytes())?;
    file.sync_all()
}

/// Creates `path` holding `text` unless it exists. `Ok(false)`: someone
/// else made it first (read theirs).
pub fn create(path: &Path, text: &str) -> std::io::Result<bool> {
    let (_, staged) = staged_beside(path)?;
    let linked = write_private(&staged, text).and_then(|()| std::fs::hard_link(&staged, path));
    let _ = std::fs::remove_file(&staged);
    match linked {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    }
}

/// Writes `text` to `path`, replacing what is there in one rename.
pub fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let (_, staged) = staged_beside(path)?;
    let written = write_private(&staged, text).and_then(|()| std::fs::rename(&staged, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written
}
