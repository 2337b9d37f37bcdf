//! Change notes between stores (`src/store/notify.rs`): two stores opened on one Postgres
//! database stand for two replicas; a note published in a transaction reaches both once it
//! commits, never when it rolls back, and a lost listener connection ends in a resync signal.

use std::time::Duration;

use uploadcare_emulator::store::{self, Change, Store, Subscription, Topic};

use crate::common::*;

/// The next change within a few seconds, if any.
async fn next(sub: &mut Subscription) -> Option<Change> {
    tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .ok()
        .flatten()
}

/// Nothing more arrives within a short while.
async fn quiet(sub: &mut Subscription) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sub.try_recv(), None);
}

fn published(topic: Topic, payload: &str) -> Option<Change> {
    Some(Change::Published {
        topic,
        payload: payload.into(),
    })
}

async fn publish(store: &dyn Store, topic: Topic, payload: &str) {
    let mut tx = store.begin().await.unwrap();
    tx.publish(topic, payload);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn postgres_notes_reach_both_replicas_only_on_commit() {
    if postgres_admin_url().is_none() {
        return;
    }
    let url = fresh_postgres_database().await;
    let a = store::open(&url).await.unwrap();
    let b = store::open(&url).await.unwrap();
    let mut on_a = a.changes().subscribe();
    let mut on_b = b.changes().subscribe();

    publish(a.as_ref(), Topic::Faults, "one").await;
    // The publisher hears it at once, the other replica through Postgres; each once.
    assert_eq!(on_a.try_recv(), published(Topic::Faults, "one"));
    assert_eq!(next(&mut on_b).await, published(Topic::Faults, "one"));

    // Rolled back: delivered nowhere. The next committed note is what arrives next.
    let mut tx = b.begin().await.unwrap();
    tx.publish(Topic::Clock, "rolled back");
    drop(tx);
    publish(b.as_ref(), Topic::Projects, "two\twith a tab").await;
    assert_eq!(
        next(&mut on_a).await,
        published(Topic::Projects, "two\twith a tab")
    );
    assert_eq!(
        next(&mut on_b).await,
        published(Topic::Projects, "two\twith a tab")
    );
    quiet(&mut on_a).await;
    quiet(&mut on_b).await;

    // A note too long for Postgres fails the commit, and nothing is delivered.
    let mut tx = a.begin().await.unwrap();
    tx.publish(Topic::Faults, "x".repeat(10_000));
    assert!(tx.commit().await.is_err());
    quiet(&mut on_b).await;

    // Kill the listeners' connections: each replica reconnects and says to resync, and notes
    // flow again afterwards.
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let killed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed.len(), 2, "one listener per store");
    assert_eq!(next(&mut on_a).await, Some(Change::Resync));
    assert_eq!(next(&mut on_b).await, Some(Change::Resync));
    publish(b.as_ref(), Topic::Clock, "three").await;
    assert_eq!(next(&mut on_a).await, published(Topic::Clock, "three"));
    assert_eq!(next(&mut on_b).await, published(Topic::Clock, "three"));
}

#[tokio::test]
async fn sqlite_notes_are_delivered_locally_on_commit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = store::open(&url).await.unwrap();
    let mut sub = store.changes().subscribe();
    let mut tx = store.begin().await.unwrap();
    tx.publish(Topic::Clock, "rolled back");
    drop(tx);
    publish(store.as_ref(), Topic::Faults, "kept").await;
    assert_eq!(sub.try_recv(), published(Topic::Faults, "kept"));
    assert_eq!(sub.try_recv(), None);
}
