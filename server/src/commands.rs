//! One-shot subcommands (`server audit verify`, ...): each prints a result a
//! person can read and answers with an exit code a script can test.

use std::process::ExitCode;

use std::io::{BufRead, Read};

use backend::{
    Database, audit,
    audit::Actor,
    audit::{export as audit_export, retention as audit_retention},
    manifest_file::{self, MAX_MANIFEST_BYTES, ManifestError},
    versions::{self, VersionError},
};

use crate::cli::{ExportArgs, RegisterArgs, RetentionArgs, UserAddArgs};

async fn open(database_url: &str) -> Result<Database, ExitCode> {
    let db = Database::connect(database_url).await.map_err(|error| {
        eprintln!("error: cannot open the database: {error}");
        ExitCode::from(2)
    })?;
    db.migrate().await.map_err(|error| {
        eprintln!("error: cannot prepare the database: {error}");
        ExitCode::from(2)
    })?;
    Ok(db)
}

/// The person at the terminal: whoever can run the binary against the
/// database is trusted as an administrator, and recorded as such.
fn cli_actor() -> Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor::User {
        id: None,
        email: format!("cli:{user}"),
        role: "admin".into(),
    }
}

/// Exit 0: registered. 1: the manifest or registration was refused (every
/// problem is printed). 2: the file or database could not be read.
pub async fn version_register(args: RegisterArgs) -> ExitCode {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&args.file).and_then(|f| {
        // One byte past the cap is enough to know it is too large.
        f.take(MAX_MANIFEST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
    });
    if let Err(error) = read {
        eprintln!("error: cannot read {}: {error}", args.file.display());
        return ExitCode::from(2);
    }
    let manifest = match manifest_file::parse(&bytes) {
        Ok(manifest) => manifest,
        Err(ManifestError::Invalid(problems)) => {
            eprintln!("error: {} is not a valid manifest:", args.file.display());
            for problem in problems {
                eprintln!("  {problem}");
            }
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("error: {}: {error}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let db = match open(&args.database.resolve()).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let base_domain = args
        .base_domain
        .unwrap_or_else(|| format!("{}.localhost", args.runtime));
    let result = match backend::runtimes::ensure(&db, &args.runtime, &base_domain).await {
        Ok(()) => versions::register(&db, &cli_actor(), &args.runtime, &manifest).await,
        Err(error) => Err(error.into()),
    };
    db.close().await;
    match result {
        Ok(record) => {
            println!(
                "registered {}/{} ({}, {} processes)",
                record.runtime,
                record.name,
                record.status,
                record.manifest.processes.len()
            );
            ExitCode::SUCCESS
        }
        Err(VersionError::Invalid(problems)) => {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            ExitCode::FAILURE
        }
        Err(VersionError::Store(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Exit 0: chain intact. 1: broken (the first bad entry is named). 2: the
/// database could not be read.
/// A receipt given as JSON or as the path of a file holding it.
fn read_receipt(given: &str) -> Result<audit::receipt::Receipt, String> {
    let text = if given.trim_start().starts_with('{') {
        given.to_owned()
    } else {
        std::fs::read_to_string(given).map_err(|e| format!("cannot read {given}: {e}"))?
    };
    // A logged checkpoint line may be pasted whole: the receipt is the
    // JSON object in it.
    let json = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => &text[start..=end],
        _ => text.as_str(),
    };
    let json = json.replace("\\\"", "\"");
    serde_json::from_str(&json).map_err(|e| format!("not a receipt: {e}"))
}

pub async fn audit_verify(args: crate::cli::VerifyArgs) -> ExitCode {
    let receipt = match args.receipt.as_deref().map(read_receipt).transpose() {
        Ok(receipt) => receipt,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let db = match open(&args.database.resolve()).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let result = audit::verify(&db).await;
    let against = match &receipt {
        Some(receipt) => {
            Some(audit::receipt::check(&db, receipt, args.public_key.as_deref()).await)
        }
        None => None,
    };
    db.close().await;
    if let Some(check) = against {
        use audit::receipt::ReceiptCheck::*;
        let Some(receipt) = receipt else {
            return ExitCode::from(2);
        };
        let name = format!("entry {} ({})", receipt.entry_id, receipt.at);
        let (said, ok) = match check {
            Ok(Holds { entries_after }) => (
                format!(
                    "the receipt's head, {name}, is in the log with its hash; {entries_after} entries since"
                ),
                true,
            ),
            Ok(RemovedByRetention { up_to_id }) => (
                format!(
                    "the receipt's head, {name}, was removed by a recorded retention run (entries up to {up_to_id})"
                ),
                true,
            ),
            Ok(Truncated { last_id }) => (
                format!(
                    "TRUNCATED: the receipt names {name}, which is no longer in the log (its newest entry: {})",
                    last_id.map_or("none, the log is empty".to_owned(), |id| id.to_string())
                ),
                false,
            ),
            Ok(Rewritten { found_hash }) => (
                format!(
                    "REWRITTEN: {name} has hash {found_hash}, the receipt says {}",
                    receipt.hash
                ),
                false,
            ),
            Ok(BadSignature) => (
                "the receipt's signature is not valid for the trusted key; it proves nothing"
                    .to_owned(),
                false,
            ),
            Ok(Broken(_)) => (String::new(), false),
            Err(error) => {
                eprintln!("error: cannot read the audit log: {error}");
                return ExitCode::from(2);
            }
        };
        if !said.is_empty() {
            println!("receipt: {said}");
        }
        if !ok && said.starts_with("the receipt's signature") {
            return ExitCode::from(2);
        }
        if !ok && !said.is_empty() {
            return ExitCode::FAILURE;
        }
    }
    match result {
        Ok(audit::Verification::Intact {
            entries,
            last_hash,
            checkpoint,
        }) => {
            println!("audit log intact: {entries} entries, last hash {last_hash}");
            if let Some(c) = checkpoint {
                println!(
                    "retention removed {} entries up to {} on {} (entries older than {}); the chain resumes from hash {}",
                    c.removed, c.up_to_id, c.at, c.cutoff, c.anchor_hash
                );
            }
            ExitCode::SUCCESS
        }
        Ok(audit::Verification::Broken {
            entries_checked,
            first_bad_id,
            problem,
        }) => {
            println!(
                "audit log BROKEN at entry {first_bad_id}: {problem} ({entries_checked} entries before it verified)"
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: cannot read the audit log: {error}");
            ExitCode::from(2)
        }
    }
}

/// Exit 0: the whole selection was written. 2: the database or the output
/// failed (the output is then incomplete, and says so on standard error).
pub async fn audit_export(args: ExportArgs) -> ExitCode {
    use futures::StreamExt;
    use std::io::Write;

    let format = match args.format.parse::<audit_export::Format>() {
        Ok(format) => format,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let filter = args.filter();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(std::io::BufWriter::new(file)),
            Err(error) => {
                eprintln!("error: cannot write {}: {error}", path.display());
                return ExitCode::from(2);
            }
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let db = match open(&args.database.resolve()).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let mut chunks = std::pin::pin!(audit_export::export(&db, filter, format));
    let mut code = ExitCode::SUCCESS;
    while let Some(chunk) = chunks.next().await {
        let written = match chunk {
            Ok(text) => out.write_all(text.as_bytes()),
            Err(error) => {
                eprintln!("error: the export is incomplete: {error}");
                code = ExitCode::from(2);
                break;
            }
        };
        if let Err(error) = written {
            eprintln!("error: the export is incomplete: {error}");
            code = ExitCode::from(2);
            break;
        }
    }
    if let Err(error) = out.flush() {
        eprintln!("error: the export is incomplete: {error}");
        code = ExitCode::from(2);
    }
    db.close().await;
    code
}

/// Exit 0: the run is recorded (whether or not it removed anything).
/// 1: refused (reason or period). 2: the database failed; nothing changed.
pub async fn audit_retention(args: RetentionArgs) -> ExitCode {
    let reason = match lifecycle::Reason::parse(&args.reason) {
        Ok(reason) => reason,
        Err(error) => {
            eprintln!("error: --reason: {error}");
            return ExitCode::FAILURE;
        }
    };
    let db = match open(&args.database.resolve()).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let result = audit_retention::run(&db, &cli_actor(), args.keep_days, &reason).await;
    db.close().await;
    match result {
        Ok(run) => {
            println!(
                "retention: removed {} entries older than {} (recorded as entry {})",
                run.removed, run.cutoff, run.entry.id
            );
            ExitCode::SUCCESS
        }
        Err(error @ audit_retention::RetentionError::KeepDays(_)) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

/// Exit 0: created. 1: refused (email, password, duplicate; nothing
/// written). 2: standard input or the database failed.
pub async fn user_add(args: UserAddArgs) -> ExitCode {
    let reason = match lifecycle::Reason::parse(&args.reason) {
        Ok(reason) => reason,
        Err(error) => {
            eprintln!("error: --reason: {error}");
            return ExitCode::FAILURE;
        }
    };
    // One line from standard input, bounded, without its line ending.
    let mut line = String::new();
    let limit = backend::password::MAX_PASSWORD_CHARS as u64 * 4 + 2;
    if let Err(error) = std::io::stdin().lock().take(limit).read_line(&mut line) {
        eprintln!("error: cannot read the password from standard input: {error}");
        return ExitCode::from(2);
    }
    let password = line.trim_end_matches(['\n', '\r']);
    let db = match open(&args.database.resolve()).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let result =
        backend::users::create(&db, &cli_actor(), &args.email, args.role, password, &reason).await;
    db.close().await;
    match result {
        Ok(user) => {
            println!("created {} ({})", user.email, user.role);
            ExitCode::SUCCESS
        }
        Err(backend::users::UserError::Store(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

pub async fn audit_checkpoint(args: crate::cli::CheckpointArgs) -> ExitCode {
    let Some(source) = args.key.source() else {
        eprintln!("error: give the signing key: --audit-key-file or CONSOLE_AUDIT_KEY");
        return ExitCode::from(2);
    };
    let key = match source.load_audit() {
        Ok(Some(key)) => key,
        Ok(None) => return ExitCode::from(2),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let db = match open(&args.database.resolve()).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let receipt = audit::receipt::checkpoint(&db, &key).await;
    db.close().await;
    match receipt {
        Ok(Some(receipt)) => match serde_json::to_string(&receipt) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        Ok(None) => {
            eprintln!("the audit log is empty: nothing to sign");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: cannot read the audit log: {error}");
            ExitCode::from(2)
        }
    }
}

/// Exit 0: every secret value sealed with the new key, which is in place.
/// 1: the database could not be re-sealed (nothing changed). 2: the keys
/// or the database could not be read or written.
pub async fn secrets_rotate(args: crate::cli::RotateArgs) -> ExitCode {
    use backend::{configuration, key_file};

    use crate::config::KeySource;

    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let Some(source) = args.key.source() else {
        return fail("give the current key: --secret-key-file or CONSOLE_SECRET_KEY".into());
    };
    let current = match source.load_secrets() {
        Ok(ring) => ring,
        Err(error) => return fail(error.to_string()),
    };
    // Where the new key is written before the database changes, and the
    // file it then replaces.
    let (staged, replaces) = match (&source, &args.new_key_file) {
        (_, Some(path)) => (path.clone(), None),
        (KeySource::File(path) | KeySource::DemoFile(path), None) => {
            (configuration::next_path(path), Some(path.clone()))
        }
        _ => return fail("the current key is not in a file: give --new-key-file".into()),
    };
    // A rotation cut short left its new key staged: finish with that one,
    // which may have sealed values already.
    let resumed = replaces.is_some() && staged.exists();
    let newer = if resumed {
        std::fs::read_to_string(&staged)
            .map_err(|e| e.to_string())
            .and_then(|text| configuration::Keyring::from_text(&text).map_err(|e| e.to_string()))
    } else {
        configuration::Keyring::generate().map_err(|e| e.to_string())
    };
    let newer = match newer {
        Ok(ring) => ring,
        Err(error) => return fail(error),
    };
    let text = match newer.to_text() {
        Ok(text) => text,
        Err(error) => return fail(error.to_string()),
    };
    if !resumed {
        match key_file::create(&staged, &text) {
            Ok(true) => {}
            Ok(false) => return fail(format!("{} exists already", staged.display())),
            Err(error) => return fail(format!("cannot write {}: {error}", staged.display())),
        }
    }
    let db = match open(&args.database.resolve()).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let ring = match current.rotated_to(&newer) {
        Ok(ring) => ring,
        Err(error) => return fail(error.to_string()),
    };
    let rotated = configuration::rotate(&db, &ring, &newer).await;
    db.close().await;
    let count = match rotated {
        Ok(count) => count,
        Err(error) => {
            eprintln!("error: nothing was re-sealed: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = replaces {
        if let Err(error) = key_file::replace(&path, &text) {
            return fail(format!(
                "re-sealed, but {} could not be replaced ({error}); the new key is in {}",
                path.display(),
                staged.display()
            ));
        }
        let _ = std::fs::remove_file(&staged);
        println!(
            "re-sealed {count} secret values with key {}; {} holds it now",
            newer.key_id().unwrap_or_default(),
            path.display()
        );
    } else {
        println!(
            "re-sealed {count} secret values with key {}, written to {}: configure the console with it now",
            newer.key_id().unwrap_or_default(),
            staged.display()
        );
    }
    ExitCode::SUCCESS
}
