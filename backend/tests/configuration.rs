//! Version configuration against the Kubernetes API emulator: a start
//! refused until every required variable is set, the values in the
//! version's ConfigMap and Secret (and gone after a stop), a change to a
//! running version rolling its pods, values carried over to the next
//! version, and a key rotation that re-seals every secret.

use std::collections::{BTreeMap, BTreeSet};

use backend::{
    audit::{self, Filter},
    configuration::{self, ConfigError, Keyring, Settled, ValueChange},
    manifest_file,
    runtime::{configured, resources},
    versions::{self, VersionError},
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Pod, Secret},
};
use kube::Api;
use lifecycle::{
    Action, AuditAction, Manifest, NodeStatus, Outcome, Reason, RuntimeSettings, Status,
};
use serde_json::Value;
use testkit::{actors, eventually};

mod support;
use support::cluster::*;

const V4: &str = include_str!("../../examples/manifests/v4.yaml");

async fn configured_setup() -> Setup {
    let settings = backend::runtime::Settings {
        keyring: Keyring::generate().expect("key"),
        ..fast_settings()
    };
    let s = Setup::with(fast_emulator(), settings).await;
    register(&s, V4).await;
    s
}

async fn register(s: &Setup, text: &str) {
    let manifest = manifest_file::parse(text.as_bytes()).expect("manifest");
    versions::register(&s.db.db, &actors::manager(), "demo", &manifest)
        .await
        .expect("registered");
}

fn plain(name: &str, value: &str) -> ValueChange {
    ValueChange {
        name: name.into(),
        value: value.into(),
        secret: false,
    }
}

fn secret(name: &str, value: &str) -> ValueChange {
    ValueChange {
        secret: true,
        ..plain(name, value)
    }
}

async fn configure(
    s: &Setup,
    version: &str,
    changes: &[ValueChange],
) -> Result<configuration::Configured, ConfigError> {
    let reason = Reason::parse("configuration test").expect("reason");
    s.services
        .configure(&actors::manager(), "demo", version, changes, &reason)
        .await
}

/// The details of the newest audit entry of `action` (and `outcome`).
async fn newest_details(s: &Setup, action: AuditAction, outcome: Option<Outcome>) -> Value {
    let filter = Filter {
        action: Some(action),
        outcome,
        ..Filter::default()
    };
    let page = audit::query(&s.db.db, &filter, None, 1)
        .await
        .expect("audit");
    serde_json::from_str(&page.entries[0].details).expect("details")
}

async fn start(s: &Setup, version: &str) -> Result<(), VersionError> {
    let reason = Reason::parse("configuration test").expect("reason");
    s.services
        .act(
            &actors::manager(),
            "demo",
            version,
            Action::Start,
            Status::Stopped,
            &reason,
        )
        .await
        .map(drop)
}

#[tokio::test]
async fn a_start_waits_for_every_required_value_and_bad_values_save_nothing() {
    let s = configured_setup().await;
    match start(&s, "v4").await {
        Err(VersionError::ConfigurationIncomplete { missing, .. }) => {
            assert_eq!(
                missing,
                ["DATABASE_URL", "RULES_API_KEY"],
                "in declaration order; defaults and optional ones do not count"
            )
        }
        other => panic!("refused for its configuration, not {other:?}"),
    }
    let details = newest_details(&s, AuditAction::Start, Some(Outcome::Denied)).await;
    assert_eq!(
        details["missing_configuration"],
        serde_json::json!(["DATABASE_URL", "RULES_API_KEY"])
    );

    // Every bad value is a problem of its own, named by the variable, and
    // the good value sent with them is not saved either.
    let bad = [
        plain("DATABASE_URL", "postgres://db/fraud"),
        plain("GHOST", "x"),
        secret("SCORE_THRESHOLD", "0.9"),
        plain("RULES_API_KEY", "in the clear"),
        plain(
            "RULES",
            &"r".repeat(lifecycle::variables::MAX_FILE_BYTES + 1),
        ),
        plain("SCORE_THRESHOLD", "bell\u{7}"),
    ];
    match configure(&s, "v4", &bad).await {
        Err(ConfigError::Invalid(problems)) => {
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "GHOST",
                    "SCORE_THRESHOLD",
                    "RULES_API_KEY",
                    "RULES",
                    "SCORE_THRESHOLD"
                ],
                "{problems:?}"
            );
        }
        other => panic!("refused, not {other:?}"),
    }
    let set = configuration::set_names(&s.db.db, "demo", "v4")
        .await
        .expect("names");
    assert!(set.is_empty(), "nothing saved: {set:?}");

    configure(&s, "v4", &[plain("DATABASE_URL", "postgres://db/fraud")])
        .await
        .expect("saved");
    match start(&s, "v4").await {
        Err(VersionError::ConfigurationIncomplete { missing, .. }) => {
            assert_eq!(missing, ["RULES_API_KEY"])
        }
        other => panic!("still refused, not {other:?}"),
    }
    configure(&s, "v4", &[secret("RULES_API_KEY", "k-1")])
        .await
        .expect("saved");
    start(&s, "v4").await.expect("starts once complete");
    s.settles("v4", Status::Started).await;
}

