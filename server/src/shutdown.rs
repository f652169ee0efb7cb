//! What stops the server: SIGINT, SIGTERM, or (when asked) standard input
//! closing. In-flight requests finish; new connections are refused.

use std::io::Read;

use tokio::sync::oneshot;

pub async fn signal(on_stdin_eof: bool) {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    let stdin_closed = async {
        if on_stdin_eof {
            stdin_eof().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
        () = stdin_closed => tracing::info!("standard input closed, shutting down"),
    }
}

/// Resolves when standard input reaches end of file. The blocking read runs on
/// a detached OS thread, not tokio's blocking pool, so an open stdin never
/// holds up the runtime's own shutdown.
async fn stdin_eof() {
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let mut buf = [0u8; 1024];
            let mut stdin = std::io::stdin();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
            let _ = tx.send(());
        });
    match spawned {
        Ok(_) => {
            let _ = rx.await;
        }
        Err(error) => {
            tracing::error!(%error, "cannot watch standard input");
            std::future::pending::<()>().await;
        }
    }
}
