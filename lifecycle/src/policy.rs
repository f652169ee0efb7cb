//! A runtime's change policy: which actions need approval before they are
//! carried out, how many approvals, who may give them, and how long a
//! request stays open; and the rules of a change request's life. Pure: the
//! server stores requests and decides with these.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Action, Role, problems::Errors};

pub const MAX_APPROVALS: u8 = 5;
/// A request stays open at most this long (30 days).
pub const MAX_OPEN_HOURS: u32 = 720;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangePolicy {
    /// The actions that need approval (a rollback is a publish).
    pub actions: BTreeSet<Action>,
    /// How many distinct people must approve, the requester never one.
    pub approvals: u8,
    /// The roles whose users may approve.
    pub approver_roles: BTreeSet<Role>,
    /// How long a request stays open before it expires.
    pub open_hours: u32,
}

impl Default for ChangePolicy {
    fn default() -> Self {
        Self {
            actions: BTreeSet::from([Action::Publish]),
            approvals: 1,
            approver_roles: BTreeSet::from([Role::Manager, Role::Admin]),
            open_hours: 24,
        }
    }
}

/// Why someone may not approve (or reject) a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotEligible {
    /// The requester: four eyes means another pair.
    OwnRequest,
    /// Their role is not one the policy names.
    Role(Role),
    /// They decided on this request already.
    AlreadyDecided,
}

impl std::fmt::Display for NotEligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OwnRequest => f.write_str("You cannot approve or reject your own request."),
            Self::Role(role) => write!(f, "The runtime's policy does not let a {role} approve."),
            Self::AlreadyDecided => f.write_str("You have already decided on this request."),
        }
    }
}

impl ChangePolicy {
    pub fn requires(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// Whether `who` (with `role`) may approve a request made by
    /// `requester`, given who has decided already.
    pub fn may_decide(
        &self,
        who: &str,
        role: Role,
        requester: &str,
        decided: &[&str],
    ) -> Result<(), NotEligible> {
        if who.eq_ignore_ascii_case(requester) {
            return Err(NotEligible::OwnRequest);
        }
        if !self.approver_roles.contains(&role) {
            return Err(NotEligible::Role(role));
        }
        if decided.iter().any(|d| d.eq_ignore_ascii_case(who)) {
            return Err(NotEligible::AlreadyDecided);
        }
        Ok(())
    }

    /// Every problem of the policy at `path`.
    pub(crate) fn validate(&self, path: &str, errors: &mut Errors) {
        if self.actions.is_empty() {
            errors.push(
                format!("{path}.actions"),
                "name at least one action, or turn the policy off",
            );
        }
        if !(1..=MAX_APPROVALS).contains(&self.approvals) {
            errors.push(
                format!("{path}.approvals"),
                format!("must be from 1 to {MAX_APPROVALS}"),
            );
        }
        if self.approver_roles.is_empty() {
            errors.push(format!("{path}.approver_roles"), "name at least one role");
        }
        if self.approver_roles.contains(&Role::Viewer) {
            errors.push(
                format!("{path}.approver_roles"),
                "viewers cannot operate versions, so they cannot approve",
            );
        }
        if !(1..=MAX_OPEN_HOURS).contains(&self.open_hours) {
            errors.push(
                format!("{path}.open_hours"),
                format!("must be from 1 to {MAX_OPEN_HOURS} hours"),
            );
        }
    }
}

text_enum! {
    /// Where a change request is in its life.
    RequestState {
        /// Waiting for approvals.
        Open => "open",
        /// The quorum is reached; the action is being carried out.
        Approved => "approved",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
        Expired => "expired",
        /// Approved, but the action could not be carried out (the version
        /// moved on meanwhile): the conflict is named.
        Failed => "failed",
        /// Approved and carried out.
        Done => "done",
    }
}

impl RequestState {
    /// Whether nothing more can happen to it.
    pub fn is_closed(self) -> bool {
        !matches!(self, Self::Open | Self::Approved)
    }
}

text_enum! {
    /// Where a scheduled action is in its life.
    ScheduleState {
        /// Waiting for its instant.
        Pending => "pending",
        /// Carried out, once.
        Done => "done",
        /// Refused when its instant came (the reason is kept).
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_eyes_refuse_the_requester_other_roles_and_a_second_vote() {
        let policy = ChangePolicy::default();
        let requester = "a@example.com";
        assert_eq!(
            policy.may_decide("A@example.com", Role::Admin, requester, &[]),
            Err(NotEligible::OwnRequest)
        );
        assert_eq!(
            policy.may_decide("b@example.com", Role::Viewer, requester, &[]),
            Err(NotEligible::Role(Role::Viewer))
        );
        assert_eq!(
            policy.may_decide(
                "b@example.com",
                Role::Manager,
                requester,
                &["b@example.com"]
            ),
            Err(NotEligible::AlreadyDecided)
        );
        assert_eq!(
            policy.may_decide(
                "b@example.com",
                Role::Manager,
                requester,
                &["c@example.com"]
            ),
            Ok(())
        );
        let admins_only = ChangePolicy {
            approver_roles: BTreeSet::from([Role::Admin]),
            ..ChangePolicy::default()
        };
        assert!(
            admins_only
                .may_decide("b@example.com", Role::Manager, requester, &[])
                .is_err()
        );
    }

    #[test]
    fn a_policy_outside_its_bounds_is_refused_field_by_field() {
        let mut errors = Errors::default();
        ChangePolicy {
            actions: BTreeSet::new(),
            approvals: 6,
            approver_roles: BTreeSet::from([Role::Viewer]),
            open_hours: 0,
        }
        .validate("change_policy", &mut errors);
        let paths: Vec<String> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "change_policy.actions",
                "change_policy.approvals",
                "change_policy.approver_roles",
                "change_policy.open_hours"
            ]
        );
        let mut fine = Errors::default();
        ChangePolicy::default().validate("change_policy", &mut fine);
        assert!(fine.finish().is_ok());
        assert!(ChangePolicy::default().requires(Action::Publish));
        assert!(!ChangePolicy::default().requires(Action::Start));
    }
}