#[tokio::test]
async fn values_reach_the_cluster_roll_a_running_version_and_go_with_a_stop() {
    let s = configured_setup().await;
    configure(
        &s,
        "v4",
        &[
            plain("DATABASE_URL", "postgres://db/fraud"),
            secret("RULES_API_KEY", "k-1"),
            plain("RULES", "deny if amount > 10000\n"),
        ],
    )
    .await
    .expect("saved");
    start(&s, "v4").await.expect("starts");
    s.settles("v4", Status::Started).await;

    let config_maps: Api<ConfigMap> = Api::namespaced(s.client.clone(), "demo");
    let config = config_maps
        .get(&resources::config_map_name("v4"))
        .await
        .expect("config");
    let data = config.data.unwrap_or_default();
    assert_eq!(
        data.get("DATABASE_URL").map(String::as_str),
        Some("postgres://db/fraud")
    );
    assert_eq!(
        data.get("SCORE_THRESHOLD").map(String::as_str),
        Some("0.82"),
        "the default"
    );
    assert!(!data.contains_key("RULES_API_KEY") && !data.contains_key("RULES"));
    let files = config_maps
        .get(&configuration::files_name("v4"))
        .await
        .expect("files");
    assert_eq!(
        files
            .data
            .unwrap_or_default()
            .get("RULES")
            .map(String::as_str),
        Some("deny if amount > 10000\n")
    );
    let secrets: Api<Secret> = Api::namespaced(s.client.clone(), "demo");
    let stored = secrets
        .get(&configuration::secret_name("v4"))
        .await
        .expect("secret");
    let keys: BTreeSet<String> = stored
        .data
        .clone()
        .unwrap_or_default()
        .into_keys()
        .collect();
    assert_eq!(keys, BTreeSet::from(["RULES_API_KEY".to_owned()]));
    assert_eq!(stored.data.unwrap_or_default()["RULES_API_KEY"].0, b"k-1");

    // A new secret for the running version: new pods with a new
    // checksum, amber while they replace the old ones, then green.
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), "demo");
    let checksum = || async {
        deployments
            .get("v4-score")
            .await
            .expect("deployment")
            .spec
            .and_then(|spec| spec.template.metadata)
            .and_then(|meta| meta.annotations)
            .and_then(|a| a.get(resources::CONFIG_CHECKSUM).cloned())
            .unwrap_or_default()
    };
    let before = checksum().await;
    let old_pods: BTreeSet<String> = s
        .version_objects::<Pod>("v4")
        .await
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    let mut changes = s.runtime.subscribe();
    let done = configure(&s, "v4", &[secret("RULES_API_KEY", "k-2")])
        .await
        .expect("saved");
    assert!(
        done.rolling && done.changed == ["RULES_API_KEY"],
        "{done:?}"
    );
    let amber = async {
        loop {
            let live = s.runtime.live("demo", "v4").await.expect("live");
            if live.nodes.iter().any(|n| n.status != NodeStatus::Ready) {
                return;
            }
            let _ =
                tokio::time::timeout(std::time::Duration::from_millis(200), changes.recv()).await;
        }
    };
    tokio::time::timeout(DEADLINE, amber)
        .await
        .expect("a node goes amber while its pods roll");
    eventually(
        "the pods rolled and every node is green again",
        DEADLINE,
        || async {
            let pods = s.version_objects::<Pod>("v4").await;
            let live = s.runtime.live("demo", "v4").await.expect("live");
            pods.iter()
                .all(|p| !old_pods.contains(p.metadata.name.as_deref().unwrap_or_default()))
                && live.nodes.iter().all(|n| n.status == NodeStatus::Ready)
        },
    )
    .await;
    assert_ne!(checksum().await, before);
    let stored = secrets
        .get(&configuration::secret_name("v4"))
        .await
        .expect("secret");
    assert_eq!(stored.data.unwrap_or_default()["RULES_API_KEY"].0, b"k-2");
    assert_eq!(s.record("v4").await.status, Status::Started);

    s.act("v4", Action::Stop).await;
    s.settles("v4", Status::Stopped).await;
    assert!(
        s.version_objects::<Secret>("v4").await.is_empty(),
        "the Secret goes with the stop"
    );
    assert!(
        s.version_objects::<ConfigMap>("v4").await.is_empty(),
        "both ConfigMaps too"
    );
}

