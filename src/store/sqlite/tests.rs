//! Tests of the SQLite backend against a real database file.

use super::{SqliteStore, Synchronous};
use crate::model::{EventRecord, SessionPatch, SessionRecord, TokenUsage, TraceRecord};
use crate::store::Store;

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Synchronous::Normal).unwrap();
    (dir, store)
}

fn event(id: &str, kind: &str, init_us: i64) -> EventRecord {
    EventRecord {
        id: id.into(),
        kind: kind.into(),
        name: None,
        init_us,
        end_us: None,
        agent_id: None,
        parent_id: None,
        model: None,
        usage: TokenUsage {
            prompt: Some(10),
            completion: Some(5),
            ..TokenUsage::default()
        },
        body: "{}".into(),
        ..EventRecord::default()
    }
}

fn session(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        tags: Some(vec!["t1".into()]),
        ..SessionRecord::default()
    }
}

#[tokio::test]
async fn insert_events_deduplicates_ids() {
    let (_dir, store) = open();
    let project = store.ensure_project("p").await.unwrap();
    store
        .create_session(project.id, session("s"))
        .await
        .unwrap();

    let batch = vec![event("e1", "llm", 1), event("e2", "tool", 2)];
    let first = store
        .insert_events(project.id, "s", batch.clone())
        .await
        .unwrap();
    let second = store.insert_events(project.id, "s", batch).await.unwrap();

    assert_eq!(first.inserted, 2);
    assert_eq!(second.inserted, 0);
    assert_eq!(second.duplicates, 2);
    let row = store.session(project.id, "s").await.unwrap().unwrap();
    assert_eq!(row.totals.events, 2);
    assert_eq!(row.totals.llms, 1);
    assert_eq!(row.totals.prompt_tokens, 20);
}

#[tokio::test]
async fn create_session_twice_keeps_first() {
    let (_dir, store) = open();
    let project = store.ensure_project("p").await.unwrap();
    let first = store
        .create_session(project.id, session("s"))
        .await
        .unwrap();
    let mut again = session("s");
    again.tags = Some(vec!["other".into()]);
    let second = store.create_session(project.id, again).await.unwrap();

    assert_eq!(first, second);
    let row = store.session(project.id, "s").await.unwrap().unwrap();
    assert_eq!(row.tags, ["t1"]);
    assert_eq!(row.end_state, "Indeterminate");
}

#[tokio::test]
async fn sessions_isolated_between_projects() {
    let (_dir, store) = open();
    let a = store.ensure_project("a").await.unwrap();
    let b = store.ensure_project("b").await.unwrap();
    store.create_session(a.id, session("s")).await.unwrap();

    assert!(store.session(b.id, "s").await.unwrap().is_none());
    let write = store
        .insert_events(b.id, "s", vec![event("e", "llm", 1)])
        .await;
    assert!(write.is_err());
}

#[tokio::test]
async fn update_session_leaves_missing_fields() {
    let (_dir, store) = open();
    let project = store.ensure_project("p").await.unwrap();
    store
        .create_session(project.id, session("s"))
        .await
        .unwrap();
    let patch = SessionPatch {
        end_state_reason: Some("done".into()),
        ..SessionPatch::default()
    };
    let row = store.update_session(project.id, "s", patch).await.unwrap();

    assert_eq!(row.tags, ["t1"]);
    assert_eq!(row.end_state, "Indeterminate");
    assert_eq!(row.end_state_reason.as_deref(), Some("done"));
}

fn trace(from_root: bool, init_us: i64, end_us: i64, span: &str) -> TraceRecord {
    TraceRecord {
        session: SessionRecord {
            id: "t".into(),
            name: Some(if from_root { "root" } else { "child" }.into()),
            init_us: Some(init_us),
            end_us: Some(end_us),
            end_state: from_root.then(|| "Success".to_owned()),
            ..SessionRecord::default()
        },
        from_root,
        events: vec![event(span, "task", init_us)],
    }
}

#[tokio::test]
async fn trace_root_wins_in_any_order() {
    for root_first in [true, false] {
        let (_dir, store) = open();
        let project = store.ensure_project("p").await.unwrap();
        let root = trace(true, 100, 900, "r");
        let child = trace(false, 50, 1_000, "c");
        let order = if root_first {
            [root, child]
        } else {
            [child, root]
        };
        for batch in order {
            store.ingest_traces(project.id, vec![batch]).await.unwrap();
        }

        let row = store.session(project.id, "t").await.unwrap().unwrap();
        assert_eq!(
            row.name.as_deref(),
            Some("root"),
            "root first: {root_first}"
        );
        assert_eq!(row.init_us, Some(100), "root first: {root_first}");
        assert_eq!(row.end_us, Some(900), "root first: {root_first}");
        assert_eq!(row.end_state, "Success", "root first: {root_first}");
        assert_eq!(row.totals.events, 2, "root first: {root_first}");
    }
}

#[tokio::test]
async fn trace_without_root_widens_times() {
    let (_dir, store) = open();
    let project = store.ensure_project("p").await.unwrap();
    for batch in [trace(false, 50, 60, "a"), trace(false, 40, 80, "b")] {
        store.ingest_traces(project.id, vec![batch]).await.unwrap();
    }
    let row = store.session(project.id, "t").await.unwrap().unwrap();
    assert_eq!(row.init_us, Some(40));
    assert_eq!(row.end_us, Some(80));
    assert_eq!(row.end_state, "Indeterminate");
}

#[tokio::test]
async fn concurrent_writes_all_committed() {
    let (_dir, store) = open();
    let store = std::sync::Arc::new(store);
    let project = store.ensure_project("p").await.unwrap();
    store
        .create_session(project.id, session("s"))
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for task in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let events = (0..50)
                .map(|i| event(&format!("{task}-{i}"), "action", i))
                .collect();
            store.insert_events(project.id, "s", events).await.unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().inserted, 50);
    }
    let events = store.session_events(1).await.unwrap();
    assert_eq!(events.len(), 800);
}
