//! The vocabulary of the audit log, shared by the server that writes it and
//! the `/audit` page that filters it.

text_enum! {
    /// What an entry records. Stored as its text form.
    AuditAction {
        Start => "version.start",
        Stop => "version.stop",
        Publish => "version.publish",
        Unpublish => "version.unpublish",
        SystemTransition => "version.system_transition",
        Register => "version.register",
        Login => "auth.login",
        LoginFailed => "auth.login_failed",
        Logout => "auth.logout",
        UserCreate => "user.create",
        UserRoleChange => "user.role_change",
        UserDisable => "user.disable",
        UserEnable => "user.enable",
        UserRevokeSessions => "user.revoke_sessions",
        UserPasswordReset => "user.password_reset",
        Retention => "audit.retention",
    }
}

text_enum! {
    /// How the recorded attempt ended.
    Outcome {
        Accepted => "accepted",
        Denied => "denied",
        Failed => "failed",
        Completed => "completed",
    }
}

impl From<crate::Action> for AuditAction {
    fn from(action: crate::Action) -> Self {
        match action {
            crate::Action::Start => Self::Start,
            crate::Action::Stop => Self::Stop,
            crate::Action::Publish => Self::Publish,
            crate::Action::Unpublish => Self::Unpublish,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            assert!(seen.insert(action.as_str()), "duplicate {action}");
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
        }
        for outcome in Outcome::ALL {
            assert_eq!(outcome.as_str().parse::<Outcome>(), Ok(outcome));
        }
        assert!("version.delete".parse::<AuditAction>().is_err());
    }
}