#[tokio::test]
async fn the_next_version_starts_with_the_values_of_the_last_one() {
    let s = configured_setup().await;
    configure(
        &s,
        "v4",
        &[
            plain("DATABASE_URL", "postgres://db/fraud"),
            secret("RULES_API_KEY", "k-1"),
        ],
    )
    .await
    .expect("saved");
    // v5 declares the same names but one, and a new one.
    let v5 = V4
        .replace("name: v4", "name: v5")
        .replace("  - name: DATABASE_URL\n", "  - name: HISTORY_URL\n");
    register(&s, &v5).await;
    let fields = configuration::fields(&s.db.db, "demo", "v5")
        .await
        .expect("fields");
    let of = |name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .expect("declared")
            .clone()
    };
    assert!(of("RULES_API_KEY").set);
    assert_eq!(of("RULES_API_KEY").source.as_deref(), Some("carried:v4"));
    assert_eq!(
        of("RULES_API_KEY").value,
        None,
        "a secret's value never comes back"
    );
    assert!(!of("HISTORY_URL").set);
    assert!(of("HISTORY_URL").missing());
    let record = versions::get(&s.db.db, "demo", "v5").await.expect("v5");
    let settled = configuration::settled(&s.db.db, &s.runtime.settings().keyring, &record)
        .await
        .expect("opens");
    assert_eq!(
        settled.secret_variables["RULES_API_KEY"], "k-1",
        "the carried secret opens for v5"
    );
}

#[tokio::test]
async fn rotating_the_key_reseals_every_value_and_the_old_key_no_longer_opens_them() {
    let s = configured_setup().await;
    configure(
        &s,
        "v4",
        &[plain("DATABASE_URL", "db"), secret("RULES_API_KEY", "k-1")],
    )
    .await
    .expect("saved");
    let sealed = || async {
        let backend::Database::Sqlite(pool) = &s.db.db else {
            panic!("sqlite")
        };
        sqlx::query_scalar::<_, String>(
            "SELECT sealed FROM version_values WHERE sealed IS NOT NULL",
        )
        .fetch_one(pool)
        .await
        .expect("sealed")
    };
    let before = sealed().await;
    assert!(!before.contains("k-1"));
    let old = s.runtime.settings().keyring.clone();
    let new = Keyring::generate().expect("key");
    let count = configuration::rotate(&s.db.db, &old, &new)
        .await
        .expect("rotates");
    assert_eq!(count, 1);
    let after = sealed().await;
    assert_ne!(after, before, "the stored ciphertext changed");
    let record = versions::get(&s.db.db, "demo", "v4").await.expect("v4");
    let opened = configuration::settled(&s.db.db, &new, &record)
        .await
        .expect("the new key opens it");
    assert_eq!(opened.secret_variables["RULES_API_KEY"], "k-1");
    assert!(
        configuration::settled(&s.db.db, &old, &record)
            .await
            .is_err(),
        "the old key does not"
    );
    let details = newest_details(&s, AuditAction::SecretsRotate, None).await;
    assert_eq!(details["values"], 1);
}

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("object matches its Kubernetes type")
}

