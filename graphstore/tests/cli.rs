//! End-to-end tests of the `graphstore` binary: every subcommand runs as a
//! real process on real files, and the stores it leaves are checked through
//! the library.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use graph_storage::{
    CompactString, Direction, GraphStore, NodeId, Properties, PropertyValue as V, RocksDbBackend,
    Timestamp,
};
use graphstore::value::to_json;
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(rel)
}

/// Runs the binary with `args`.
fn gs(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphstore"));
    cmd.arg("--quiet");
    for a in args {
        cmd.arg(a);
    }
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run graphstore: {e}"),
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and requires success.
fn ok(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let o = gs(args);
    assert!(
        o.status.success(),
        "graphstore failed: {}\n{}",
        stderr(&o),
        stdout(&o)
    );
    stdout(&o)
}

/// Runs and requires a failure with exit `code` and one error line,
/// returning that line.
fn fails(args: &[&dyn AsRef<std::ffi::OsStr>], code: i32) -> String {
    let o = gs(args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    let err = stderr(&o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("graphstore: "))
        .collect();
    assert_eq!(lines.len(), 1, "want one error line, got: {err}");
    assert!(lines[0].starts_with("graphstore: error: "), "{err}");
    assert!(
        !err.contains("panicked")
            && !err.contains("internal error")
            && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    lines[0].to_owned()
}

fn json(out: &str) -> Value {
    match serde_json::from_str(out) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {out}"),
    }
}

/// A graph as comparable text, independent of store ids: nodes keyed by an
/// external key (`key_of`), edges as sorted (src key, dst key, type,
/// properties) lines. Values are compared through their JSON form, so NaN
/// equals NaN.
fn canonical(
    dir: &Path,
    key_of: &dyn Fn(&graph_storage::Node) -> String,
) -> Result<(Vec<String>, Vec<String>), Box<dyn std::error::Error>> {
    let store = GraphStore::open(RocksDbBackend::open(dir)?)?;
    let props = |p: &Properties| -> String {
        let m: BTreeMap<&str, String> = p
            .iter()
            .map(|(k, v)| (k.as_str(), to_json(v).to_string()))
            .collect();
        format!("{m:?}")
    };
    let (nodes, edges) = {
        let r = store.snapshot()?;
        let mut keys = BTreeMap::new();
        let mut nodes = Vec::new();
        for n in r.iter_nodes() {
            let n = n?;
            let k = key_of(&n);
            nodes.push(format!("{k} {:?} {}", n.labels, props(&n.properties)));
            keys.insert(n.id, k);
        }
        let mut edges = Vec::new();
        for e in r.iter_edges() {
            let e = e?;
            edges.push(format!(
                "{} -{}-> {} {}",
                keys.get(&e.src).cloned().unwrap_or_default(),
                e.edge_type,
                keys.get(&e.dst).cloned().unwrap_or_default(),
                props(&e.properties)
            ));
        }
        nodes.sort();
        edges.sort();
        assert!(store.verify()?.is_clean());
        (nodes, edges)
    };
    store.into_backend().close()?;
    Ok((nodes, edges))
}

fn by_id(n: &graph_storage::Node) -> String {
    n.id.0.to_string()
}

fn by_name(n: &graph_storage::Node) -> String {
    match n.properties.get("name") {
        Some(V::String(s)) => s.to_string(),
        _ => format!("#{}", n.id.0),
    }
}

fn lesmis(store: &Path) -> String {
    ok(&[
        &"import",
        &store,
        &"--nodes",
        &data("les-miserables/characters.csv"),
        &"--relationships",
        &data("les-miserables/cooccurrences.csv"),
    ])
}

#[test]
fn shipped_dataset_round_trips_through_csv_and_jsonl() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let a = tmp.path().join("a");
    let out = lesmis(&a);
    assert!(
        out.contains("imported 77 nodes and 254 relationships"),
        "{out}"
    );
    let original = canonical(&a, &by_name)?;
    assert_eq!((original.0.len(), original.1.len()), (77, 254));

    for format in ["csv", "jsonl"] {
        let exported = tmp.path().join(format!("export.{format}"));
        let b = tmp.path().join(format!("b-{format}"));
        ok(&[&"export", &a, &"--format", &format, &"--out", &exported]);
        let input_flags: Vec<Box<dyn AsRef<std::ffi::OsStr>>> = if format == "csv" {
            vec![
                Box::new("--nodes"),
                Box::new(exported.join("nodes.csv")),
                Box::new("--relationships"),
                Box::new(exported.join("relationships.csv")),
            ]
        } else {
            vec![Box::new("--jsonl"), Box::new(exported.clone())]
        };
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"import", &b];
        args.extend(
            input_flags
                .iter()
                .map(|b| b.as_ref() as &dyn AsRef<std::ffi::OsStr>),
        );
        ok(&args);
        assert_eq!(canonical(&b, &by_name)?, original, "{format}");
        // Ids are kept too: the re-imported store has the same ids.
        assert_eq!(canonical(&b, &by_id)?, canonical(&a, &by_id)?, "{format}");
    }

    // The batched path builds the same store as the bulk path (the
    // default for a new store): same records, ids and entries.
    let batched = tmp.path().join("batched");
    ok(&[
        &"import",
        &batched,
        &"--mode",
        &"batched",
        &"--nodes",
        &data("les-miserables/characters.csv"),
        &"--relationships",
        &data("les-miserables/cooccurrences.csv"),
    ]);
    // It ends flushed: its records are in the engine's files, not only in
    // the write-ahead log the next open would replay (unflushed, this
    // import's log is 40 KB; flushed, the new log is empty).
    let mut log_bytes = 0;
    for entry in std::fs::read_dir(&batched)? {
        let entry = entry?;
        if entry.path().extension().is_some_and(|e| e == "log") {
            log_bytes += entry.metadata()?.len();
        }
    }
    assert!(
        log_bytes < 1024,
        "{log_bytes} bytes of write-ahead log left"
    );
    assert_eq!(canonical(&batched, &by_id)?, canonical(&a, &by_id)?);

    // The karate club as an edge list.
    let k = tmp.path().join("karate");
    let out = ok(&[
        &"import",
        &k,
        &"--edge-list",
        &data("karate-club/karate.edges"),
    ]);
    assert!(
        out.contains("imported 34 nodes and 78 relationships"),
        "{out}"
    );
    let exported = tmp.path().join("karate-export");
    ok(&[&"export", &k, &"--out", &exported]);
    let k2 = tmp.path().join("karate2");
    ok(&[
        &"import",
        &k2,
        &"--nodes",
        &exported.join("nodes.csv"),
        &"--relationships",
        &exported.join("relationships.csv"),
    ]);
    assert_eq!(canonical(&k2, &by_id)?, canonical(&k, &by_id)?);
    Ok(())
}

/// A store holding every property type, including the awkward values (NaN,
/// -0.0, empty strings and lists, nested lists and maps, `$`-keyed maps,
/// strings with delimiters, quotes and line breaks).
fn every_type_store(dir: &Path) -> TestResult {
    let store = GraphStore::open(RocksDbBackend::open(dir)?)?;
    let values = vec![
        V::Null,
        V::Bool(false),
        V::Int(i64::MIN),
        V::Float(f64::NAN),
        V::Float(-0.0),
        V::Float(1e-300),
        V::String(String::new().into()),
        V::String("a,b;c \"quoted\"\nnext line".into()),
        V::Bytes(vec![0, 1, 254, 255]),
        V::Bytes(Vec::new()),
        V::DateTime(Timestamp(-86_400_000_001)),
        V::List(vec![]),
        V::List(vec![V::Int(1), V::Int(-2)]),
        V::List(vec![V::String("x;y".into())]),
        V::List(vec![V::Float(0.5), V::Null]),
        V::Map(Properties::from([("$tag", V::Int(1))])),
        V::Map(Properties::from([("inner", V::List(vec![V::Bool(true)]))])),
        V::Vector(vec![0.1, -2.5, f32::MAX]),
    ];
    let mut ids = Vec::new();
    let mut b = store.batch();
    for (i, v) in values.iter().enumerate() {
        let mut p = Properties::new();
        p.insert("name", V::String(format!("n{i}").into()));
        p.insert(format!("k{i}"), v.clone());
        // A shared key whose values change type: a json column.
        p.insert("mixed", v.clone());
        // A key with one type throughout: typed columns.
        p.insert("count", V::Int(i as i64));
        p.insert("ratio", V::Float(i as f64 / 7.0));
        p.insert("flag", V::Bool(i % 2 == 0));
        p.insert(
            "at",
            V::DateTime(Timestamp(1_700_000_000_000_000 + i as i64)),
        );
        p.insert(
            "tags",
            V::List(vec![
                V::String(format!("t{i}").into()),
                V::String("all".into()),
            ]),
        );
        let labels: &[&str] = if i % 2 == 0 { &["A", "B"] } else { &["C"] };
        ids.push(b.create_node(labels, p)?);
    }
    for (i, v) in values.iter().enumerate() {
        let mut p = Properties::new();
        p.insert("v", v.clone());
        p.insert("w", V::Float(i as f64));
        b.create_edge(
            ids[i],
            ids[(i * 5 + 3) % ids.len()],
            if i % 2 == 0 { "X" } else { "Y" },
            p,
        )?;
    }
    b.create_edge(ids[0], ids[0], "SELF", Properties::new())?;
    b.commit()?;
    store.into_backend().close()?;
    Ok(())
}

