//! Stored pod logs on both databases: bounded per node with the newest
//! lines kept, nodes independent of each other, oldest first when read.

use backend::runtime::logs::{self, LINES_PER_NODE, Received};

fn line(node: &str, n: i64) -> Received {
    Received {
        runtime: "demo".into(),
        version: "v1".into(),
        node: node.into(),
        pod: format!("v1-{node}-abcde"),
        at: format!("2026-11-28T12:00:00.{n:06}Z"),
        line: format!("{node} line {n}"),
    }
}

#[tokio::test]
async fn each_node_keeps_its_newest_lines() {
    for (name, t) in testkit::db::databases().await {
        let (sink, lines) = tokio::sync::mpsc::channel(64);
        let writer = tokio::spawn(logs::store_lines(t.db.clone(), lines));
        let total = LINES_PER_NODE + 150;
        for n in 0..total {
            sink.send(line("score", n)).await.expect("writer runs");
        }
        sink.send(line("enrich", 0)).await.expect("writer runs");
        drop(sink);
        writer.await.expect("writer ends when the sink closes");

        let kept = logs::read(&t.db, "demo", "v1", "score", LINES_PER_NODE * 2)
            .await
            .expect("read");
        assert_eq!(kept.len() as i64, LINES_PER_NODE, "{name}");
        assert_eq!(
            kept[0].line,
            format!("score line {}", total - LINES_PER_NODE),
            "{name}"
        );
        assert_eq!(
            kept.last().map(|l| l.line.clone()),
            Some(format!("score line {}", total - 1))
        );
        let latest = logs::read(&t.db, "demo", "v1", "score", 3)
            .await
            .expect("read");
        assert_eq!(
            latest.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(),
            [
                format!("score line {}", total - 3),
                format!("score line {}", total - 2),
                format!("score line {}", total - 1)
            ],
            "{name}: the newest, oldest first"
        );
        let other = logs::read(&t.db, "demo", "v1", "enrich", 10)
            .await
            .expect("read");
        assert_eq!(other.len(), 1, "{name}: another node keeps its own lines");
    }
}
