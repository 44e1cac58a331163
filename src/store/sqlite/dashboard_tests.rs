//! Store tests of the dashboard methods on a real SQLite database.

use super::{SqliteStore, Synchronous};
use crate::model::{CostSource, EventRecord, SessionRecord, TokenUsage};
use crate::store::Store;
use crate::store::dashboard::{
    Granularity, MetricsQuery, NewUser, NewWebSession, SessionFilter, SessionPageRequest,
    SessionSort,
};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// 2096-09-26, far enough ahead that the store's purge of expired browser
/// sessions (which uses the real clock) keeps the test's sessions.
const EXPIRES: i64 = 4_000_000_000_000_000;
/// 2026-01-05 00:00 UTC, a Monday.
const MONDAY: i64 = 1_767_571_200_000_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn session(id: &str, init_us: i64, tags: &[&str]) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        init_us: Some(init_us),
        end_us: Some(init_us + 1_000),
        tags: Some(tags.iter().map(|t| t.to_string()).collect()),
        ..SessionRecord::default()
    }
}

fn llm_event(id: &str, init_us: i64, model: &str, cost: i64, body: &str) -> EventRecord {
    EventRecord {
        id: id.into(),
        kind: "llm".into(),
        init_us,
        end_us: Some(init_us + 10),
        model: Some(model.into()),
        usage: TokenUsage {
            prompt: Some(10),
            completion: Some(5),
            ..TokenUsage::default()
        },
        cost: Some(cost),
        cost_source: Some(CostSource::Client),
        body: body.into(),
        ..EventRecord::default()
    }
}

#[test]
fn session_page_keyset_covers_every_session_once() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = SqliteStore::open(dir.path(), Synchronous::Normal).unwrap();
    let project = rt.block_on(store.ensure_project("p")).unwrap();
    for index in 0..25 {
        // Five sessions per start instant, so ties are broken by pk.
        let record = session(&format!("s{index}"), MONDAY + (index / 5) * HOUR, &[]);
        rt.block_on(store.create_session(project.id, record))
            .unwrap();
    }
    for (sort, descending) in [
        (SessionSort::Start, true),
        (SessionSort::Start, false),
        (SessionSort::Name, false),
        (SessionSort::Cost, true),
        (SessionSort::Duration, true),
    ] {
        let mut request = SessionPageRequest {
            filter: SessionFilter {
                project: project.id,
                ..SessionFilter::default()
            },
            sort,
            descending,
            after: None,
            limit: 7,
        };
        let mut seen = Vec::new();
        loop {
            let page = rt.block_on(store.session_page(request.clone())).unwrap();
            seen.extend(page.sessions.iter().map(|s| s.id.clone()));
            match page.next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen.len(), 25, "{sort:?} {descending}");
        assert_eq!(unique.len(), 25, "{sort:?} {descending}");
    }
}

#[test]
fn session_page_filters_by_tag_range_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = SqliteStore::open(dir.path(), Synchronous::Normal).unwrap();
    let project = rt.block_on(store.ensure_project("p")).unwrap();
    let records = [
        session("old", MONDAY - DAY, &["a"]),
        session("new-a", MONDAY + HOUR, &["a", "b"]),
        session("new-b", MONDAY + 2 * HOUR, &["b"]),
    ];
    for record in records {
        rt.block_on(store.create_session(project.id, record))
            .unwrap();
    }
    let body = r#"{"prompt":"what is 100% of Paris?"}"#;
    let event = llm_event("e1", MONDAY + HOUR, "gpt-4o", 7, body);
    rt.block_on(store.insert_events(project.id, "new-a", vec![event]))
        .unwrap();

    let ids = |filter: SessionFilter| {
        let request = SessionPageRequest {
            filter,
            sort: SessionSort::Start,
            descending: true,
            after: None,
            limit: 10,
        };
        let page = rt.block_on(store.session_page(request)).unwrap();
        page.sessions.into_iter().map(|s| s.id).collect::<Vec<_>>()
    };
    let base = SessionFilter {
        project: project.id,
        ..SessionFilter::default()
    };
    let tagged = SessionFilter {
        tag: Some("a".into()),
        ..base.clone()
    };
    assert_eq!(ids(tagged), ["new-a", "old"]);
    let recent = SessionFilter {
        from_us: Some(MONDAY),
        ..base.clone()
    };
    assert_eq!(ids(recent), ["new-b", "new-a"]);
    let text = SessionFilter {
        text: Some("PARIS".into()),
        ..base.clone()
    };
    assert_eq!(ids(text), ["new-a"]);
    let percent = SessionFilter {
        text: Some("100%".into()),
        ..base.clone()
    };
    assert_eq!(ids(percent), ["new-a"]);
    let wildcard = SessionFilter {
        text: Some("1_0".into()),
        ..base.clone()
    };
    assert!(ids(wildcard).is_empty());
    let model = SessionFilter {
        model: Some("gpt-4o".into()),
        ..base
    };
    assert_eq!(ids(model), ["new-a"]);
}