#[test]
fn every_property_type_round_trips() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let a = tmp.path().join("a");
    every_type_store(&a)?;
    let original = canonical(&a, &by_name)?;
    for format in ["csv", "jsonl"] {
        let exported = tmp.path().join(format!("e.{format}"));
        ok(&[&"export", &a, &"--format", &format, &"--out", &exported]);
        let b = tmp.path().join(format!("b-{format}"));
        if format == "csv" {
            ok(&[
                &"import",
                &b,
                &"--nodes",
                &exported.join("nodes.csv"),
                &"--relationships",
                &exported.join("relationships.csv"),
            ]);
        } else {
            ok(&[&"import", &b, &"--jsonl", &exported]);
        }
        assert_eq!(canonical(&b, &by_name)?, original, "{format}");
        // export -> import -> export gives the same bytes.
        let again = tmp.path().join(format!("again.{format}"));
        ok(&[&"export", &b, &"--format", &format, &"--out", &again]);
        if format == "csv" {
            for f in ["nodes.csv", "relationships.csv"] {
                assert_eq!(
                    std::fs::read(exported.join(f))?,
                    std::fs::read(again.join(f))?,
                    "{f}"
                );
            }
        } else {
            assert_eq!(std::fs::read(&exported)?, std::fs::read(&again)?);
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[test]
fn a_bad_row_names_file_line_column_and_changes_nothing() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("s");
    lesmis(&store);
    let before = canonical(&store, &by_id)?;
    let nodes = tmp.path().join("people.csv");
    write(
        &nodes,
        "id:ID,name,age:int\np1,Ann,34\np2,Bob,x7\np3,Cid,41\n",
    )?;
    let line = fails(&[&"import", &store, &"--nodes", &nodes], 1);
    assert!(
        line.contains(&format!("{}:3:3:", nodes.display())),
        "{line}"
    );
    assert!(line.contains("\"x7\" is not an integer"), "{line}");
    assert_eq!(canonical(&store, &by_id)?, before);

    // A relationship naming an unknown node is a bad row too, and a good
    // node file before it is not imported either.
    let good = tmp.path().join("good.csv");
    write(&good, "id:ID,name\nq1,Q\n")?;
    let rels = tmp.path().join("rels.csv");
    write(
        &rels,
        ":START_ID,:END_ID,:TYPE\nq1,q1,SELF\nq1,nobody,KNOWS\n",
    )?;
    let line = fails(
        &[
            &"import",
            &store,
            &"--nodes",
            &good,
            &"--relationships",
            &rels,
        ],
        1,
    );
    assert!(line.contains(&format!("{}:3:2:", rels.display())), "{line}");
    assert!(line.contains("\"nobody\""), "{line}");
    assert_eq!(canonical(&store, &by_id)?, before);

    // Malformed CSV structure, JSON and edge lists.
    let short = tmp.path().join("short.csv");
    write(&short, "id:ID,name\nr1\n")?;
    let line = fails(&[&"import", &store, &"--nodes", &short], 1);
    assert!(
        line.contains(":2:0: row has 1 fields, the header has 2"),
        "{line}"
    );
    let jl = tmp.path().join("bad.jsonl");
    write(
        &jl,
        "{\"type\":\"node\",\"id\":1}\n{\"type\":\"node\",\"id\":2,\n",
    )?;
    let line = fails(&[&"import", &store, &"--jsonl", &jl], 1);
    assert!(
        line.contains(&format!("{}:2:", jl.display())) && line.contains("not JSON"),
        "{line}"
    );
    let el = tmp.path().join("bad.edges");
    write(&el, "# comment\n1 2\n1 2 3 4 5\n")?;
    let line = fails(&[&"import", &store, &"--edge-list", &el], 1);
    assert!(line.contains(&format!("{}:3:0:", el.display())), "{line}");
    let header = tmp.path().join("header.csv");
    write(&header, "id:ID,loc:point\n1,x\n")?;
    let line = fails(&[&"import", &store, &"--nodes", &header], 1);
    assert!(
        line.contains(":1:2:") && line.contains("unsupported type"),
        "{line}"
    );
    let binary = tmp.path().join("binary.csv");
    std::fs::write(&binary, b"id:ID,name\n1,\xff\xfe\n")?;
    let line = fails(&[&"import", &store, &"--nodes", &binary], 1);
    assert!(line.contains(":2:") && line.contains("UTF-8"), "{line}");
    assert_eq!(canonical(&store, &by_id)?, before);

    // The bulk path reports the same row, and creates no store (nor leaves
    // a staging directory).
    let bulk = tmp.path().join("bulk");
    let line_bulk = fails(
        &[&"import", &bulk, &"--mode", &"bulk", &"--nodes", &nodes],
        1,
    );
    assert!(
        line_bulk.contains(&format!("{}:3:3:", nodes.display())),
        "{line_bulk}"
    );
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert!(!names.iter().any(|n| n.contains("bulk")), "{names:?}");
    // The bulk path needs a new store.
    let line = fails(
        &[&"import", &store, &"--mode", &"bulk", &"--nodes", &good],
        1,
    );
    assert!(line.contains("needs a new store"), "{line}");
    assert_eq!(canonical(&store, &by_id)?, before);

    // A new store stays empty after a failed import.
    let fresh = tmp.path().join("fresh");
    fails(
        &[&"import", &fresh, &"--mode", &"batched", &"--nodes", &nodes],
        1,
    );
    let (n, e) = canonical(&fresh, &by_id)?;
    assert!(n.is_empty() && e.is_empty());
    Ok(())
}

#[test]
fn bad_rows_can_be_skipped_into_a_report() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("s");
    let nodes = tmp.path().join("people.csv");
    write(
        &nodes,
        "id:ID,:LABEL,age:int\np1,Person,34\np2,Person,x7\np3,Person;Admin,41\np3,Person,1\n",
    )?;
    let rels = tmp.path().join("rels.csv");
    write(
        &rels,
        ":START_ID,:END_ID,:TYPE,since:int\np1,p3,KNOWS,2001\np1,p2,KNOWS,2002\np3,p1,KNOWS,\n",
    )?;
    let report = tmp.path().join("report.txt");
    let out = ok(&[
        &"import",
        &store,
        &"--nodes",
        &nodes,
        &"--relationships",
        &rels,
        &"--skip-bad-rows",
        &"--bad-rows-report",
        &report,
        &"--json",
    ]);
    let v = json(&out);
    assert_eq!(v["nodes"], 2);
    assert_eq!(v["relationships"], 2);
    assert_eq!(v["bad_rows"], 3);
    let text = std::fs::read_to_string(&report)?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("people.csv:3:3:"), "{text}");
    assert!(
        lines[1].contains("people.csv:5:0: duplicate node id \"p3\""),
        "{text}"
    );
    assert!(lines[2].contains("rels.csv:3:2:"), "{text}");

    // The mapping is saved: a later file refers to earlier nodes; the same
    // node file again is refused as a whole.
    let later = tmp.path().join("later.csv");
    write(&later, ":START_ID,:END_ID,:TYPE\np3,p3,SELF\n")?;
    ok(&[&"import", &store, &"--relationships", &later]);
    let again = tmp.path().join("again.csv");
    write(&again, "id:ID\np1\n")?;
    let line = fails(&[&"import", &store, &"--nodes", &again], 1);
    assert!(line.contains("was imported before"), "{line}");
    let (n, e) = canonical(&store, &by_id)?;
    assert_eq!((n.len(), e.len()), (2, 3));
    Ok(())
}

/// What the store refuses (empty property keys, labels and types, values
/// nested too deeply) is a bad row at its line, found before anything is
/// written, on both write paths; a node left out takes its relationships
/// with it.
#[test]
fn rows_the_store_would_refuse_are_bad_rows_at_their_line() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let jsonl = tmp.path().join("g.jsonl");
    write(
        &jsonl,
        &[
            r#"{"type":"node","id":"a","labels":["P"],"properties":{"":1}}"#.to_owned(),
            r#"{"type":"node","id":"b","labels":["P",""],"properties":{}}"#.to_owned(),
            format!(r#"{{"type":"node","id":"c","labels":[],"properties":{{"x":{deep}}}}}"#),
            r#"{"type":"node","id":"d","labels":["P"],"properties":{"k":1}}"#.to_owned(),
            r#"{"type":"relationship","id":"r1","label":"","start":{"id":"d"},"end":{"id":"d"},"properties":{}}"#.to_owned(),
            r#"{"type":"relationship","id":"r2","label":"T","start":{"id":"a"},"end":{"id":"d"},"properties":{}}"#.to_owned(),
            r#"{"type":"relationship","id":"r3","label":"T","start":{"id":"d"},"end":{"id":"d"},"properties":{"w":2}}"#.to_owned(),
            String::new(),
        ]
        .join("\n"),
    )?;
    let edges = tmp.path().join("e.txt");
    write(&edges, "1 2 {'': 3}\n2 3 {'w': 1}\n")?;
    let reasons = [
        "g.jsonl:1:0: property keys must not be empty",
        "g.jsonl:2:0: an empty label",
        "g.jsonl:3:0: property \"x\" nests deeper than 32 levels",
        "g.jsonl:5:0: an empty relationship type",
        "g.jsonl:6:",
    ];
    for mode in ["bulk", "batched"] {
        let store = tmp.path().join(mode);
        let line = fails(
            &[&"import", &store, &"--mode", &mode, &"--jsonl", &jsonl],
            1,
        );
        assert!(line.contains(reasons[0]), "{mode}: {line}");
        assert!(line.contains("nothing was imported"), "{mode}: {line}");
        let line = fails(
            &[&"import", &store, &"--mode", &mode, &"--edge-list", &edges],
            1,
        );
        assert!(
            line.contains("e.txt:1:0: property keys must not be empty"),
            "{mode}: {line}"
        );
        let (n, e) = canonical(&store, &by_id)?;
        assert!(n.is_empty() && e.is_empty(), "{mode}: {n:?} {e:?}");

        // canonical() opened the store: the bulk path needs a new one.
        let store = tmp.path().join(format!("{mode}-skip"));
        let report = tmp.path().join(format!("{mode}.txt"));
        let v = json(&ok(&[
            &"import",
            &store,
            &"--mode",
            &mode,
            &"--jsonl",
            &jsonl,
            &"--skip-bad-rows",
            &"--bad-rows-report",
            &report,
            &"--json",
        ]));
        assert_eq!(
            (&v["nodes"], &v["relationships"], &v["bad_rows"]),
            (&1.into(), &1.into(), &5.into()),
            "{mode}: {v}"
        );
        let text = std::fs::read_to_string(&report)?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), reasons.len(), "{mode}: {text}");
        for (line, want) in lines.iter().zip(reasons) {
            assert!(line.contains(want), "{mode}: {line:?} lacks {want:?}");
        }
        assert!(lines[4].contains("start node \"a\""), "{mode}: {text}");
        let v = json(&ok(&[
            &"import",
            &store,
            &"--edge-list",
            &edges,
            &"--skip-bad-rows",
            &"--json",
        ]));
        assert_eq!(
            (&v["relationships"], &v["bad_rows"]),
            (&1.into(), &1.into()),
            "{mode}: {v}"
        );
        ok(&[&"verify", &store]);
    }
    Ok(())
}

