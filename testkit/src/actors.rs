//! Who acts in backend tests, as the audit log records them.

use backend::audit::Actor;

pub fn user(id: i64, email: &str, role: &str) -> Actor {
    Actor::User {
        id: Some(id),
        email: email.into(),
        role: role.into(),
    }
}

/// The demo users, with the ids demo seeding gives them.
pub fn admin() -> Actor {
    user(1, "admin@example.com", "admin")
}

pub fn manager() -> Actor {
    user(2, "manager@example.com", "manager")
}

pub fn viewer() -> Actor {
    user(3, "viewer@example.com", "viewer")
}
