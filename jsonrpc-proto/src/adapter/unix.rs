//! What both adapters' Unix domain socket listeners share, with no socket of its own: deciding
//! whether a socket file left at the path may be replaced (the adapter probes it with a
//! connect), setting the file's permissions, and removing it when the server stops
//! ([`UnixSocketFile`]).
//!
//! The sequence an adapter follows in `start`: [`socket_file_present`]; when true, connect to
//! the path and hand the outcome to [`clear_stale`]; bind; [`UnixSocketFile::bound`].

use std::io;
use std::path::{Path, PathBuf};

/// Why a Unix socket path cannot be listened on (a `StartError` once the adapter returns it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnixError {
    /// A live server accepted a connection on the socket file.
    #[error("cannot listen on {}: another server is listening on it", .0.display())]
    InUse(PathBuf),
    /// The path could not be inspected, cleared, bound or given its permissions.
    #[error("cannot listen on {}: {source}", .path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The error of a failed `bind` (or other IO) at `path`.
pub fn bind_error(path: &Path, source: io::Error) -> UnixError {
    UnixError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(unix)]
fn is_socket(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_socket()
}

#[cfg(not(unix))]
fn is_socket(_meta: &std::fs::Metadata) -> bool {
    false
}

/// True when a socket file exists at `path` (the adapter must then probe it and call
/// [`clear_stale`]); false when nothing is there. Anything else at `path` (a regular file, a
/// directory) is an error: it is never removed.
pub fn socket_file_present(path: &Path) -> Result<bool, UnixError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if is_socket(&meta) => Ok(true),
        Ok(_) => Err(bind_error(
            path,
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the path exists and is not a socket; remove it or choose another path",
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(bind_error(path, e)),
    }
}

/// Decides from the outcome of connecting to the socket file at `path`: refused means the
/// server that made it is gone, so the file is removed; accepted means a live server owns it
/// ([`UnixError::InUse`]); any other error is returned as a bind error.
pub fn clear_stale(path: &Path, probe: io::Result<()>) -> Result<(), UnixError> {
    match probe {
        Ok(()) => Err(UnixError::InUse(path.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "replacing a stale Unix socket file");
            match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(bind_error(path, e)),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(bind_error(path, e)),
    }
}

/// The socket file of a bound Unix listener: removed when this is dropped (when the server
/// stops), unless another server has replaced it since.
#[derive(Debug)]
pub struct UnixSocketFile {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

impl UnixSocketFile {
    /// Takes charge of the socket file just bound at `path`, giving it the permission bits
    /// `mode` when set (e.g. `0o660`).
    pub fn bound(path: &Path, mode: Option<u32>) -> Result<Self, UnixError> {
        let file = UnixSocketFile {
            path: path.to_owned(),
            id: file_id(path),
        };
        if let Some(mode) = mode {
            set_mode(path, mode).map_err(|e| bind_error(path, e))?;
        }
        Ok(file)
    }

    /// The path of a socket file someone else bound (a listener handed in): reported, never
    /// removed.
    pub fn not_owned(path: &Path) -> Self {
        UnixSocketFile {
            path: path.to_owned(),
            id: None,
        }
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "socket permissions are a Unix feature",
    ))
}

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        if self.id.is_some() && file_id(&self.path) == self.id {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::debug!(path = %self.path.display(), "cannot remove the socket file: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("jsonrpc-unix-{}-{name}", std::process::id()))
    }

    #[test]
    fn nothing_there_is_free() {
        let p = temp("free");
        let _ = std::fs::remove_file(&p);
        assert!(!socket_file_present(&p).unwrap());
    }

    #[test]
    fn a_regular_file_is_never_removed() {
        let p = temp("regular");
        std::fs::write(&p, b"keep me").unwrap();
        assert!(matches!(socket_file_present(&p), Err(UnixError::Io { .. })));
        assert_eq!(std::fs::read(&p).unwrap(), b"keep me");
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_live_socket_is_in_use() {
        let p = temp("live");
        let e = clear_stale(&p, Ok(())).unwrap_err();
        assert!(matches!(e, UnixError::InUse(_)), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_socket_is_removed_and_a_bound_one_cleaned_up() {
        let p = temp("stale");
        let _ = std::fs::remove_file(&p);
        let l = std::os::unix::net::UnixListener::bind(&p).unwrap();
        drop(l); // the file stays: a dead server's leftover
        assert!(socket_file_present(&p).unwrap());
        let probe = std::os::unix::net::UnixStream::connect(&p).map(drop);
        clear_stale(&p, probe).unwrap();
        assert!(!p.exists());
        let _l = std::os::unix::net::UnixListener::bind(&p).unwrap();
        let file = UnixSocketFile::bound(&p, Some(0o600)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(file);
        assert!(!p.exists());
    }
}
