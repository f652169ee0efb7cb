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
        RoutingSwitched => "runtime.routing_switched",
        RoutingCorrected => "runtime.routing_corrected",
        RuntimeCreate => "runtime.create",
        RuntimeUpdate => "runtime.update",
        RuntimeDelete => "runtime.delete",
        MarkBad => "version.mark_bad",
        ClearBad => "version.clear_bad",
        ChangeRequest => "change.request",
        ChangeApprove => "change.approve",
        ChangeReject => "change.reject",
        ChangeWithdraw => "change.withdraw",
        ChangeExpire => "change.expire",
        Schedule => "schedule.create",
        ScheduleCancel => "schedule.cancel",
        Configure => "version.configure",
        SecretsRotate => "secrets.rotate",
        TokenCreate => "token.create",
        TokenRevoke => "token.revoke",
        WebhookCreate => "webhook.create",
        WebhookDelete => "webhook.delete",
        WebhookResend => "webhook.resend",
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

impl AuditAction {
    /// In words, for people; `status_after` completes a system transition
    /// ("System: started"). The code (`as_str`) stays the stable name.
    pub fn describe(self, status_after: Option<&str>) -> String {
        let words = match self {
            Self::Start => "Start",
            Self::Stop => "Stop",
            Self::Publish => "Publish",
            Self::Unpublish => "Unpublish",
            Self::SystemTransition => {
                return match status_after {
                    Some(status) => format!("System: {status}"),
                    None => "System transition".to_owned(),
                };
            }
            Self::Register => "Register",
            Self::Login => "Sign-in",
            Self::LoginFailed => "Failed sign-in",
            Self::Logout => "Sign-out",
            Self::UserCreate => "User created",
            Self::UserRoleChange => "Role changed",
            Self::UserDisable => "User disabled",
            Self::UserEnable => "User enabled",
            Self::UserRevokeSessions => "Sessions revoked",
            Self::UserPasswordReset => "Password reset",
            Self::Retention => "Audit retention",
            Self::RoutingSwitched => "System: traffic switched",
            Self::RoutingCorrected => "System: Ingress corrected",
            Self::RuntimeCreate => "Runtime created",
            Self::RuntimeUpdate => "Runtime settings changed",
            Self::RuntimeDelete => "Runtime deleted",
            Self::MarkBad => "Marked bad",
            Self::ClearBad => "Bad mark cleared",
            Self::ChangeRequest => "Change requested",
            Self::ChangeApprove => "Change approved",
            Self::ChangeReject => "Change rejected",
            Self::ChangeWithdraw => "Change withdrawn",
            Self::ChangeExpire => "Change request expired",
            Self::Schedule => "Action scheduled",
            Self::ScheduleCancel => "Scheduled action cancelled",
            Self::Configure => "Configuration changed",
            Self::SecretsRotate => "Secret key rotated",
            Self::TokenCreate => "API token created",
            Self::TokenRevoke => "API token revoked",
            Self::WebhookCreate => "Webhook added",
            Self::WebhookDelete => "Webhook removed",
            Self::WebhookResend => "Webhook delivery sent again",
        };
        words.to_owned()
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
        assert_eq!(
            AuditAction::SystemTransition.describe(Some("started")),
            "System: started"
        );
        assert_eq!(AuditAction::Publish.describe(None), "Publish");
    }
}