#[test]
fn metrics_bucket_by_week_from_monday() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = SqliteStore::open(dir.path(), Synchronous::Normal).unwrap();
    let project = rt.block_on(store.ensure_project("p")).unwrap();
    // Sunday before, Monday, and Sunday after that Monday.
    let starts = [MONDAY - HOUR, MONDAY + HOUR, MONDAY + 6 * DAY + HOUR];
    for (index, start) in starts.iter().enumerate() {
        let id = format!("s{index}");
        rt.block_on(store.create_session(project.id, session(&id, *start, &[])))
            .unwrap();
        let cost = 1_000_000_000_001 * (index as i64 + 1);
        let event = llm_event("e", *start, "m", cost, "{}");
        rt.block_on(store.insert_events(project.id, &id, vec![event]))
            .unwrap();
    }
    let query = MetricsQuery {
        filter: SessionFilter {
            project: project.id,
            ..SessionFilter::default()
        },
        granularity: Granularity::Week,
    };
    let metrics = rt.block_on(store.metrics(query)).unwrap();
    let starts: Vec<i64> = metrics.buckets.iter().map(|b| b.start_us).collect();
    assert_eq!(starts, [MONDAY - 7 * DAY, MONDAY]);
    assert_eq!(metrics.buckets[1].figures.sessions, 2);
    assert_eq!(metrics.totals.sessions, 3);
    assert_eq!(metrics.totals.cost_pd, 6_000_000_000_006);
    assert_eq!(metrics.models[0].cost_pd, 6_000_000_000_006);
    assert_eq!(metrics.models[0].calls, 3);
    assert_eq!(metrics.totals.end_states, [("Indeterminate".to_owned(), 3)]);
}

#[test]
fn web_session_expires_and_password_change_ends_others() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = SqliteStore::open(dir.path(), Synchronous::Normal).unwrap();
    let user = NewUser {
        username: "ana".into(),
        password_hash: "hash-1".into(),
        is_admin: false,
        must_change_password: true,
    };
    let user = rt.block_on(store.create_user(user)).unwrap();
    let duplicate = NewUser {
        username: "ana".into(),
        password_hash: "x".into(),
        is_admin: false,
        must_change_password: false,
    };
    assert!(matches!(
        rt.block_on(store.create_user(duplicate)),
        Err(crate::store::StoreError::Conflict(_))
    ));
    for id_hash in ["current", "other"] {
        let web = NewWebSession {
            id_hash: id_hash.into(),
            user_id: user.id,
            csrf_token: "token".into(),
            expires_us: EXPIRES,
        };
        rt.block_on(store.create_web_session(web)).unwrap();
    }
    assert!(
        rt.block_on(store.web_session("current", EXPIRES - 1))
            .unwrap()
            .is_some()
    );
    assert!(
        rt.block_on(store.web_session("current", EXPIRES))
            .unwrap()
            .is_none()
    );

    rt.block_on(store.set_password(user.id, "hash-2", Some("current")))
        .unwrap();
    assert!(
        rt.block_on(store.web_session("current", 0))
            .unwrap()
            .is_some()
    );
    assert!(
        rt.block_on(store.web_session("other", 0))
            .unwrap()
            .is_none()
    );
    let credentials = rt.block_on(store.user_credentials("ana")).unwrap().unwrap();
    assert_eq!(credentials.password_hash, "hash-2");
    assert!(!credentials.user.must_change_password);
}