/// Pure: where each kind of value goes, and the checksum that rolls the
/// pods following a secret.
#[test]
fn declared_values_go_to_the_config_map_the_secret_and_the_files_volume() {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    let m: Manifest = manifest_file::parse(V4.as_bytes()).expect("example parses");
    let set = |api_key: &str| {
        Settled::build(
            &m,
            &BTreeMap::from([
                (
                    "DATABASE_URL".to_owned(),
                    ("postgres://db/fraud".to_owned(), "h1".to_owned()),
                ),
                (
                    "RULES_API_KEY".to_owned(),
                    (api_key.to_owned(), format!("h-{api_key}")),
                ),
                (
                    "RULES".to_owned(),
                    ("deny if amount > 10000".to_owned(), "h3".to_owned()),
                ),
            ]),
        )
    };
    let settled = set("k-1");
    let cm: ConfigMap = typed(resources::config_map("demo", &m, &settled));
    let data = cm.data.unwrap_or_default();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["DATABASE_URL", "SCORE_THRESHOLD", "currency"],
        "the default fills in; no secret, no file"
    );
    let secret: k8s_openapi::api::core::v1::Secret =
        typed(configured::secret("demo", &m, &settled, "uid").expect("a Secret"));
    let data = secret.data.unwrap_or_default();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["RULES_API_KEY"],
        "an unset optional secret is absent"
    );
    assert_eq!(data["RULES_API_KEY"].0, b"k-1");
    let raw = configured::secret("demo", &m, &settled, "uid").expect("a Secret");
    assert_eq!(raw["data"]["RULES_API_KEY"], STANDARD.encode("k-1"));
    let files: ConfigMap =
        typed(configured::files_config_map("demo", &m, &settled, "uid").expect("files"));
    assert_eq!(
        files.data.unwrap_or_default().keys().collect::<Vec<_>>(),
        ["RULES"]
    );
    let node = &resources::node_specs(&m)[1];
    let d = resources::deployment(
        "demo",
        &RuntimeSettings::default(),
        &m,
        node,
        "uid",
        &settled,
    );
    let env = d["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let from_secret: Vec<&Value> = env
        .iter()
        .filter(|e| e.get("valueFrom").is_some())
        .collect();
    assert_eq!(from_secret.len(), 1);
    assert_eq!(
        from_secret[0]["valueFrom"]["secretKeyRef"]["key"],
        "RULES_API_KEY"
    );
    let volumes = &d["spec"]["template"]["spec"]["volumes"];
    assert_eq!(
        volumes[1]["projected"]["sources"][0]["configMap"]["items"][0]["path"],
        "RULES"
    );
    let checksum = |s: &Settled| {
        resources::deployment("demo", &RuntimeSettings::default(), &m, node, "uid", s)["spec"]["template"]
            ["metadata"]["annotations"][resources::CONFIG_CHECKSUM]
            .clone()
    };
    assert_eq!(checksum(&settled), checksum(&set("k-1")));
    assert_ne!(
        checksum(&settled),
        checksum(&set("k-2")),
        "a new secret rolls the pods"
    );
    let _: Deployment = typed(d);
    // A manifest without variables keeps its pod template as it was.
    let v1 = manifest_file::parse(include_bytes!("../../examples/manifests/v1.yaml")).expect("v1");
    let plain = resources::deployment(
        "demo",
        &RuntimeSettings::default(),
        &v1,
        &resources::node_specs(&v1)[1],
        "uid",
        &Settled::default(),
    );
    assert!(
        plain["spec"]["template"]["metadata"]
            .get("annotations")
            .is_none()
    );
}