#[test]
fn inspection_commands_answer_in_text_and_json() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("s");
    lesmis(&store);
    let stats = json(&ok(&[&"stats", &store, &"--json"]));
    assert_eq!(stats["nodes"], 77);
    assert_eq!(stats["edges"], 254);
    assert_eq!(stats["format_version"], graph_storage::FORMAT_VERSION);
    assert_eq!(stats["labels"][0]["label"], "Character");
    assert_eq!(stats["edge_types"][0]["edges"], 254);
    assert_eq!(stats["external_ids"], 77);
    assert_eq!(stats["column_families"].as_array().map(Vec::len), Some(4));
    assert!(stats["engine"]["disk_bytes"].as_u64().unwrap_or(0) > 0);
    assert!(ok(&[&"stats", &store]).contains("APPEARS_WITH"));
    // The adjacency in RAM: estimated by a plain `stats`, built and
    // measured by `stats --adjacency`.
    let adjacency = &stats["adjacency"];
    assert_eq!(adjacency["status"], "off", "{adjacency}");
    assert_eq!(adjacency["fits"], true, "{adjacency}");
    let estimated = adjacency["estimated_bytes"].as_u64().unwrap_or(0);
    assert!(estimated >= 254 * 32, "{adjacency}");
    let built = json(&ok(&[&"stats", &store, &"--adjacency", &"--json"]));
    let adjacency = &built["adjacency"];
    assert_eq!(adjacency["status"], "ready", "{adjacency}");
    assert_eq!(adjacency["edges"], 254, "{adjacency}");
    let used = adjacency["used_bytes"].as_u64().unwrap_or(0);
    assert!(used >= 254 * 32 && used <= estimated, "{used} {estimated}");
    assert!(ok(&[&"stats", &store, &"--adjacency"]).contains("in RAM: "));

    // Valjean by the index and by a scan.
    let valjean = {
        let s = GraphStore::open(RocksDbBackend::open(&store)?)?;
        let id = s.external_id("Character", "Valjean")?.map(|n| n.0);
        s.into_backend().close()?;
        id.ok_or("no Valjean")?
    };
    let node = json(&ok(&[
        &"get",
        &"node",
        &store,
        &valjean.to_string(),
        &"--json",
    ]));
    assert_eq!(node["properties"]["name"], "Valjean");
    assert!(ok(&[&"get", &"node", &store, &valjean.to_string()]).contains(":Character"));
    let neighbors = json(&ok(&[
        &"neighbors",
        &store,
        &valjean.to_string(),
        &"--both",
        &"--json",
    ]));
    assert_eq!(neighbors.as_array().map(Vec::len), Some(36));
    let limited = json(&ok(&[
        &"neighbors",
        &store,
        &valjean.to_string(),
        &"--both",
        &"--limit",
        &"5",
        &"--type",
        &"APPEARS_WITH",
        &"--json",
    ]));
    assert_eq!(limited.as_array().map(Vec::len), Some(5));
    let edge_id = limited[0]["edge"].as_u64().ok_or("no edge id")?;
    let edge = json(&ok(&[
        &"get",
        &"edge",
        &store,
        &edge_id.to_string(),
        &"--json",
    ]));
    assert_eq!(edge["type"], "APPEARS_WITH");
    let none = json(&ok(&[
        &"neighbors",
        &store,
        &valjean.to_string(),
        &"--type",
        &"NOPE",
        &"--json",
    ]));
    assert_eq!(none.as_array().map(Vec::len), Some(0));

    let scan = json(&ok(&[
        &"find",
        &store,
        &"--label",
        &"Character",
        &"--where",
        &"partners>=20",
        &"--json",
    ]));
    ok(&[&"index", &"create", &store, &"Character", &"partners"]);
    let list = json(&ok(&[&"index", &"list", &store, &"--json"]));
    assert_eq!(list[0]["property"], "partners");
    let indexed = json(&ok(&[
        &"find",
        &store,
        &"--label",
        &"Character",
        &"--where",
        &"partners>=20",
        &"--json",
    ]));
    assert_eq!(scan, indexed);
    assert_eq!(indexed.as_array().map(Vec::len), Some(2));
    let range = json(&ok(&[
        &"find",
        &store,
        &"--label",
        &"Character",
        &"--where",
        &"partners>=10,partners<20",
        &"--json",
    ]));
    let scanned_range = json(&ok(&[
        &"find",
        &store,
        &"--label",
        &"Character",
        &"--where",
        &"name!=\"x\",partners>=10,partners<20",
        &"--json",
    ]));
    assert!(range.as_array().map_or(0, Vec::len) > 2);
    assert_eq!(
        range.as_array().map(Vec::len),
        scanned_range.as_array().map(Vec::len)
    );
    let eq = json(&ok(&[
        &"find",
        &store,
        &"--label",
        &"Character",
        &"--where",
        &"name=Valjean",
        &"--json",
    ]));
    assert_eq!(eq[0]["id"], valjean);
    let all = json(&ok(&[
        &"find",
        &store,
        &"--label",
        &"Character",
        &"--limit",
        &"10",
        &"--json",
    ]));
    assert_eq!(all.as_array().map(Vec::len), Some(10));
    ok(&[&"index", &"drop", &store, &"Character", &"partners"]);
    assert!(ok(&[&"index", &"list", &store]).contains("no indexes"));
    fails(&[&"index", &"drop", &store, &"Character", &"partners"], 1);
    fails(&[&"get", &"node", &store, &"999999"], 1);
    fails(&[&"neighbors", &store, &"999999"], 1);
    fails(
        &[
            &"find",
            &store,
            &"--label",
            &"Character",
            &"--where",
            &"partners",
        ],
        1,
    );
    Ok(())
}

#[test]
fn verify_reports_damage_and_repair_restores_the_graph() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("s");
    lesmis(&store);
    ok(&[&"index", &"create", &store, &"Character", &"partners"]);
    let before = canonical(&store, &by_id)?;
    let clean = json(&ok(&[&"verify", &store, &"--json"]));
    assert_eq!(clean["clean"], true);
    // Damage derived entries through the raw backend: drop every adjacency
    // and label entry of one node and a counter.
    {
        use graph_storage::{
            ColumnFamily, Durability, KeyRange, ReadView, ScanDirection, StorageBackend,
        };
        let b = RocksDbBackend::open(&store)?;
        let keys = b.collect_range(
            ColumnFamily::Indices,
            KeyRange::all(),
            ScanDirection::Forward,
            None,
        )?;
        let mut batch = graph_storage::WriteBatch::new();
        for (k, _) in keys.iter().step_by(7) {
            batch.delete(ColumnFamily::Indices, k);
        }
        batch.put(
            ColumnFamily::Indices,
            b"\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x99\x99",
            b"",
        );
        b.write(&batch, Durability::Strict)?;
        b.close()?;
    }
    let line = fails(&[&"verify", &store], 3);
    assert!(
        line.contains("inconsistent") && line.contains("graphstore repair"),
        "{line}"
    );
    let report = json(&ok(&[&"repair", &store, &"--json"]));
    assert_eq!(report["clean"], true);
    assert!(report["entries_added"].as_u64().unwrap_or(0) > 0);
    assert_eq!(report["entries_removed"], 1);
    ok(&[&"verify", &store]);
    assert_eq!(canonical(&store, &by_id)?, before);
    Ok(())
}

#[test]
fn checkpoint_backup_restore_and_compact_keep_the_graph() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("s");
    lesmis(&store);
    let before = canonical(&store, &by_id)?;

    let cp = tmp.path().join("checkpoint");
    ok(&[&"checkpoint", &store, &cp]);
    assert_eq!(canonical(&cp, &by_id)?, before);
    fails(&[&"checkpoint", &store, &cp], 1);

    let backups = tmp.path().join("backups");
    let first = json(&ok(&[&"backup", &store, &backups, &"--json"]));
    let restored = tmp.path().join("restored");
    // Change the store, back up again: restore picks the backup asked for.
    ok(&[
        &"import",
        &store,
        &"--edge-list",
        &data("karate-club/karate.edges"),
    ]);
    let changed = canonical(&store, &by_id)?;
    let second = json(&ok(&[&"backup", &store, &backups, &"--json"]));
    assert_ne!(first["id"], second["id"]);
    let out = ok(&[
        &"restore",
        &restored,
        &backups,
        &"--backup-id",
        &first["id"].to_string(),
    ]);
    assert!(out.contains("verified clean"), "{out}");
    assert_eq!(canonical(&restored, &by_id)?, before);
    let latest = tmp.path().join("latest");
    ok(&[&"restore", &latest, &backups]);
    assert_eq!(canonical(&latest, &by_id)?, changed);
    // Restoring over a store is refused and leaves it alone.
    fails(&[&"restore", &latest, &backups], 1);
    assert_eq!(canonical(&latest, &by_id)?, changed);

    let out = ok(&[&"compact", &store]);
    assert!(out.contains("compacted"), "{out}");
    assert_eq!(canonical(&store, &by_id)?, changed);
    Ok(())
}

#[test]
fn a_checkpoint_taken_during_concurrent_writes_verifies_clean() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("s");
    let cp = tmp.path().join("cp");
    {
        let store = std::sync::Arc::new(GraphStore::open(RocksDbBackend::open(&dir)?)?);
        store.create_index("P", "i")?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Commits made so far by both writers.
        let commits = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (store, stop) = (std::sync::Arc::clone(&store), std::sync::Arc::clone(&stop));
                let commits = std::sync::Arc::clone(&commits);
                std::thread::spawn(move || -> graph_storage::Result<u64> {
                    let mut n = 0u64;
                    let mut prev = None;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let mut b = store.batch();
                        let mut p = Properties::new();
                        p.insert("i", V::Int(n as i64 * 2 + w));
                        let id = b.create_node(&["P"], p)?;
                        if let Some(prev) = prev {
                            b.create_edge(prev, id, "NEXT", Properties::new())?;
                        }
                        b.commit()?;
                        if n % 7 == 3 {
                            store.detach_delete_node(id)?;
                        } else {
                            prev = Some(id);
                        }
                        n += 1;
                        commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(n)
                })
            })
            .collect();
        // The checkpoint is taken between commits of both writers: after
        // 200 of them, and the writers go on for 200 more after it. Waits
        // count commits, not time, and are bounded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let reach = |n: u64| -> TestResult {
            while commits.load(std::sync::atomic::Ordering::Relaxed) < n {
                if writers.iter().any(std::thread::JoinHandle::is_finished) {
                    return Err("a writer stopped early".into());
                }
                if std::time::Instant::now() > deadline {
                    return Err(format!("fewer than {n} commits within 60 s").into());
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(())
        };
        let outcome = reach(200).and_then(|()| {
            store.backend().checkpoint(&cp)?;
            reach(commits.load(std::sync::atomic::Ordering::Relaxed) + 200)
        });
        // The writers stop and are joined whatever happened.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            match w.join() {
                Ok(r) => assert!(r? > 0),
                Err(_) => return Err("writer panicked".into()),
            }
        }
        outcome?;
    }
    let out = ok(&[&"verify", &cp]);
    assert!(out.contains("clean"), "{out}");
    let stats = json(&ok(&[&"stats", &cp, &"--json"]));
    assert!(stats["nodes"].as_u64().unwrap_or(0) > 0);
    Ok(())
}

#[test]
fn errors_are_one_line_with_advice() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let missing = tmp.path().join("missing");
    let line = fails(&[&"stats", &missing], 1);
    assert!(line.contains("does not exist"), "{line}");
    let file = tmp.path().join("file");
    write(&file, "not a store")?;
    assert!(fails(&[&"verify", &file], 1).contains("is a file"));
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign)?;
    write(&foreign.join("notes.txt"), "hello")?;
    let line = fails(&[&"stats", &foreign], 1);
    assert!(line.contains("cannot open the store"), "{line}");
    assert_eq!(
        std::fs::read_dir(&foreign)?.count(),
        1,
        "a foreign directory is left untouched"
    );
    fails(
        &[
            &"import",
            &tmp.path().join("s"),
            &"--nodes",
            &tmp.path().join("nope.csv"),
        ],
        1,
    );
    fails(&[&"import", &tmp.path().join("s")], 1);

    // A locked store.
    let store = tmp.path().join("locked");
    lesmis(&store);
    {
        let held = RocksDbBackend::open(&store)?;
        let line = fails(&[&"stats", &store], 1);
        assert!(
            line.contains("another process has this store open"),
            "{line}"
        );
        held.close()?;
    }
    // A store a bulk load is creating (its load lock held, as `import`
    // holds it): reads and imports say so, and leave the load alone.
    let loading = tmp.path().join("loading");
    let staging = tmp.path().join(".loading.bulk-staging");
    std::fs::create_dir(&staging)?;
    let lock = std::fs::File::create(format!("{}.lock", staging.display()))?;
    lock.try_lock()?;
    for args in [
        vec![&"stats" as &dyn AsRef<std::ffi::OsStr>, &loading],
        vec![
            &"import",
            &loading,
            &"--edge-list",
            &data("karate-club/karate.edges"),
        ],
    ] {
        let line = fails(&args, 1);
        assert!(
            line.contains("a bulk load (graphstore import) is creating"),
            "{line}"
        );
    }
    assert!(staging.is_dir() && !loading.exists());
    drop(lock);
    std::fs::remove_dir(&staging)?;
    // A damaged store file: a garbled CURRENT.
    let damaged = tmp.path().join("damaged");
    lesmis(&damaged);
    write(&damaged.join("CURRENT"), "MANIFEST-999999\n")?;
    let line = fails(&[&"stats", &damaged], 1);
    assert!(line.contains("cannot open the store"), "{line}");
    // A reader that stops early (`| head`) ends the tool quietly.
    for args in [
        vec!["stats", "STORE"],
        vec!["export", "STORE", "--format", "jsonl", "--out", "-"],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphstore"));
        for a in &args {
            if *a == "STORE" {
                cmd.arg(&store);
            } else {
                cmd.arg(a);
            }
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        drop(child.stdout.take());
        let out = child.wait_with_output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("internal error") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
        assert!(
            matches!(out.status.code(), Some(0 | 141)),
            "{args:?}: {:?}",
            out.status
        );
    }
    // Usage errors are clap's (exit 2), with --help everywhere.
    let o = gs(&[&"neighbors"]);
    assert_eq!(o.status.code(), Some(2));
    for sub in [
        "import",
        "export",
        "stats",
        "get",
        "neighbors",
        "find",
        "index",
        "verify",
        "repair",
        "checkpoint",
        "backup",
        "restore",
        "compact",
        "demo",
    ] {
        let o = gs(&[&sub, &"--help"]);
        assert!(o.status.success() && stdout(&o).contains("Usage"), "{sub}");
    }
    Ok(())
}

