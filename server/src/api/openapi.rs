//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, generated
//! from the handlers' annotations and the answer types, so it describes
//! what the code does.

use axum::Json;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    audit, changes,
    problem::Problem,
    runtimes,
    schema::{
        Conflict, Forbidden, Invalid, Malformed, NotFound, Throttled, TooLarge, Unauthenticated,
        Unavailable,
    },
    tokens, versions, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Runtime console API",
        version = "1",
        description = "Runtimes, versions and their lifecycle actions, node logs, releases, change requests, webhooks and the audit log. \
            Authenticate with `Authorization: Bearer <token>` (a token made on /profile). \
            Errors are RFC 9457 problem details."
    ),
    paths(
        runtimes::list,
        versions::list,
        versions::get,
        versions::register,
        versions::act,
        versions::logs,
        audit::list,
        audit::export,
        changes::releases,
        changes::approvals,
        changes::decide,
        webhooks::list,
        webhooks::create,
        webhooks::delete,
        webhooks::deliveries,
        webhooks::resend,
        tokens::mine,
    ),
    components(
        schemas(Problem),
        responses(Unauthenticated, Forbidden, NotFound, Conflict, Invalid, Malformed, TooLarge, Throttled, Unavailable)
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token: cst_..."))
                    .build(),
            ),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
