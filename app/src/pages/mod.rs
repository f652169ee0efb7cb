mod home;
mod not_found;
mod sign_in;
mod users;

pub use home::Home;
pub use not_found::NotFound;
pub use sign_in::SignIn;
pub use users::Users;