#[test]
fn demo_runs_at_a_small_size() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("demo");
    let out = ok(&[
        &"demo",
        &dir,
        &"--nodes",
        &"2000",
        &"--edges",
        &"10000",
        &"--lookups",
        &"1000",
        &"--json",
    ]);
    for want in [
        "Les Misérables",
        "node n73 is \"Valjean\" again",
        "Who is central in Les Misérables",
        "karate club",
        "get_node",
        "neighbors",
        "index :Person(age)",
        "verify: clean",
    ] {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
    // PageRank over the co-occurrences: Valjean first.
    let central = out
        .split("Who is central in Les Misérables")
        .nth(1)
        .and_then(|rest| rest.lines().nth(2))
        .unwrap_or_default();
    assert!(central.ends_with("Valjean"), "{central:?}");
    let stats = json(&ok(&[&"stats", &dir.join("generated"), &"--json"]));
    assert_eq!(stats["nodes"], 2000);
    assert_eq!(stats["edges"], 10000);
    let store = GraphStore::open(RocksDbBackend::open(dir.join("karate-club"))?)?;
    let one = store.external_id("member", "1")?.ok_or("no member 1")?;
    assert_eq!(store.degree(one, Direction::Both, None)?, 16);
    store.into_backend().close()?;
    fails(&[&"demo", &dir], 1);
    Ok(())
}

/// `bytes` gzip-compressed, as one member per part (`cat a.gz b.gz`).
fn gzip(parts: &[&[u8]]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use std::io::Write;
    let mut out = Vec::new();
    for part in parts {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part)?;
        out.extend(enc.finish()?);
    }
    Ok(out)
}

/// GraphML as networkx, igraph, Gephi, yEd and Neo4j's APOC write it:
/// typed keys with defaults, entities and CDATA in values, an edge
/// before the nodes it names, APOC's labels and types, yEd's graphics
/// keys ignored, gzip-compressed; and what is wrong with a file, each
/// reported at its line (bad rows skippable, broken files fatal).
#[test]
fn graphml_files_import_with_their_keys_and_defaults() -> TestResult {
    let doc = r##"<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:y="http://www.yworks.com/xml/graphml">
  <key id="d0" for="node" attr.name="name" attr.type="string"/>
  <key id="d1" for="node" attr.name="age" attr.type="int"><default>7</default></key>
  <key id="d2" for="edge" attr.name="weight" attr.type="double"><default>1.5</default></key>
  <key id="d3" for="all" attr.name="ok" attr.type="boolean"/>
  <key id="d4" for="node" yfiles.type="nodegraphics"/>
  <key id="labels" for="node" attr.name="labels"/>
  <graph id="G" edgedefault="directed">
    <edge id="e0" source="a" target="b"><data key="d2">2.5</data></edge>
    <node id="a"><data key="d0">Ann &amp; Bo &#233;</data><data key="d3">True</data>
      <data key="d4"><y:ShapeNode><y:Fill color="#FFCC00"/></y:ShapeNode></data></node>
    <node id="b" labels=":Person:Admin"><data key="labels">:Person:Admin</data><data key="d0"><![CDATA[<b>]]></data><data key="d1">41</data></node>
    <edge source="b" target="a" label="KNOWS"><data key="d3">false</data></edge>
  </graph>
</graphml>
"##;
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("g.graphml.gz");
    std::fs::write(&file, gzip(&[doc.as_bytes()])?)?;
    for mode in ["bulk", "batched"] {
        let store = tmp.path().join(mode);
        ok(&[&"import", &store, &"--graphml", &file, &"--mode", &mode]);
        let s = GraphStore::open(RocksDbBackend::open(&store)?)?;
        let id = |x: &str| -> Result<NodeId, Box<dyn std::error::Error>> {
            Ok(s.external_id("", x)?.ok_or(format!("no node {x}"))?)
        };
        let (a, b) = (id("a")?, id("b")?);
        let node = |n: NodeId| -> Result<_, Box<dyn std::error::Error>> {
            let n = s.get_node(n)?.ok_or("missing node")?;
            Ok((n.labels, n.properties))
        };
        let props = |pairs: &[(&str, V)]| -> Properties {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        assert_eq!(
            node(a)?,
            (
                vec![CompactString::from("Node")],
                props(&[
                    ("name", V::String("Ann & Bo é".into())),
                    ("age", V::Int(7)),
                    ("ok", V::Bool(true)),
                ])
            ),
            "{mode}"
        );
        assert_eq!(
            node(b)?,
            (
                vec![CompactString::from("Admin"), CompactString::from("Person")],
                props(&[("name", V::String("<b>".into())), ("age", V::Int(41))])
            ),
            "{mode}"
        );
        let r = s.snapshot()?;
        let edges: Vec<_> = r
            .iter_edges()
            .map(|e| e.map(|e| (e.src, e.dst, e.edge_type, e.properties)))
            .collect::<Result<_, _>>()?;
        assert_eq!(
            edges,
            vec![
                (a, b, "EDGE".to_owned(), props(&[("weight", V::Float(2.5))])),
                (
                    b,
                    a,
                    "KNOWS".to_owned(),
                    props(&[("weight", V::Float(1.5)), ("ok", V::Bool(false))])
                ),
            ],
            "{mode}"
        );
        assert_eq!(s.node_count()?, 2);
    }

    let head = r#"<graphml><key id="n" for="node" attr.name="n" attr.type="int"/><graph edgedefault="directed">"#;
    let cases: [(&str, String, bool, &str); 9] = [
        (
            "bad-value",
            format!(
                "{head}\n<node id=\"a\"><data key=\"n\">x</data></node>\n<node id=\"b\"/></graph></graphml>"
            ),
            true,
            ":2:0: \"n\" (a 64-bit integer) is \"x\"",
        ),
        (
            "no-key",
            format!(
                "{head}\n<node id=\"a\"><data key=\"zz\">1</data></node>\n<node id=\"b\"/></graph></graphml>"
            ),
            true,
            ":2:0: <data key=\"zz\"> names no declared <key>",
        ),
        (
            "no-id",
            format!(
                "{head}\n<node><data key=\"n\">1</data></node>\n<node id=\"b\"/></graph></graphml>"
            ),
            true,
            ":2:0: <node> has no id attribute",
        ),
        (
            "dangling",
            format!(
                "{head}\n<node id=\"b\"/>\n<edge source=\"b\" target=\"nobody\"/></graph></graphml>"
            ),
            true,
            "\"nobody\"",
        ),
        (
            "truncated",
            format!("{head}\n<node id=\"a\"><data key=\"n\">1</data>"),
            false,
            "the file ends inside an element: it is truncated",
        ),
        (
            "not-xml",
            format!("{head}\n<node id=\"a\"></edge></graph></graphml>"),
            false,
            "not well-formed XML",
        ),
        (
            "nested",
            format!("{head}\n<node id=\"a\"><graph id=\"inner\"/></node></graph></graphml>"),
            false,
            ":2:0: a nested graph",
        ),
        (
            "hyperedge",
            format!("{head}\n<hyperedge><endpoint node=\"a\"/></hyperedge></graph></graphml>"),
            false,
            "a hyperedge",
        ),
        (
            "bad-type",
            "<graphml><key id=\"k\" attr.name=\"k\" attr.type=\"complex\"/></graphml>".to_owned(),
            false,
            "unknown attr.type \"complex\"",
        ),
    ];
    for (name, text, skippable, piece) in cases {
        let file = tmp.path().join(format!("{name}.graphml"));
        std::fs::write(&file, text)?;
        for mode in ["bulk", "batched"] {
            let store = tmp.path().join(format!("{name}-{mode}"));
            let report = tmp.path().join(format!("{name}-{mode}.bad"));
            let base: [&dyn AsRef<std::ffi::OsStr>; 8] = [
                &"import",
                &store,
                &"--graphml",
                &file,
                &"--mode",
                &mode,
                &"--bad-rows-report",
                &report,
            ];
            let line = fails(&base, 1);
            assert!(line.contains(piece), "{name} {mode}: {line}");
            let mut skip = base.to_vec();
            skip.push(&"--skip-bad-rows");
            if skippable {
                let out = ok(&skip);
                assert!(
                    out.contains("imported 1 nodes") && out.contains("skipped 1 bad rows"),
                    "{name} {mode}: {out}"
                );
                assert!(
                    std::fs::read_to_string(&report)?.contains(piece),
                    "{name} {mode}"
                );
            } else {
                let line = fails(&skip, 1);
                assert!(
                    line.contains(piece) && line.contains("cannot help"),
                    "{name} {mode}: {line}"
                );
            }
        }
    }
    Ok(())
}

/// `export --format graphml` writes what `import --graphml` reads back
/// as the same graph (exported alike as JSON Lines), also gzip-compressed:
/// typed keys, escaped text, labels (none, several) and types, infinite
/// and NaN floats, a property named like APOC's `labels` key; a key with
/// values of several types comes back as text; text XML cannot carry
/// stops the export with the element it is in.
#[test]
fn graphml_exports_import_as_the_same_graph() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let src = tmp.path().join("graph.jsonl");
    std::fs::write(
        &src,
        concat!(
            r#"{"type":"node","id":"1","labels":["Person","Admin"],"properties":{"name":"Ann & <Bo> \"q\" 'é'","age":34,"score":0.5,"ok":true}}"#,
            "\n",
            r#"{"type":"node","id":"2","labels":[],"properties":{"name":"Zoë","age":-7,"score":{"$float":"inf"},"labels":"mine"}}"#,
            "\n",
            r#"{"type":"node","id":"3","labels":["Person"],"properties":{"score":{"$float":"NaN"},"ok":false}}"#,
            "\n",
            r#"{"type":"relationship","label":"KNOWS","start":{"id":"1"},"end":{"id":"2"},"properties":{"since":2001,"w":{"$float":"-inf"}}}"#,
            "\n",
            r#"{"type":"relationship","label":"A&B","start":{"id":"2"},"end":{"id":"2"},"properties":{}}"#,
            "\n",
        ),
    )?;
    let store = tmp.path().join("s");
    ok(&[&"import", &store, &"--jsonl", &src]);
    let jsonl = |store: &Path| -> String {
        ok(&[&"export", &store, &"--format", &"jsonl", &"--out", &"-"])
    };
    let want = jsonl(&store);
    for name in ["g.graphml", "g.graphml.gz"] {
        let file = tmp.path().join(name);
        ok(&[&"export", &store, &"--format", &"graphml", &"--out", &file]);
        let again = tmp.path().join(format!("{name}-store"));
        ok(&[&"import", &again, &"--graphml", &file]);
        assert_eq!(jsonl(&again), want, "{name}");
    }

    // A key of several types is text.
    let mixed = tmp.path().join("mixed.jsonl");
    std::fs::write(
        &mixed,
        "{\"type\":\"node\",\"id\":\"1\",\"labels\":[\"A\"],\"properties\":{\"v\":1}}\n\
         {\"type\":\"node\",\"id\":\"2\",\"labels\":[\"A\"],\"properties\":{\"v\":\"x\"}}\n",
    )?;
    let (m, m2, out) = (
        tmp.path().join("m"),
        tmp.path().join("m2"),
        tmp.path().join("m.graphml"),
    );
    ok(&[&"import", &m, &"--jsonl", &mixed]);
    ok(&[&"export", &m, &"--format", &"graphml", &"--out", &out]);
    assert!(std::fs::read_to_string(&out)?.contains("attr.name=\"v\" attr.type=\"string\""));
    ok(&[&"import", &m2, &"--graphml", &out]);
    let s = GraphStore::open(RocksDbBackend::open(&m2)?)?;
    let v: Vec<Option<V>> = (0..2)
        .map(|i| {
            Ok(s.get_node(NodeId(i))?
                .and_then(|n| n.properties.get("v").cloned()))
        })
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    assert_eq!(
        v,
        vec![Some(V::String("1".into())), Some(V::String("x".into()))]
    );
    drop(s);

    let control = tmp.path().join("control.jsonl");
    std::fs::write(
        &control,
        "{\"type\":\"node\",\"id\":\"1\",\"labels\":[\"A\"],\"properties\":{\"bell\":\"a\\u0007b\"}}\n",
    )?;
    let c = tmp.path().join("c");
    ok(&[&"import", &c, &"--jsonl", &control]);
    let line = fails(
        &[
            &"export",
            &c,
            &"--format",
            &"graphml",
            &"--out",
            &tmp.path().join("c.graphml"),
        ],
        1,
    );
    assert!(
        line.contains("node 0, property \"bell\",") && line.contains("--format jsonl"),
        "{line}"
    );
    Ok(())
}

