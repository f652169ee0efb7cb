//! Where the screens live, for links and redirects from any module.

/// Where a version's details screen lives.
pub fn version_path(runtime: &str, version: &str) -> String {
    use crate::audit::encode;
    format!("/runtimes/{}/versions/{}", encode(runtime), encode(version))
}
