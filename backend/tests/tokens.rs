//! The API token store on SQLite and PostgreSQL: made, found by its secret
//! with the owner's role capping its scope, last use written, revoked, and
//! the same refusal for every token not in force.

use backend::{
    auth::Throttle,
    tokens::{self, Refused, TokenError},
    users,
};
use lifecycle::{Reason, Role, TokenScope};
use testkit::{actors, db::databases};

#[tokio::test]
async fn tokens_are_made_found_narrowed_and_revoked_on_both_databases() {
    for (name, t) in databases().await {
        let reason = Reason::parse("token store test").expect("reason");
        let owner = users::create(
            &t.db,
            &actors::user(1, "root@example.com", "admin"),
            "ci@example.com",
            Role::Manager,
            "long enough password",
            &reason,
        )
        .await
        .expect("owner");
        let actor = actors::user(owner.id, "ci@example.com", "manager");
        let too_wide = tokens::create(
            &t.db,
            &actor,
            owner.id,
            Role::Manager,
            "x",
            TokenScope::Admin,
            7,
        )
        .await;
        assert!(
            matches!(too_wide, Err(TokenError::TooWide { .. })),
            "{name}"
        );

        let made = tokens::create(
            &t.db,
            &actor,
            owner.id,
            Role::Manager,
            "deploys",
            TokenScope::Operate,
            7,
        )
        .await
        .expect("made");
        assert_eq!(
            made.info.state(&backend::audit::now_timestamp()),
            "active",
            "{name}"
        );
        assert!(made.info.expires_at > made.info.created_at, "{name}");
        let throttle = Throttle;
        let client = Some("192.0.2.7".parse().expect("ip"));
        let bearer = tokens::authenticate(&t.db, &throttle, &made.token, client)
            .await
            .expect("in force");
        assert_eq!(bearer.role, Role::Manager, "{name}");
        assert_eq!(bearer.token.name, "deploys", "{name}");
        let listed = tokens::list(&t.db, Some(owner.id)).await.expect("list");
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!(
            listed[0].last_address.as_deref(),
            Some("192.0.2.7"),
            "{name}"
        );
        assert!(listed[0].last_used_at.is_some(), "{name}");

        users::change_role(
            &t.db,
            &actors::user(1, "root@example.com", "admin"),
            owner.id,
            Role::Viewer,
            &reason,
        )
        .await
        .expect("demoted");
        let narrowed = tokens::authenticate(&t.db, &throttle, &made.token, client)
            .await
            .expect("still in force");
        assert_eq!(narrowed.role, Role::Viewer, "{name}");

        assert!(
            tokens::revoke(&t.db, &actor, owner.id, Role::Viewer, made.info.id)
                .await
                .expect("revoked"),
            "{name}"
        );
        assert!(
            !tokens::revoke(&t.db, &actor, owner.id, Role::Viewer, made.info.id)
                .await
                .expect("again"),
            "{name}: a second revocation changes nothing"
        );
        for presented in [made.token.as_str(), "cst_unknown", "not a token"] {
            let refused = tokens::authenticate(
                &t.db,
                &throttle,
                presented,
                Some("198.51.100.1".parse().expect("ip")),
            )
            .await;
            assert!(
                matches!(refused, Err(Refused::Invalid)),
                "{name} {presented}"
            );
        }
        let all = tokens::list(&t.db, None).await.expect("all");
        assert_eq!(
            all[0].state(&backend::audit::now_timestamp()),
            "revoked",
            "{name}"
        );
        assert_eq!(all[0].owner, "ci@example.com", "{name}");
    }
}