/// Imports `file` with `flag` on both write paths (stores named after the
/// file) and checks each store exports as JSON Lines exactly `want`.
fn exports_alike(dir: &Path, flag: &str, file: &Path, want: &str) -> TestResult {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for mode in ["bulk", "batched"] {
        let store = dir.join(format!("{name}-{mode}"));
        ok(&[&"import", &store, &flag, &file, &"--mode", &mode]);
        assert_eq!(
            ok(&[&"export", &store, &"--format", &"jsonl", &"--out", &"-"]),
            want,
            "{name} ({mode})"
        );
    }
    Ok(())
}

/// networkx's node-link JSON (`json_graph.node_link_data`, here as
/// networkx 3 writes a multigraph: "edges", a `key` per edge) and the older
/// "links" spelling import with their attributes as properties; elements
/// that are not nodes or edges are bad rows at their position, and what is
/// not a node-link document stops the import.
#[test]
fn node_link_json_imports_with_its_attributes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let docs = [
        (
            "multi.json",
            r#"{"directed": true, "multigraph": true, "graph": {}, "nodes": [{"id": "a", "n": 1.5}, {"id": "b"}, {"tags": ["x", "y"], "id": 3}], "edges": [{"w": 1, "source": "a", "target": "b", "key": 0}, {"w": 2, "source": 3, "target": "a", "key": 1}]}"#,
        ),
        (
            "links.json",
            r#"{"directed": false, "multigraph": false, "nodes": [{"id": "a", "n": 1.5}, {"id": "b"}, {"id": 3, "tags": ["x", "y"]}], "links": [{"source": "a", "target": "b", "w": 1}, {"source": 3, "target": "a", "w": 2}]}"#,
        ),
        // Cytoscape's JSON, as networkx's cytoscape_data and Cytoscape
        // write it, and as Cytoscape.js's array of grouped elements.
        (
            "graph.cyjs",
            r#"{"data": [], "directed": false, "multigraph": false, "elements": {"nodes": [{"data": {"id": "a", "n": 1.5}, "position": {"x": 1, "y": 2}}, {"data": {"id": "b"}}, {"data": {"id": 3, "tags": ["x", "y"]}, "selected": false}], "edges": [{"data": {"source": "a", "target": "b", "w": 1}}, {"data": {"source": 3, "target": "a", "w": 2}}]}}"#,
        ),
        (
            "array.cyjs",
            r#"{"elements": [{"group": "nodes", "data": {"id": "a", "n": 1.5}}, {"data": {"id": "b"}}, {"group": "edges", "data": {"source": "a", "target": "b", "w": 1}}, {"group": "nodes", "data": {"id": 3, "tags": ["x", "y"]}}, {"data": {"source": 3, "target": "a", "w": 2}}]}"#,
        ),
    ];
    let want = concat!(
        r#"{"id":"0","labels":["Node"],"properties":{"n":1.5},"type":"node"}"#,
        "\n",
        r#"{"id":"1","labels":["Node"],"properties":{},"type":"node"}"#,
        "\n",
        r#"{"id":"2","labels":["Node"],"properties":{"tags":["x","y"]},"type":"node"}"#,
        "\n",
        r#"{"end":{"id":"1"},"id":"0","label":"EDGE","properties":{"w":1},"start":{"id":"0"},"type":"relationship"}"#,
        "\n",
        r#"{"end":{"id":"0"},"id":"1","label":"EDGE","properties":{"w":2},"start":{"id":"2"},"type":"relationship"}"#,
        "\n",
    );
    for (name, text) in docs {
        let file = tmp.path().join(name);
        std::fs::write(&file, text)?;
        exports_alike(tmp.path(), "--node-link", &file, want)?;
    }

    let cases = [
        (
            "bad-node.json",
            r#"{"nodes": [{"id": 1}, {"x": 2}, {"id": 3}], "links": [{"source": 1, "target": 3}]}"#,
            Some(":2:0: nodes[1]: no \"id\""),
        ),
        (
            "bad-edge.json",
            r#"{"nodes": [{"id": 1}, {"id": 2}], "links": [{"source": 1, "target": 2}, {"source": 1}]}"#,
            Some(":4:0: edges[1]: no \"target\""),
        ),
        ("not-object.json", "[1, 2]", None),
        ("no-nodes.json", r#"{"links": []}"#, None),
        (
            "both.json",
            r#"{"nodes": [], "links": [], "edges": []}"#,
            None,
        ),
        ("lines.json", "{\"nodes\": []}\n{\"nodes\": []}\n", None),
    ];
    broken_inputs(tmp.path(), "--node-link", &cases)?;
    // Documents that are not node-link ones are reported at no position.
    for (name, _, bad_row) in cases {
        if bad_row.is_none() {
            let line = fails(
                &[
                    &"import",
                    &tmp.path().join("again"),
                    &"--node-link",
                    &tmp.path().join(name),
                ],
                1,
            );
            assert!(line.contains(":0:0:"), "{name}: {line}");
        }
    }
    Ok(())
}

/// GML as Newman's network data and networkx's `write_gml` write it:
/// nodes by their `id`, every other key a property (entities resolved,
/// nested lists as maps), edges by `source` and `target`; a bad element is
/// a bad row at its line, a file that is not GML stops the import.
#[test]
fn gml_files_import_with_their_attributes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("newman.gml");
    std::fs::write(
        &file,
        "Creator \"Mark Newman on Fri Jul 21 12:39:27 2006\"\ngraph\n[\n  directed 0\n  node\n  [\n    id 1\n    label \"a &#34;b&#34; &amp; c\"\n    graphics [ x 1.5 ]\n  ]\n  node [ id 2 value 7 ]\n  edge [ source 2 target 1 value 3 ]\n  edge [ source 1 target 1 ]\n]\n",
    )?;
    let want = concat!(
        r#"{"id":"0","labels":["Node"],"properties":{"graphics":{"x":1.5},"label":"a \"b\" & c"},"type":"node"}"#,
        "\n",
        r#"{"id":"1","labels":["Node"],"properties":{"value":7},"type":"node"}"#,
        "\n",
        r#"{"end":{"id":"0"},"id":"0","label":"EDGE","properties":{"value":3},"start":{"id":"1"},"type":"relationship"}"#,
        "\n",
        r#"{"end":{"id":"0"},"id":"1","label":"EDGE","properties":{},"start":{"id":"0"},"type":"relationship"}"#,
        "\n",
    );
    exports_alike(tmp.path(), "--gml", &file, want)?;
    let cases = [
        (
            "no-id.gml",
            "graph [\n node [ id 1 ]\n node [ label \"x\" ]\n]\n",
            Some(":3:0: GML: a node without `id`"),
        ),
        (
            "dangling.gml",
            "graph [\n node [ id 1 ]\n edge [ source 1 target 9 ]\n]\n",
            Some(":3:0: end node \"9\""),
        ),
        (
            "truncated.gml",
            "graph [\n node [ id 1 ]\n node [ id 2\n",
            None,
        ),
        ("no-graph.gml", "Creator \"x\"\n", None),
    ];
    broken_inputs(tmp.path(), "--gml", &cases)
}

