//! API tokens' rules: what a token's scope lets it do (never more than its
//! owner's role allows now), its name and how long it may live. The store is
//! the server's; these are shared with the pages that create tokens.

use crate::Role;

text_enum! {
    /// How far a token reaches, at most: the owner's role caps it on every
    /// request, so a demotion narrows the token at once.
    TokenScope {
        Read => "read",
        Operate => "operate",
        Admin => "admin",
    }
}

/// The longest a token may live.
pub const MAX_TOKEN_DAYS: u32 = 365;
pub const MAX_TOKEN_NAME_CHARS: usize = 64;
/// Every token starts with this, so that secret scanners (and people) can
/// tell one from any other string.
pub const TOKEN_PREFIX: &str = "cst_";

impl TokenScope {
    /// The role whose permissions the scope grants.
    pub fn role(self) -> Role {
        match self {
            Self::Read => Role::Viewer,
            Self::Operate => Role::Manager,
            Self::Admin => Role::Admin,
        }
    }

    /// What a call with this token may do when its owner has `owner` now.
    pub fn effective(self, owner: Role) -> Role {
        self.role().min(owner)
    }

    /// The widest scope a user of `role` may create.
    pub fn widest_for(role: Role) -> Self {
        match role {
            Role::Viewer => Self::Read,
            Role::Manager => Self::Operate,
            Role::Admin => Self::Admin,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "Read",
            Self::Operate => "Operate",
            Self::Admin => "Admin",
        }
    }
}

/// A token's name, trimmed: required, at most 64 characters, no control
/// characters.
pub fn token_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Name: give the token a name.".to_owned());
    }
    if name.chars().count() > MAX_TOKEN_NAME_CHARS {
        return Err(format!("Name: at most {MAX_TOKEN_NAME_CHARS} characters."));
    }
    if name.chars().any(char::is_control) {
        return Err("Name: no control characters.".to_owned());
    }
    Ok(name.to_owned())
}

/// The lifetime in days asked for: required, 1 to 365.
pub fn token_days(days: &str) -> Result<u32, String> {
    match days.trim().parse::<u32>() {
        Ok(days) if (1..=MAX_TOKEN_DAYS).contains(&days) => Ok(days),
        _ => Err(format!(
            "Expires in: a number of days from 1 to {MAX_TOKEN_DAYS}."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_role_caps_the_scope() {
        assert_eq!(TokenScope::Admin.effective(Role::Manager), Role::Manager);
        assert_eq!(TokenScope::Admin.effective(Role::Viewer), Role::Viewer);
        assert_eq!(TokenScope::Read.effective(Role::Admin), Role::Viewer);
        assert_eq!(TokenScope::Operate.effective(Role::Admin), Role::Manager);
        assert_eq!(TokenScope::widest_for(Role::Manager), TokenScope::Operate);
    }

    #[test]
    fn names_and_lifetimes_are_checked() {
        assert_eq!(token_name("  ci  ").as_deref(), Ok("ci"));
        assert!(token_name(" ").is_err());
        assert!(token_name(&"x".repeat(65)).is_err());
        assert!(token_name("a\u{7}b").is_err());
        assert_eq!(token_days("365"), Ok(365));
        assert!(token_days("0").is_err());
        assert!(token_days("366").is_err());
        assert!(token_days("soon").is_err());
    }
}
