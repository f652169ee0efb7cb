mod audit;
mod home;
mod not_found;
mod releases;
mod runtime_settings;
mod runtimes;
mod sign_in;
mod users;
mod version;

pub use audit::Audit;
pub use home::Home;
pub use not_found::NotFound;
pub use releases::ReleasesPage;
pub use runtime_settings::RuntimeSettingsPage;
pub use runtimes::Runtimes;
pub use sign_in::SignIn;
pub use users::Users;
pub use version::VersionPage;
