//! How a change request waiting for approval reads, on the approvals page
//! and on its version's screen.

use super::status::short_time;
use crate::approvals::RequestView;

/// "start v1: waiting for 1 approval, requested by X at T, expires at T'."
pub fn waiting(request: &RequestView) -> String {
    let missing = usize::from(request.approvals_needed).saturating_sub(request.approvals);
    format!(
        "{} {}: waiting for {missing} approval{}, requested by {} at {}, expires at {}.",
        request.action,
        request.version,
        if missing == 1 { "" } else { "s" },
        request.requested_by,
        short_time(&request.requested_at),
        short_time(&request.expires_at),
    )
}
