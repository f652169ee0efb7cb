mod home;
mod not_found;
mod sign_in;

pub use home::Home;
pub use not_found::NotFound;
pub use sign_in::SignIn;
