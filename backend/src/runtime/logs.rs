//! Pod logs: followed while a version runs, stored in the database so they
//! outlive the pods, bounded per node (the newest lines are kept).

use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client, api::LogParams};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{audit::now_timestamp, db::Database};

/// Lines kept per node; older ones are dropped as new ones arrive.
pub const LINES_PER_NODE: i64 = 2000;
/// A longer line is cut (pods can print anything).
pub const MAX_LINE_BYTES: usize = 4096;
const BATCH_LINES: usize = 500;
const BATCH_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: String,
    pub pod: String,
    pub line: String,
}

#[derive(Debug)]
pub struct Received {
    pub runtime: String,
    pub version: String,
    pub node: String,
    pub pod: String,
    pub at: String,
    pub line: String,
}

fn cut(mut line: String) -> String {
    if line.len() > MAX_LINE_BYTES {
        let mut end = MAX_LINE_BYTES;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
    line
}

/// Follows one pod's container log until the stream ends (the pod stopped
/// or the connection dropped); the caller restarts it while the pod runs.
pub async fn follow(
    client: Client,
    db: Database,
    namespace: String,
    pod: super::pods::PodSummary,
    sink: mpsc::Sender<Received>,
) {
    // Resume after a restart without repeating much: ask only for what was
    // written since the last stored line (whole seconds, so at most a
    // second's worth of lines may repeat).
    let since_seconds = match last_at(&db, &pod.name).await {
        Ok(Some(at)) => chrono::DateTime::parse_from_rfc3339(&at)
            .ok()
            .map(|at| (chrono::Utc::now() - at.to_utc()).num_seconds().max(0) + 1),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, pod = %pod.name, "could not read the last stored log line");
            None
        }
    };
    let api: Api<Pod> = Api::namespaced(client, &namespace);
    let params = LogParams {
        follow: true,
        container: Some(pod.node.clone()),
        since_seconds,
        ..LogParams::default()
    };
    let stream = match api.log_stream(&pod.name, &params).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%error, pod = %pod.name, "log stream not available");
            return;
        }
    };
    let mut lines = stream.lines();
    while let Some(line) = lines.next().await {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                tracing::debug!(%error, pod = %pod.name, "log stream ended");
                return;
            }
        };
        let received = Received {
            runtime: namespace.clone(),
            version: pod.version.clone(),
            node: pod.node.clone(),
            pod: pod.name.clone(),
            at: now_timestamp(),
            line: cut(line),
        };
        if sink.send(received).await.is_err() {
            return;
        }
    }
}

/// Writes received lines in batches and trims each node to its bound.
pub async fn store_lines(db: Database, mut received: mpsc::Receiver<Received>) {
    let mut batch = Vec::with_capacity(BATCH_LINES);
    loop {
        let Some(first) = received.recv().await else {
            return;
        };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_LINES {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some(line)) => batch.push(line),
                Ok(None) | Err(_) => break,
            }
        }
        if let Err(error) = write_batch(&db, &batch).await {
            tracing::warn!(%error, lines = batch.len(), "could not store pod log lines");
        }
        batch.clear();
    }
}

async fn write_batch(db: &Database, batch: &[Received]) -> crate::error::Result<()> {
    let insert = "INSERT INTO node_logs (runtime, version, node, pod, at, line) VALUES ($1, $2, $3, $4, $5, $6)";
    let trim = "DELETE FROM node_logs WHERE runtime = $1 AND version = $2 AND node = $3 AND id <= \
                (SELECT id FROM node_logs WHERE runtime = $1 AND version = $2 AND node = $3 \
                 ORDER BY id DESC LIMIT 1 OFFSET $4)";
    let mut nodes: Vec<(&str, &str, &str)> = batch
        .iter()
        .map(|r| (r.runtime.as_str(), r.version.as_str(), r.node.as_str()))
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    on_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        for r in batch {
            sqlx::query(insert)
                .bind(&r.runtime)
                .bind(&r.version)
                .bind(&r.node)
                .bind(&r.pod)
                .bind(&r.at)
                .bind(&r.line)
                .execute(&mut *tx)
                .await?;
        }
        for (runtime, version, node) in &nodes {
            sqlx::query(trim)
                .bind(runtime)
                .bind(version)
                .bind(node)
                .bind(LINES_PER_NODE)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

async fn last_at(db: &Database, pod: &str) -> crate::error::Result<Option<String>> {
    let sql = "SELECT at FROM node_logs WHERE pod = $1 ORDER BY id DESC LIMIT 1";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(pod)
        .fetch_optional(pool)
        .await?))
}

/// The newest `limit` stored lines of one node, oldest first.
pub async fn read(
    db: &Database,
    runtime: &str,
    version: &str,
    node: &str,
    limit: i64,
) -> crate::error::Result<Vec<LogLine>> {
    let sql = "SELECT at, pod, line FROM node_logs WHERE runtime = $1 AND version = $2 AND node = $3 \
               ORDER BY id DESC LIMIT $4";
    let rows: Vec<(String, String, String)> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(runtime)
        .bind(version)
        .bind(node)
        .bind(limit)
        .fetch_all(pool)
        .await?);
    Ok(rows
        .into_iter()
        .rev()
        .map(|(at, pod, line)| LogLine { at, pod, line })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        let line = "é".repeat(MAX_LINE_BYTES);
        let cut = cut(line);
        assert!(cut.len() <= MAX_LINE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
