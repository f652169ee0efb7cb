//! One-shot subcommands (`server audit verify`, ...): each prints a result a
//! person can read and answers with an exit code a script can test.

use std::process::ExitCode;

use backend::{Database, audit};

/// Exit 0: chain intact. 1: broken (the first bad entry is named). 2: the
/// database could not be read.
pub async fn audit_verify(database_url: &str) -> ExitCode {
    let db = match Database::connect(database_url).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("error: cannot open the database: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = db.migrate().await {
        eprintln!("error: cannot prepare the database: {error}");
        return ExitCode::from(2);
    }
    let result = audit::verify(&db).await;
    db.close().await;
    match result {
        Ok(audit::Verification::Intact { entries, last_hash }) => {
            println!("audit log intact: {entries} entries, last hash {last_hash}");
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