/// Pajek networks as Pajek and networkx write them: vertices by number
/// (those declared but not listed too), labels, coordinates, shapes and
/// attribute pairs, the four edge sections and a project's partition
/// skipped; errors at their line, on both write paths.
#[test]
fn pajek_networks_import_with_their_attributes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("tiny.net");
    std::fs::write(
        &file,
        "% made by hand\n*Network tiny\n*Vertices 5\n1 \"Mr Hi\" 0.1 0.2 box ic Red\n3 c\n*Arcs\n1 2 3.5 c Blue\n*Edges\n2 3\n*Arcslist\n4 5 1\n*Matrix\n0 0 0 0 0\n0 0 0 0 0\n0 0 0 0 0\n0 0 0 0 0\n2 0 0 0 0.0\n*Partition p\n*Vertices 5\n1\n2\n1\n1\n2\n",
    )?;
    let want = concat!(
        r#"{"id":"0","labels":["Node"],"properties":{"ic":"Red","label":"Mr Hi","shape":"box","x":0.1,"y":0.2},"type":"node"}"#,
        "\n",
        r#"{"id":"1","labels":["Node"],"properties":{"label":"c"},"type":"node"}"#,
        "\n",
        r#"{"id":"2","labels":["Node"],"properties":{},"type":"node"}"#,
        "\n",
        r#"{"id":"3","labels":["Node"],"properties":{},"type":"node"}"#,
        "\n",
        r#"{"id":"4","labels":["Node"],"properties":{},"type":"node"}"#,
        "\n",
        r#"{"end":{"id":"2"},"id":"0","label":"EDGE","properties":{"c":"Blue","weight":3.5},"start":{"id":"0"},"type":"relationship"}"#,
        "\n",
        r#"{"end":{"id":"1"},"id":"1","label":"EDGE","properties":{},"start":{"id":"2"},"type":"relationship"}"#,
        "\n",
        r#"{"end":{"id":"4"},"id":"2","label":"EDGE","properties":{},"start":{"id":"3"},"type":"relationship"}"#,
        "\n",
        r#"{"end":{"id":"0"},"id":"3","label":"EDGE","properties":{},"start":{"id":"3"},"type":"relationship"}"#,
        "\n",
        r#"{"end":{"id":"0"},"id":"4","label":"EDGE","properties":{"weight":2},"start":{"id":"4"},"type":"relationship"}"#,
        "\n",
    );
    exports_alike(tmp.path(), "--pajek", &file, want)?;
    // Given as an edge list, files of the other formats are named, not
    // read as edges between nodes called `graph` and `[`.
    for (name, text, flag) in [
        (
            "k.gml",
            "Creator \"Mark Newman\"\ngraph\n[\n node [ id 1 ]\n]\n",
            "--gml",
        ),
        ("k2.gml", "# a comment\ngraph [\n]\n", "--gml"),
        (
            "g.graphml",
            "<?xml version=\"1.0\"?>\n<graphml>\n",
            "--graphml",
        ),
        ("g.jsonl", "{\"type\":\"node\",\"id\":\"1\"}\n", "--jsonl"),
        (
            "g.json",
            "{\"directed\": false, \"nodes\": []}\n",
            "--node-link",
        ),
        ("n.csv", "id:ID,name\n1,a\n", "--nodes or --relationships"),
    ] {
        let f = tmp.path().join(name);
        std::fs::write(&f, text)?;
        let store = tmp.path().join(format!("{name}-store"));
        let line = fails(
            &[&"import", &store, &"--edge-list", &f, &"--skip-bad-rows"],
            1,
        );
        assert!(
            line.contains(&format!("import it with {flag}")),
            "{name}: {line}"
        );
    }
    // Given as an edge list, a Pajek file is named, not read as edges.
    let store = tmp.path().join("as-edge-list");
    let line = fails(&[&"import", &store, &"--edge-list", &file], 1);
    assert!(
        line.contains(
            "this is a Pajek network, not an edge list (\"*Network tiny\"): import it with --pajek"
        ),
        "{line}"
    );
    let cases = [
        (
            "far.net",
            "*Vertices 2\n*Arcs\n1 3\n",
            Some(":3:2: Pajek: a vertex is a number from 1 to 2 (*Vertices), found \"3\""),
        ),
        (
            "quote.net",
            "*Vertices 2\n1 \"open\n",
            Some(":2:2: Pajek: a quoted word without its closing"),
        ),
        (
            "odd.net",
            "*Vertices 2\n1 a ic\n",
            Some(":2:3: Pajek: attributes come in pairs (`ic Red`), \"ic\" has no value"),
        ),
        (
            "row.net",
            "*Vertices 2\n*Matrix\n0 1 1\n0 0\n",
            Some(":3:0: Pajek: a *Matrix row has 2 columns (*Vertices), found 3"),
        ),
        ("before.net", "*Arcs\n1 2\n", None),
        ("twice.net", "*Vertices 1\n*Vertices 1\n", None),
        ("plain.net", "1 2\n2 3\n", None),
        ("empty.net", "% nothing\n", None),
        ("huge.net", "*Vertices 99999999999\n", None),
    ];
    broken_inputs(tmp.path(), "--pajek", &cases)
}

/// An edge as (source, target, weight).
type WeightedEdge = (u64, u64, Option<V>);

/// Every edge as (source, target, weight), sorted; with `external`, nodes
/// named by the external id an edge-list import gave them (the store ids
/// of the store the list was exported from, below 1,000).
fn weighted_edges(
    dir: &Path,
    external: bool,
) -> Result<Vec<WeightedEdge>, Box<dyn std::error::Error>> {
    let store = GraphStore::open(RocksDbBackend::open(dir)?)?;
    let mut out = Vec::new();
    {
        let r = store.snapshot()?;
        let mut names = BTreeMap::new();
        for i in 0..1000u64 {
            let n = if external {
                r.external_id("", &i.to_string())?
            } else {
                Some(NodeId(i))
            };
            if let Some(n) = n {
                names.insert(n, i);
            }
        }
        for e in r.iter_edges() {
            let e = e?;
            let name = |n: NodeId| names.get(&n).copied().unwrap_or(u64::MAX);
            out.push((
                name(e.src),
                name(e.dst),
                e.properties.get("weight").cloned(),
            ));
        }
    }
    store.into_backend().close()?;
    out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    Ok(out)
}

/// An edge list export: every edge a line between store ids, with a
/// numeric property as the third column; imported again it gives the same
/// edges and weights; what is not a number stops it in one line.
#[test]
fn edge_list_exports_import_as_the_same_edges() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("s");
    lesmis(&store);
    let want = weighted_edges(&store, false)?;
    assert_eq!(want.len(), 254);
    for (name, gzip) in [("lesmis.tsv", false), ("lesmis.tsv.gz", true)] {
        let file = tmp.path().join(name);
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"export",
            &store,
            &"--format",
            &"edge-list",
            &"--weight",
            &"weight",
            &"--out",
            &file,
        ];
        if gzip {
            args.push(&"--gzip");
        }
        ok(&args);
        let again = tmp.path().join(format!("{name}-store"));
        let v = json(&ok(&[&"import", &again, &"--edge-list", &file, &"--json"]));
        assert_eq!(v["relationships"], want.len(), "{name}");
        assert_eq!(weighted_edges(&again, true)?, want, "{name}");
    }
    let line = fails(
        &[
            &"export",
            &store,
            &"--format",
            &"edge-list",
            &"--weight",
            &"nope",
            &"--out",
            &"-",
        ],
        1,
    );
    assert!(line.contains("has no value as its \"nope\""), "{line}");
    let line = fails(
        &[
            &"export",
            &store,
            &"--format",
            &"jsonl",
            &"--weight",
            &"weight",
            &"--out",
            &"-",
        ],
        1,
    );
    assert!(line.contains("give it with --format edge-list"), "{line}");
    Ok(())
}

/// Archives and files compressed by something other than gzip (what
/// KONECT, SuiteSparse and others ship) are named, with what to do, as
/// one error line, instead of being read as rows of garbage: whatever the
/// kind of input, and a tar archive also inside gzip.
#[test]
fn archives_and_other_compressors_are_named_not_read() -> TestResult {
    let mut tar = vec![0u8; 1024];
    tar[..9].copy_from_slice(b"g/g.edges");
    tar[257..263].copy_from_slice(b"ustar\0");
    let mut bzip2 = b"BZh91AY&SY".to_vec();
    bzip2.extend([0x12, 0x34, 0x56]);
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("g.tar", tar.clone(), "is a tar archive"),
        ("g.tar.gz", gzip(&[&tar])?, "is a tar archive"),
        ("g.bz2", bzip2, "is bzip2-compressed"),
        (
            "g.xz",
            vec![0xFD, b'7', b'z', b'X', b'Z', 0, 0, 4],
            "is xz-compressed",
        ),
        (
            "g.zst",
            vec![0x28, 0xB5, 0x2F, 0xFD, 0, 0],
            "is zstd-compressed",
        ),
        (
            "g.zip",
            b"PK\x03\x04\x14\x00\x00\x00".to_vec(),
            "is a zip archive",
        ),
    ];
    let tmp = tempfile::tempdir()?;
    for (name, bytes, piece) in &cases {
        let file = tmp.path().join(name);
        std::fs::write(&file, bytes)?;
        for flag in ["--edge-list", "--jsonl", "--nodes"] {
            let store = tmp.path().join(format!("{name}{flag}"));
            let line = fails(&[&"import", &store, &flag, &file, &"--skip-bad-rows"], 1);
            assert!(
                line.contains(&format!("{name} {piece}")),
                "{name} {flag}: {line}"
            );
            assert!(!store.join("CURRENT").exists(), "{name} {flag}");
        }
    }
    Ok(())
}

/// Gzip-compressed inputs (CSV, JSON Lines, an edge list of two members)
/// import exactly as their plain bytes do, and so do compressed exports
/// (CSV with `--gzip`, JSON Lines named `*.gz`); a truncated or damaged stream
/// stops the import with one line naming the file, even with
/// `--skip-bad-rows` (the rest of the file cannot be read, so skipping it
/// would lose it silently), and leaves no store.
#[test]
fn compressed_inputs_import_as_their_plain_bytes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let files: [(&str, &str, &[u8]); 4] = [
        ("--nodes", "nodes.csv", b"id:ID,name,:LABEL\n1,Ann,Person\n2,Bob,Person\n3,Cy,Robot\n"),
        (
            "--relationships",
            "rels.csv",
            b":START_ID,:END_ID,:TYPE,since:int\n1,2,KNOWS,2001\n2,3,OWNS,2010\n",
        ),
        (
            "--jsonl",
            "more.jsonl",
            b"{\"type\":\"node\",\"id\":\"j1\",\"labels\":[\"J\"],\"properties\":{\"x\":1}}\n\
              {\"type\":\"relationship\",\"label\":\"R\",\"start\":{\"id\":\"j1\"},\"end\":{\"id\":\"1\"},\"properties\":{}}\n",
        ),
        ("--edge-list", "edges.txt", b"# SNAP-like\n10\t11\n11\t12\r\n12\t10\n"),
    ];
    let (mut plain, mut packed) = (Vec::<String>::new(), Vec::<String>::new());
    let mut packed_paths = Vec::new();
    for (flag, name, bytes) in files {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes)?;
        let g = tmp.path().join(format!("{name}.gz"));
        // The edge list in two members, split inside a line.
        let (a, b) = bytes.split_at(bytes.len() / 2);
        std::fs::write(&g, gzip(&[a, b])?)?;
        for (args, path) in [(&mut plain, &p), (&mut packed, &g)] {
            args.push(flag.to_owned());
            args.push(path.display().to_string());
        }
        packed_paths.push(g);
    }
    let export = |args: &[String], store: &Path| -> Result<String, Box<dyn std::error::Error>> {
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"import", &store];
        all.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        ok(&all);
        Ok(ok(&[
            &"export",
            &store,
            &"--format",
            &"jsonl",
            &"--out",
            &"-",
        ]))
    };
    let from_plain = export(&plain, &tmp.path().join("plain"))?;
    let from_packed = export(&packed, &tmp.path().join("packed"))?;
    assert_eq!(from_plain.lines().count(), 13, "{from_plain}");
    assert_eq!(from_packed, from_plain);

    // Exported compressed (CSV with --gzip, JSON Lines by its name) and
    // imported again: the same graph, exported alike.
    let plain_store = tmp.path().join("plain");
    let csv_dir = tmp.path().join("csv-gz");
    ok(&[&"export", &plain_store, &"--gzip", &"--out", &csv_dir]);
    let jl = tmp.path().join("graph.jsonl.gz");
    ok(&[
        &"export",
        &plain_store,
        &"--format",
        &"jsonl",
        &"--out",
        &jl,
    ]);
    for file in [
        csv_dir.join("nodes.csv.gz"),
        csv_dir.join("relationships.csv.gz"),
        jl.clone(),
    ] {
        assert_eq!(std::fs::read(&file)?.get(..2), Some(&[0x1F, 0x8B][..]));
    }
    let again = [
        vec![
            "--nodes".to_owned(),
            csv_dir.join("nodes.csv.gz").display().to_string(),
            "--relationships".to_owned(),
            csv_dir.join("relationships.csv.gz").display().to_string(),
        ],
        vec!["--jsonl".to_owned(), jl.display().to_string()],
    ];
    for (i, args) in again.iter().enumerate() {
        let store = tmp.path().join(format!("again-{i}"));
        assert_eq!(export(args, &store)?, from_plain, "{args:?}");
    }

    // Truncated (the last member's end lost), or one byte of the deflate
    // stream changed: an error, also when skipping bad rows.
    let whole = std::fs::read(&packed_paths[0])?;
    let mut damaged = whole.clone();
    damaged[whole.len() / 2] ^= 0x55;
    for (i, bytes) in [whole[..whole.len() - 6].to_vec(), damaged]
        .into_iter()
        .enumerate()
    {
        let g = tmp.path().join(format!("bad-{i}.csv.gz"));
        std::fs::write(&g, bytes)?;
        let store = tmp.path().join(format!("bad-{i}"));
        let line = fails(&[&"import", &store, &"--skip-bad-rows", &"--nodes", &g], 1);
        assert!(line.contains(&g.display().to_string()), "{line}");
        assert!(line.contains("cannot help"), "{line}");
        if i == 0 {
            assert!(line.contains("read error"), "{line}");
        }
        assert!(!store.join("CURRENT").exists(), "{line}");
    }
    Ok(())
}

