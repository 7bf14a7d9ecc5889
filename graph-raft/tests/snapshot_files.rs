//! Snapshot files: a built snapshot installs into another state machine
//! byte for byte; an installation interrupted by a crash (the marker left
//! behind) is finished when the state machine opens; a damaged or
//! truncated file is refused before anything of the store is touched.

mod common;

use std::sync::Arc;

use common::{BoxResult, dump};
use graph_core::{ColumnFamily, Durability, ErrorKind, Properties, PropertyValue, StorageBackend};
use graph_raft::codec::state_key;
use graph_raft::{Command, Entry, LogId, StateMachine};
use graph_storage::MemoryBackend;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, EntryPayload, RaftSnapshotBuilder};

fn entry(index: u64, command: Command) -> Entry {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(command),
    }
}

/// A state machine holding a small graph, with its snapshot built.
async fn source(
    dir: &std::path::Path,
) -> BoxResult<(
    StateMachine<MemoryBackend>,
    openraft::SnapshotMeta<u64, openraft::BasicNode>,
)> {
    let mut sm = StateMachine::open(MemoryBackend::new(), dir, Durability::Strict)?;
    let mut entries = Vec::new();
    for i in 0..50u64 {
        let mutations = vec![
            graph_core::Mutation::CreateNode {
                id: graph_raft::placeholder_node(0),
                labels: vec!["Person".into()],
                properties: Properties::from([("i".to_string(), PropertyValue::Int(i as i64))]),
            },
            graph_core::Mutation::CreateNode {
                id: graph_raft::placeholder_node(1),
                labels: vec!["City".into()],
                properties: Properties::new(),
            },
            graph_core::Mutation::CreateEdge {
                id: graph_raft::placeholder_edge(0),
                src: graph_raft::placeholder_node(0),
                dst: graph_raft::placeholder_node(1),
                edge_type: "LIVES_IN".into(),
                properties: Properties::new(),
            },
        ];
        entries.push(entry(
            i + 1,
            Command::Apply {
                at: 1_000 + i as i64,
                mutations,
            },
        ));
    }
    sm.apply(entries).await?;
    let snap = sm.get_snapshot_builder().await.build_snapshot().await?;
    Ok((sm, snap.meta))
}

#[tokio::test]
async fn a_snapshot_installs_byte_for_byte() -> BoxResult {
    let a = tempfile::tempdir()?;
    let b = tempfile::tempdir()?;
    let (src, meta) = source(a.path()).await?;
    let mut dst = StateMachine::open(MemoryBackend::new(), b.path(), Durability::Strict)?;
    let current = src
        .clone()
        .get_current_snapshot()
        .await?
        .ok_or("no snapshot")?;
    dst.install_snapshot(&meta, current.snapshot).await?;
    assert_eq!(dump(src.store().backend())?, dump(dst.store().backend())?);
    assert!(dst.store().verify()?.is_clean());
    assert_eq!(dst.store().node_count()?, 100);
    assert_eq!(dst.applied_state().await?.0, meta.last_log_id);
    // The installed snapshot is the current one.
    let again = dst
        .get_current_snapshot()
        .await?
        .ok_or("no current snapshot")?;
    assert_eq!(again.meta, meta);
    Ok(())
}

#[tokio::test]
async fn an_interrupted_install_is_finished_on_open() -> BoxResult {
    let a = tempfile::tempdir()?;
    let b = tempfile::tempdir()?;
    let (src, _) = source(a.path()).await?;
    let expected = dump(src.store().backend())?;
    // The crash left: the current snapshot file in place, part of the old
    // state and part of the new one, and the marker.
    std::fs::copy(a.path().join("current.snap"), b.path().join("current.snap"))?;
    let backend = Arc::new(MemoryBackend::new());
    let mut batch = graph_core::WriteBatch::new();
    batch.put(ColumnFamily::Nodes, &[0, 0, 0, 0, 0, 0, 0, 9], b"stale");
    batch.put(ColumnFamily::Default, state_key::INSTALLING, b"x");
    for (cf, k, v) in expected.iter().take(expected.len() / 2) {
        batch.put(*cf, k, v);
    }
    backend.write(&batch, Durability::Strict)?;
    let sm = StateMachine::open(Arc::clone(&backend), b.path(), Durability::Strict)?;
    assert_eq!(dump(&*backend)?, expected);
    assert!(sm.store().verify()?.is_clean());
    Ok(())
}

#[tokio::test]
async fn a_damaged_snapshot_is_refused_and_changes_nothing() -> BoxResult {
    let a = tempfile::tempdir()?;
    let (src, meta) = source(a.path()).await?;
    let bytes = std::fs::read(a.path().join("current.snap"))?;
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("truncated".into(), bytes[..bytes.len() - 5].to_vec()),
        (
            "cut in the middle".into(),
            bytes[..bytes.len() / 2].to_vec(),
        ),
        ("flipped byte".into(), {
            let mut b = bytes.clone();
            let at = b.len() / 2;
            b[at] ^= 0x40;
            b
        }),
        ("trailing garbage".into(), {
            let mut b = bytes.clone();
            b.push(0);
            b
        }),
        ("not a snapshot".into(), b"hello".to_vec()),
    ];
    for (what, damaged) in cases {
        let b = tempfile::tempdir()?;
        let mut dst = StateMachine::open(MemoryBackend::new(), b.path(), Durability::Strict)?;
        // Something already in the store, which must survive.
        dst.apply(vec![entry(
            1,
            Command::CreateIndex {
                label: "P".into(),
                property: "x".into(),
            },
        )])
        .await?;
        let before = dump(dst.store().backend())?;
        let path = b.path().join("incoming");
        std::fs::write(&path, &damaged)?;
        let file = tokio::fs::File::open(&path).await?;
        let result = dst.install_snapshot(&meta, Box::new(file)).await;
        assert!(result.is_err(), "{what}: a damaged snapshot was installed");
        assert_eq!(
            dump(dst.store().backend())?,
            before,
            "{what}: the store changed"
        );
    }
    drop(src);
    Ok(())
}

#[tokio::test]
async fn a_missing_snapshot_of_an_interrupted_install_is_corruption() -> BoxResult {
    let b = tempfile::tempdir()?;
    let backend = MemoryBackend::new();
    backend.put(
        ColumnFamily::Default,
        state_key::INSTALLING,
        b"x",
        Durability::Strict,
    )?;
    let err = StateMachine::open(backend, b.path(), Durability::Strict).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Corruption));
    Ok(())
}
