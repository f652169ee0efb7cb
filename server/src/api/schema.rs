//! The pieces of the OpenAPI document that handlers name: the problem
//! answers each may give, and the lifecycle's names as schema enums.

use utoipa::ToResponse;

use super::problem::Problem;

macro_rules! problem_response {
    ($name:ident, $description:literal) => {
        // Only described, never built: the handlers answer `Problem`.
        #[allow(dead_code)]
        #[derive(ToResponse)]
        #[response(description = $description, content_type = "application/problem+json")]
        pub struct $name(#[to_schema] Problem);
    };
}

problem_response!(
    Unauthenticated,
    "No token, or one that is not valid (expired, revoked, unknown)"
);
problem_response!(
    Forbidden,
    "The token's scope or its owner's role does not allow it"
);
problem_response!(NotFound, "No such runtime or version");
problem_response!(
    Conflict,
    "Someone changed it first (type conflict, with `current`), or the lifecycle refuses (type refused)"
);
problem_response!(Invalid, "Input the server understood and refuses");
problem_response!(Malformed, "A body or query that does not decode");
problem_response!(TooLarge, "A body over the size the console accepts");
problem_response!(
    Throttled,
    "Too many failed attempts: wait Retry-After seconds"
);
problem_response!(
    Unavailable,
    "A dependency did not answer, or no cluster is configured"
);

/// A version's status, as the schema names them.
#[allow(dead_code)] // described, never built (the test builds each)
#[derive(utoipa::ToSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusName {
    Stopped,
    Starting,
    Started,
    Stopping,
    Published,
    Error,
}

/// An operator's action, as the schema names them.
#[allow(dead_code)] // described, never built (the test builds each)
#[derive(utoipa::ToSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionName {
    Start,
    Stop,
    Publish,
    Unpublish,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's names are the lifecycle's, all of them.
    #[test]
    fn the_described_names_are_the_lifecycles() {
        let names = |values: Vec<serde_json::Value>| -> Vec<String> {
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let statuses = [
            StatusName::Stopped,
            StatusName::Starting,
            StatusName::Started,
            StatusName::Stopping,
            StatusName::Published,
            StatusName::Error,
        ];
        let described = names(statuses.iter().map(|s| serde_json::json!(s)).collect());
        let lifecycle: Vec<String> = lifecycle::Status::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        assert_eq!(described, lifecycle);
        let actions = [
            ActionName::Start,
            ActionName::Stop,
            ActionName::Publish,
            ActionName::Unpublish,
        ];
        let described = names(actions.iter().map(|a| serde_json::json!(a)).collect());
        let lifecycle: Vec<String> = lifecycle::Action::ALL
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        assert_eq!(described, lifecycle);
    }
}