/// KONECT's and SNAP's temporal lists: a weight and a timestamp after the
/// endpoints, stored as `--third-column` and `--fourth-column` (`weight`,
/// `time`); the two columns named alike, or a fifth column, are bad rows.
/// The edges of the store at `dir` as (source, target, weight), the
/// nodes named by their external ids in the global id space, in edge-id
/// order; every node must be one of `names`.
type NamedEdges = Vec<(String, String, Option<V>)>;

fn edges_by_external_id(
    dir: &Path,
    names: &[&str],
) -> Result<NamedEdges, Box<dyn std::error::Error>> {
    let s = GraphStore::open(RocksDbBackend::open(dir)?)?;
    let mut by_node = BTreeMap::new();
    for name in names {
        if let Some(node) = s.external_id("", name)? {
            by_node.insert(node, (*name).to_owned());
        }
    }
    let r = s.snapshot()?;
    let nodes = r.iter_nodes().count();
    if nodes != by_node.len() {
        return Err(format!("{nodes} nodes, {} of them named as expected", by_node.len()).into());
    }
    let name = |id: NodeId| {
        by_node
            .get(&id)
            .cloned()
            .ok_or(format!("node {} has no expected name", id.0))
    };
    let mut out = Vec::new();
    for e in r.iter_edges() {
        let e = e?;
        out.push((
            name(e.src)?,
            name(e.dst)?,
            e.properties.get("weight").cloned(),
        ));
    }
    Ok(out)
}

/// Imports each `(file name, text, bad row)` case with `flag` into a new
/// store in `dir`: `Some(piece)`, a bad row whose error line holds
/// `piece`, skipped with `--skip-bad-rows`; `None`, a file that stops the
/// import even with `--skip-bad-rows`.
fn broken_inputs(dir: &Path, flag: &str, cases: &[(&str, &str, Option<&str>)]) -> TestResult {
    for (name, text, bad_row) in cases {
        let file = dir.join(name);
        std::fs::write(&file, text)?;
        let store = dir.join(format!("{name}-store"));
        let report = dir.join(format!("{name}.bad"));
        let args: [&dyn AsRef<std::ffi::OsStr>; 6] = [
            &"import",
            &store,
            &flag,
            &file,
            &"--bad-rows-report",
            &report,
        ];
        let line = fails(&args, 1);
        let mut skip = args.to_vec();
        skip.push(&"--skip-bad-rows");
        match bad_row {
            Some(piece) => {
                assert!(line.contains(piece), "{name}: {line}");
                let out = ok(&skip);
                assert!(out.contains("skipped 1 bad rows"), "{name}: {out}");
            }
            None => {
                assert!(line.contains("cannot help"), "{name}: {line}");
                let again = fails(&skip, 1);
                assert!(again.contains("cannot help"), "{name}: {again}");
            }
        }
    }
    Ok(())
}

/// Edge lists as public datasets ship them beyond SNAP's and KONECT's
/// comments: MatrixMarket coordinate files (SuiteSparse, Network
/// Repository), whose banner and size line are not edges and whose size
/// line is checked against the entries; CSV edge lists with a header
/// line; CRLF line ends. Each case runs on both write paths.
#[test]
fn matrix_market_files_and_header_lines_are_not_edges() -> TestResult {
    /// An edge: source, target, weight.
    type Expected = (&'static str, &'static str, Option<V>);
    struct Case {
        name: &'static str,
        text: &'static str,
        args: &'static [&'static str],
        /// `Ok`: the edges (source, target, weight); `Err`: a piece of
        /// the one error line.
        expect: Result<Vec<Expected>, &'static str>,
        /// A piece of the summary's note, when one is expected.
        note: Option<&'static str>,
    }
    let cases = [
        Case {
            name: "pattern.mtx",
            text: "%%MatrixMarket matrix coordinate pattern symmetric\n% made by hand\n%\n4 4 3\n2 1\n3 1\n4 2\n",
            args: &[],
            expect: Ok(vec![("2", "1", None), ("3", "1", None), ("4", "2", None)]),
            note: None,
        },
        Case {
            name: "real.mtx",
            text: "%%matrixmarket MATRIX Coordinate REAL general\r\n3 3 2\r\n1 2 0.5\r\n3 1 2\r\n",
            args: &[],
            expect: Ok(vec![
                ("1", "2", Some(V::Float(0.5))),
                ("3", "1", Some(V::Int(2))),
            ]),
            note: None,
        },
        Case {
            name: "short.mtx",
            text: "%%MatrixMarket matrix coordinate pattern general\n4 4 3\n2 1\n3 1\n",
            args: &["--skip-bad-rows"],
            expect: Err(":4:0: the MatrixMarket size line declares 3 entries, the file has 2"),
            note: None,
        },
        Case {
            name: "long.mtx",
            text: "%%MatrixMarket matrix coordinate pattern general\n4 4 1\n2 1\n9 1\n",
            args: &["--skip-bad-rows"],
            expect: Err(":4:0: the MatrixMarket size line declares 1 entries, the file has 2"),
            note: None,
        },
        Case {
            name: "outside.mtx",
            text: "%%MatrixMarket matrix coordinate pattern general\n4 4 2\n2 1\n5 1\n",
            args: &[],
            expect: Err(":4:1: a MatrixMarket row is an integer from 1 to 4"),
            note: None,
        },
        Case {
            name: "no-size.mtx",
            text: "%%MatrixMarket matrix coordinate pattern general\n% nothing else\n",
            args: &[],
            expect: Err(":2:0: a MatrixMarket file ends before its size line"),
            note: None,
        },
        Case {
            name: "array.mtx",
            text: "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n",
            args: &[],
            expect: Err(":1:0: a MatrixMarket matrix in \"array\" format lists values"),
            note: None,
        },
        Case {
            name: "complex.mtx",
            text: "%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 2 0.5 1\n",
            args: &["--skip-bad-rows"],
            expect: Err(":1:0: MatrixMarket \"complex\" entries cannot be imported"),
            note: None,
        },
        // DIMACS graphs: the 9th challenge's road networks (`p sp`, arcs
        // with lengths) and the clique/colouring challenges' (`p edge`).
        Case {
            name: "road.gr",
            text: "c 9th DIMACS Implementation Challenge: Shortest Paths\nc graph by hand\np sp 3 3\nc arcs follow\na 1 2 803\na 2 1 803\n\na 3 3 0\n",
            args: &[],
            expect: Ok(vec![
                ("1", "2", Some(V::Int(803))),
                ("2", "1", Some(V::Int(803))),
                ("3", "3", Some(V::Int(0))),
            ]),
            note: Some("road.gr:3: read as a DIMACS graph (\"p sp 3 3\")"),
        },
        Case {
            name: "clique.col",
            text: "p edge 3 2\ne 1 2\ne 2 3\n",
            args: &[],
            expect: Ok(vec![("1", "2", None), ("2", "3", None)]),
            note: Some("clique.col:1: read as a DIMACS graph (\"p edge 3 2\")"),
        },
        Case {
            name: "short.gr",
            text: "c x\np sp 3 3\na 1 2 1\na 2 3 1\n",
            args: &["--skip-bad-rows"],
            expect: Err(":4:0: the DIMACS problem line declares 3 edges, the file has 2"),
            note: None,
        },
        Case {
            name: "outside.gr",
            text: "p sp 3 1\na 1 4 1\n",
            args: &[],
            expect: Err(
                ":2:3: a DIMACS target is a node from 1 to 3 (the problem line), found \"4\"",
            ),
            note: None,
        },
        Case {
            name: "length.gr",
            text: "p sp 3 1\na 1 2 x\n",
            args: &[],
            expect: Err(":2:4: a DIMACS arc length is an integer, found \"x\""),
            note: None,
        },
        Case {
            name: "no-problem.gr",
            text: "c only comments\n",
            args: &[],
            expect: Err(":1:0: a DIMACS file ends before its problem line"),
            note: None,
        },
        Case {
            name: "two-problems.gr",
            text: "p sp 2 0\np sp 2 0\n",
            args: &["--skip-bad-rows"],
            expect: Err(":2:0: a second DIMACS problem line"),
            note: None,
        },
        Case {
            name: "not-dimacs.txt",
            text: "c d\nd e\n",
            args: &["--skip-bad-rows"],
            expect: Err(":2:0: this file began like a DIMACS graph"),
            note: None,
        },
        Case {
            name: "escaped-c.txt",
            text: "# sources named c\nc d\nd e\n",
            args: &[],
            expect: Ok(vec![("c", "d", None), ("d", "e", None)]),
            note: None,
        },
        // SNAP's undirected lists name each edge both ways.
        Case {
            name: "undirected.txt",
            text: "# FromNodeId\tToNodeId\n1\t2\t5\n2\t1\t6\n1\t2\t7\n2\t3\n3\t3\n3\t3\n",
            args: &["--undirected"],
            expect: Ok(vec![
                ("1", "2", Some(V::Int(5))),
                ("2", "3", None),
                ("3", "3", None),
            ]),
            note: None,
        },
        // Quoted as R's write.csv and spreadsheets quote CSV fields.
        Case {
            name: "r.csv",
            text: "\"from\",\"to\",\"weight\"\n\"a\",\"b\",1\n\"c, d\" , \"e \"\"x\"\"\",2.5\n",
            args: &["--edge-list-header", "yes"],
            expect: Ok(vec![
                ("a", "b", Some(V::Int(1))),
                ("c, d", "e \"x\"", Some(V::Float(2.5))),
            ]),
            note: None,
        },
        Case {
            name: "quoted-numbers.csv",
            text: "\"source\",\"target\"\n\"1\",\"2\"\n",
            args: &[],
            expect: Ok(vec![("1", "2", None)]),
            note: Some(
                "quoted-numbers.csv:1: skipped \"\\\"source\\\",\\\"target\\\"\" as a header",
            ),
        },
        Case {
            name: "quoted-spaces.txt",
            text: "\"Mr Hi\" \"John A\"\n",
            args: &[],
            expect: Ok(vec![("Mr Hi", "John A", None)]),
            note: None,
        },
        Case {
            name: "unclosed.csv",
            text: "\"a,b\n",
            args: &[],
            expect: Err(":1:1: a quoted field without its closing"),
            note: None,
        },
        Case {
            name: "after-quote.csv",
            text: "\"a\"x,b\n",
            args: &[],
            expect: Err(":1:1: text after the quoted field \"a\""),
            note: None,
        },
        Case {
            name: "header.csv",
            text: "source,target,weight\n1,2,3\n2,3,4\n",
            args: &[],
            expect: Ok(vec![
                ("1", "2", Some(V::Int(3))),
                ("2", "3", Some(V::Int(4))),
            ]),
            note: Some("header.csv:1: skipped \"source,target,weight\" as a header"),
        },
        Case {
            name: "commented-header.csv",
            text: "# a comment first\n\nfrom to\n1 2\n",
            args: &[],
            expect: Ok(vec![("1", "2", None)]),
            note: Some("commented-header.csv:3: skipped \"from to\" as a header"),
        },
        Case {
            name: "header-kept.csv",
            text: "source,target\n1,2\n",
            args: &["--edge-list-header", "no"],
            expect: Ok(vec![("source", "target", None), ("1", "2", None)]),
            note: None,
        },
        Case {
            name: "named-header.csv",
            text: "from,to\na,b\nc,d\n",
            args: &["--edge-list-header", "yes"],
            expect: Ok(vec![("a", "b", None), ("c", "d", None)]),
            note: None,
        },
        Case {
            name: "bom.mtx",
            text: "\u{feff}%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 2\n",
            args: &[],
            expect: Ok(vec![("1", "2", None)]),
            note: None,
        },
        Case {
            name: "bom.txt",
            text: "\u{feff}1 2\n2 1\n",
            args: &[],
            expect: Ok(vec![("1", "2", None), ("2", "1", None)]),
            note: None,
        },
        // What networkx's write_edgelist writes by default (the data
        // dict's repr), with spaces and with commas.
        Case {
            name: "networkx.edgelist",
            text: "0 1 {}\n1 2 {'weight': 3}\n2 0 {'weight': 0.5, 'label': 'it\\'s \"x\"', 'l': [1, 'a']}\n",
            args: &[],
            expect: Ok(vec![
                ("0", "1", None),
                ("1", "2", Some(V::Int(3))),
                ("2", "0", Some(V::Float(0.5))),
            ]),
            note: None,
        },
        Case {
            name: "networkx.csv",
            text: "0,1,{}\n1,2,{'weight': 3}\n",
            args: &[],
            expect: Ok(vec![("0", "1", None), ("1", "2", Some(V::Int(3)))]),
            note: None,
        },
        Case {
            name: "spaces-in-ids.csv",
            text: "Evelyn Jefferson,E1,{}\nEvelyn Jefferson , E2\n",
            args: &[],
            expect: Ok(vec![
                ("Evelyn Jefferson", "E1", None),
                ("Evelyn Jefferson", "E2", None),
            ]),
            note: None,
        },
        Case {
            name: "networkx-bad.edgelist",
            text: "0 1 {}\n1 2 {'weight': }\n",
            args: &[],
            expect: Err(
                ":2:3: edge data: expected a number, a string, True, False, None, a list or a dict at byte 11",
            ),
            note: None,
        },
        Case {
            name: "names.txt",
            text: "a b\nc d\n",
            args: &[],
            expect: Ok(vec![("a", "b", None), ("c", "d", None)]),
            note: None,
        },
        Case {
            name: "one-line.txt",
            text: "from to\n",
            args: &[],
            expect: Ok(vec![("from", "to", None)]),
            note: None,
        },
        Case {
            name: "numbers-then-names.txt",
            text: "n1 n2\nn2 n3\n1 2\n",
            args: &[],
            expect: Ok(vec![
                ("n1", "n2", None),
                ("n2", "n3", None),
                ("1", "2", None),
            ]),
            note: None,
        },
    ];
    let tmp = tempfile::tempdir()?;
    for case in &cases {
        let file = tmp.path().join(case.name);
        std::fs::write(&file, case.text)?;
        for mode in ["bulk", "batched"] {
            let store = tmp.path().join(format!("{}-{mode}", case.name));
            let report = tmp.path().join(format!("{}-{mode}.bad", case.name));
            let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
                &"import",
                &store,
                &"--edge-list",
                &file,
                &"--mode",
                &mode,
                &"--bad-rows-report",
                &report,
            ];
            args.extend(case.args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
            let what = format!("{} ({mode})", case.name);
            match &case.expect {
                Ok(edges) => {
                    let out = ok(&args);
                    let names: Vec<&str> = edges.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
                    let found = edges_by_external_id(&store, &names)?;
                    let want: NamedEdges = edges
                        .iter()
                        .map(|(a, b, w)| ((*a).to_owned(), (*b).to_owned(), w.clone()))
                        .collect();
                    assert_eq!(found, want, "{what}");
                    match case.note {
                        Some(note) => {
                            let noted = out.lines().any(|l| {
                                l.starts_with("note: ") && l.contains(&format!("/{note}"))
                            });
                            assert!(noted, "{what}: {out}");
                        }
                        None => assert!(!out.contains("note:"), "{what}: {out}"),
                    }
                }
                Err(piece) => {
                    let line = fails(&args, 1);
                    assert!(line.contains(piece), "{what}: {line}");
                    // Bulk leaves no store; batched, an empty one.
                    if store.join("CURRENT").exists() {
                        let s = GraphStore::open(RocksDbBackend::open(&store)?)?;
                        assert_eq!((s.node_count()?, s.edge_count()?), (0, 0), "{what}");
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn edge_lists_with_weights_and_timestamps() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let el = tmp.path().join("out.konect");
    std::fs::write(
        &el,
        "% sym positive\n% 3 3 3\n1 2 1 1200000000\n2\t3\t0.5\t1200000001\n3 1 2\n",
    )?;
    let store = tmp.path().join("s");
    ok(&[&"import", &store, &"--edge-list", &el]);
    let found: Vec<Properties> = {
        let s = GraphStore::open(RocksDbBackend::open(&store)?)?;
        let r = s.snapshot()?;
        r.iter_edges()
            .map(|e| e.map(|e| e.properties))
            .collect::<Result<_, _>>()?
    };
    let props = |w: V, t: Option<i64>| {
        let mut p = Properties::from([("weight".to_owned(), w)]);
        if let Some(t) = t {
            p.insert("time", V::Int(t));
        }
        p
    };
    assert_eq!(
        found,
        vec![
            props(V::Int(1), Some(1_200_000_000)),
            props(V::Float(0.5), Some(1_200_000_001)),
            props(V::Int(2), None),
        ]
    );

    let line = fails(
        &[
            &"import",
            &tmp.path().join("same"),
            &"--edge-list",
            &el,
            &"--third-column",
            &"time",
        ],
        1,
    );
    assert!(
        line.contains(":3:4:") && line.contains("both be stored as \"time\""),
        "{line}"
    );
    let five = tmp.path().join("five.txt");
    std::fs::write(&five, "1 2 3 4 5\n")?;
    let line = fails(
        &[&"import", &tmp.path().join("five"), &"--edge-list", &five],
        1,
    );
    assert!(line.contains(":1:0:") && line.contains("found 5"), "{line}");
    Ok(())
}

/// `algo`: each algorithm on Les Misérables, with the answers networkx
/// gives for its co-occurrence graph (PageRank over both ways: Valjean
/// first; one component; 467 triangles), results written back, and the
/// one-line errors.
#[test]
fn algorithms_answer_and_write_back() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("s");
    lesmis(&store);
    let pr = json(&ok(&[
        &"algo",
        &"pagerank",
        &store,
        &"--undirected",
        &"--top",
        &"3",
        &"--json",
    ]));
    assert_eq!(pr["converged"], true, "{pr}");
    assert_eq!(
        pr["top"][0]["node"]["properties"]["name"], "Valjean",
        "{pr}"
    );
    assert_eq!(pr["top"].as_array().map(Vec::len), Some(3));
    let ranks = json(&ok(&[
        &"algo",
        &"pagerank",
        &store,
        &"--weight",
        &"weight",
        &"--json",
    ]));
    assert_eq!(ranks["weight"], "weight");

    let wcc = json(&ok(&[
        &"algo",
        &"wcc",
        &store,
        &"--write-property",
        &"component",
        &"--json",
    ]));
    assert_eq!(
        (&wcc["components"], &wcc["largest"]),
        (&1.into(), &77.into()),
        "{wcc}"
    );
    assert_eq!(wcc["written"]["nodes"], 77);
    let node = json(&ok(&[&"get", &"node", &store, &"73", &"--json"]));
    assert_eq!(node["properties"]["component"], 0, "{node}");
    let scc = json(&ok(&[&"algo", &"scc", &store, &"--json"]));
    assert_eq!(
        scc["components"], 77,
        "co-occurrences are stored one way: no cycles"
    );

    let tri = json(&ok(&[&"algo", &"triangles", &store, &"--json"]));
    assert_eq!(tri["triangles"], 467, "{tri}");
    assert_eq!(tri["top"][0]["node"]["properties"]["name"], "Gavroche");
    let bfs = json(&ok(&[
        &"algo",
        &"bfs",
        &store,
        &"--source",
        &"73",
        &"--direction",
        &"both",
        &"--max-depth",
        &"1",
        &"--json",
    ]));
    assert_eq!(bfs["reached"], 36, "Valjean's partners: {bfs}");
    let path = json(&ok(&[
        &"algo",
        &"shortest-path",
        &store,
        &"--source",
        &"0",
        &"--target",
        &"50",
        &"--direction",
        &"both",
        &"--weight",
        &"weight",
        &"--json",
    ]));
    let hops = path["path"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        (hops.first(), hops.last()),
        (Some(&0.into()), Some(&50.into())),
        "{path}"
    );
    assert!(ok(&[&"algo", &"pagerank", &store, &"--top", &"2"]).contains("highest ranks"));

    for (args, want) in [
        (vec!["bfs", "--source", "999"], "node 999 does not exist"),
        (vec!["pagerank", "--weight", "nothere"], "no edge of"),
        (vec!["pagerank", "--damping", "2"], "damping factor"),
        (
            vec!["shortest-path", "--source", "0", "--target", "12345"],
            "node 12345 does not exist",
        ),
    ] {
        let mut full: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"algo", &args[0], &store];
        for a in &args[1..] {
            full.push(a);
        }
        let line = fails(&full, 1);
        assert!(line.contains(want), "{args:?}: {line}");
    }
    let missing = tmp.path().join("missing");
    assert!(fails(&[&"algo", &"wcc", &missing], 1).contains("no store"));
    Ok(())
}
