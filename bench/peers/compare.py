#!/usr/bin/env python3
"""The peer comparison: graphstore next to Ladybug and Oxigraph, same graph.

Run through `bench/peers/run` (which builds the binaries, installs the peers
into a virtual environment and writes the workload files). This script loads
the files of `--data` into each system, one after another, each into a fresh
directory under `--work`, every load and every read phase in its own child
process:

* load: wall time from spawning the loader to its exit (the store is then
  durable: it is reopened by a new process for the reads), CPU time and peak
  RSS of that child (`os.wait4`), bytes on disk afterwards;
* reads: the child reopens the store, counts nodes and edges, then times
  point lookups by id, 1-hop and 2-hop out-expansions of every id of
  `sample.txt`: a first pass after reopening ("cold"; the page cache is
  dropped before the child starts when `/proc/sys/vm/drop_caches` is
  writable) and a second pass ("cached").

Before any figure is reported every system's node count, edge count and the
out-degree sum of the sample (the rows of its 1-hop pass) are checked
against `expected.json`; a mismatch is an error (exit 1).

Python 3.11, standard library plus the peers (imported only in the children
that use them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

BASE = "http://example.org/graph/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
MIB = 1024 * 1024


# ---------------------------------------------------------------- helpers


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return -1.0


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = Path(root, f)
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


def drop_caches() -> bool:
    """Drops the page cache if this process may (root, not in a container
    that forbids it); returns whether it did."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def run_child(cmd: list[str], cwd: Path | None = None) -> dict:
    """Runs `cmd`, returns wall time, CPU time and peak RSS of that child
    alone, its stdout, and fails on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=cwd)
    out = proc.stdout.read() if proc.stdout else b""
    _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}: {' '.join(cmd)}")
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "peak_rss_bytes": ru.ru_maxrss * 1024,
        "stdout": out.decode(),
    }


def time_pass(ids: list[int], op) -> dict:
    times = []
    rows = 0
    start = time.perf_counter()
    for i in ids:
        t = time.perf_counter()
        rows += op(i)
        times.append((time.perf_counter() - t) * 1e6)
    total = time.perf_counter() - start
    times.sort()

    def pick(q: float) -> float:
        return times[round((len(times) - 1) * q)]

    return {
        "calls": len(ids),
        "rows": rows,
        "mean_us": total * 1e6 / len(ids),
        "p50_us": pick(0.5),
        "p99_us": pick(0.99),
    }


def read_sample(data: Path) -> list[int]:
    return [int(line) for line in (data / "sample.txt").read_text().split()]


# --------------------------------------------------------- child: Ladybug
# Layout: one node table `Node` with the label as a STRING column, one
# relationship table `Rel` (Node to Node) with the type as a STRING column
# and `weight`; ids are the INT64 primary key.


def ladybug_load(store: Path, data: Path) -> dict:
    import ladybug

    db = ladybug.Database(str(store))
    conn = ladybug.Connection(db)
    conn.execute(
        "CREATE NODE TABLE Node(id INT64 PRIMARY KEY, label STRING, name STRING,"
        " age INT64, score DOUBLE, active BOOLEAN)"
    )
    conn.execute("CREATE REL TABLE Rel(FROM Node TO Node, type STRING, weight DOUBLE)")
    t = time.perf_counter()
    conn.execute(f"COPY Node FROM '{data / 'peer_nodes.csv'}' (HEADER=true)")
    nodes_s = time.perf_counter() - t
    t = time.perf_counter()
    conn.execute(f"COPY Rel FROM '{data / 'peer_edges.csv'}' (HEADER=true)")
    edges_s = time.perf_counter() - t
    t = time.perf_counter()
    conn.execute("CHECKPOINT")
    conn.close()
    db.close()
    close_s = time.perf_counter() - t
    return {"phases": {"copy_nodes_s": nodes_s, "copy_rels_s": edges_s, "checkpoint_close_s": close_s}}


def ladybug_reads(store: Path, data: Path) -> dict:
    import ladybug

    warnings.simplefilter("ignore", DeprecationWarning)
    ids = read_sample(data)
    t = time.perf_counter()
    db = ladybug.Database(str(store))
    conn = ladybug.Connection(db)
    open_s = time.perf_counter() - t
    nodes = conn.execute("MATCH (n:Node) RETURN count(*)").get_next()[0]
    edges = conn.execute("MATCH ()-[r:Rel]->() RETURN count(*)").get_next()[0]
    q_lookup = conn.prepare("MATCH (a:Node {id: $id}) RETURN a.*")
    q_hop1 = conn.prepare("MATCH (a:Node {id: $id})-[:Rel]->(b:Node) RETURN b.id")
    q_hop2 = conn.prepare(
        "MATCH (a:Node {id: $id})-[:Rel]->(b:Node)-[:Rel]->(c:Node) RETURN count(*)"
    )

    def lookup(i: int) -> int:
        rows = conn.execute(q_lookup, {"id": i}).get_all()
        if len(rows) != 1:
            raise RuntimeError(f"ladybug: node {i}: {len(rows)} rows")
        return 1

    def hop1(i: int) -> int:
        return len(conn.execute(q_hop1, {"id": i}).get_all())

    def hop2(i: int) -> int:
        return conn.execute(q_hop2, {"id": i}).get_next()[0]

    # The floor of a call through the binding: a prepared query that reads
    # nothing, executed and fetched like the reads above.
    q_noop = conn.prepare("RETURN $id")

    def noop(i: int) -> int:
        return len(conn.execute(q_noop, {"id": i}).get_all())

    out = {"open_s": open_s, "nodes": nodes, "edges": edges}
    for name in ("cold", "cached"):
        out[name] = {
            "lookup": time_pass(ids, lookup),
            "hop1": time_pass(ids, hop1),
            "hop2": time_pass(ids, hop2),
        }
    out["cached"]["noop"] = time_pass(ids, noop)
    out["sample_out_degree_sum"] = out["cold"]["hop1"]["rows"]
    conn.close()
    db.close()
    return out


# The whole-graph questions (BENCHMARKS.md, "Whole graph"), the same four
# that peer_graph asks graphstore: every edge with the sum of its weight,
# every node's out-degree (the nodes with out-edges: a node without one adds
# nothing to the sums compared; rows fetched to Python, then summed), all 2-hop
# paths, and the nodes a shortest-path search reaches from one node.
LADYBUG_WHOLE = {
    "edges_weight": "MATCH ()-[r:Rel]->() RETURN count(*), sum(r.weight)",
    "out_degrees": "MATCH (a:Node)-[r:Rel]->() RETURN a.id, count(r)",
    "two_hop": "MATCH (a:Node)-[:Rel]->(b:Node)-[:Rel]->(c:Node) RETURN count(*)",
    "bfs": "MATCH (a:Node {id: $start})-[:Rel* SHORTEST 1..30]->(b:Node) RETURN count(DISTINCT b.id)",
}


def ladybug_whole(store: Path, data: Path) -> dict:
    import ladybug

    warnings.simplefilter("ignore", DeprecationWarning)
    runs = int(os.environ.get("PEERS_WHOLE_RUNS", "3"))
    start = int(os.environ.get("PEERS_WHOLE_START", "0"))
    db = ladybug.Database(str(store))
    conn = ladybug.Connection(db)

    def answer(name: str, rows: list) -> object:
        if name == "edges_weight":
            return [int(rows[0][0]), float(rows[0][1])]
        if name == "out_degrees":
            d = [int(r[1]) for r in rows]
            return [sum(d), sum(x * x for x in d), max(d, default=0)]
        return int(rows[0][0])

    out = {}
    for name, query in LADYBUG_WHOLE.items():
        params = {"start": start} if "$start" in query else {}
        prepared = conn.prepare(query)
        conn.execute(prepared, params).get_all()  # warm: cached, as graphstore's
        times = []
        rows: list = []
        for _ in range(runs):
            t = time.perf_counter()
            rows = conn.execute(prepared, params).get_all()
            times.append(time.perf_counter() - t)
        times_sorted = sorted(times)
        out[name] = {"answer": answer(name, rows), "times_s": times,
                     "median_s": times_sorted[len(times) // 2]}
    conn.close()
    db.close()
    return {"questions": out, "peak_rss_bytes": None}


# The algorithms part (BENCHMARKS.md, "Algorithms"): python-igraph and
# networkx on the same edges, per-node results written beside graphstore's
# for the parent to compare. The graph is built from peer_edges.csv first
# (vertex i is the workload's node i); its build is timed apart.


def read_edges(data: Path) -> tuple[int, list]:
    n = json.loads((data / "expected.json").read_text())["nodes"]
    edges = []
    with open(data / "peer_edges.csv") as f:
        next(f)
        for line in f:
            a, b, _ = line.split(",", 2)
            edges.append((int(a), int(b)))
    return n, edges


def timed_runs(f, runs: int):
    times = []
    result = None
    for _ in range(runs):
        t = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t)
    return result, times


def min_labels(membership: list[int]) -> list[int]:
    """Each vertex's component named by its smallest vertex, as
    graph-algo names them."""
    smallest: dict[int, int] = {}
    for v, c in enumerate(membership):
        if c not in smallest:
            smallest[c] = v
    return [smallest[c] for c in membership]


def write_array(path: Path, code: str, values) -> None:
    from array import array
    with open(path, "wb") as f:
        array(code, values).tofile(f)


def igraph_algos(store: Path, data: Path) -> dict:
    import igraph as ig

    out = Path(os.environ["PEERS_ALGO_OUT"])
    runs = int(os.environ.get("PEERS_WHOLE_RUNS", "3"))
    t = time.perf_counter()
    n, edges = read_edges(data)
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    g = ig.Graph(n=n, edges=edges, directed=True)
    build_s = time.perf_counter() - t
    del edges
    res: dict = {}

    pr, ts = timed_runs(lambda: g.pagerank(directed=True, damping=0.85), runs)
    write_array(out / "igraph-pagerank.f64", "d", pr)
    res["pagerank"] = {"times_s": ts, "answer": {"sum": sum(pr)}}
    wcc, ts = timed_runs(lambda: g.connected_components(mode="weak"), runs)
    write_array(out / "igraph-wcc.u64", "Q", min_labels(wcc.membership))
    res["wcc"] = {"times_s": ts, "answer": {"components": len(wcc), "largest": max(wcc.sizes())}}
    scc, ts = timed_runs(lambda: g.connected_components(mode="strong"), runs)
    res["scc"] = {"times_s": ts, "answer": {"components": len(scc), "largest": max(scc.sizes())}}
    start = int(os.environ.get("PEERS_WHOLE_START", "0"))
    (vids, layers, _parents), ts = timed_runs(lambda: g.bfs(start, mode="out"), runs)
    hops = [0xFFFFFFFF] * n
    for depth in range(len(layers) - 1):
        for v in vids[layers[depth]:layers[depth + 1]]:
            hops[v] = depth
    write_array(out / "igraph-bfs.u32", "I", hops)
    res["bfs"] = {"times_s": ts, "answer": {"reached": len(vids) - 1}}

    def count_triangles() -> int:
        u = g.as_undirected(mode="collapse")
        u.simplify()
        return len(u.list_triangles())

    tri, ts = timed_runs(count_triangles, runs)
    res["triangles"] = {"times_s": ts, "answer": {"triangles": tri}}
    for v in res.values():
        v["median_s"] = sorted(v["times_s"])[len(v["times_s"]) // 2]
    return {"read_s": read_s, "build_s": build_s, "algorithms": res}


def networkx_algos(store: Path, data: Path) -> dict:
    import networkx as nx

    runs = int(os.environ.get("PEERS_NETWORKX_RUNS", "1"))
    t = time.perf_counter()
    n, edges = read_edges(data)
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    build_s = time.perf_counter() - t
    del edges
    start = int(os.environ.get("PEERS_WHOLE_START", "0"))
    res: dict = {}
    pr, ts = timed_runs(lambda: nx.pagerank(g, alpha=0.85, tol=1e-10), runs)
    res["pagerank"] = {"times_s": ts, "answer": {"sum": sum(pr.values())}}
    ranks = [pr[i] for i in range(n)]
    res["pagerank"]["ranks"] = ranks
    comps, ts = timed_runs(lambda: [len(c) for c in nx.weakly_connected_components(g)], runs)
    res["wcc"] = {"times_s": ts, "answer": {"components": len(comps), "largest": max(comps)}}
    comps, ts = timed_runs(lambda: [len(c) for c in nx.strongly_connected_components(g)], runs)
    res["scc"] = {"times_s": ts, "answer": {"components": len(comps), "largest": max(comps)}}
    lengths, ts = timed_runs(lambda: nx.single_source_shortest_path_length(g, start), runs)
    res["bfs"] = {"times_s": ts, "answer": {"reached": len(lengths) - 1}}

    def count_triangles() -> int:
        u = nx.Graph(g.to_undirected(as_view=True))
        u.remove_edges_from(nx.selfloop_edges(u))
        return sum(nx.triangles(u).values()) // 3

    tri, ts = timed_runs(count_triangles, runs)
    res["triangles"] = {"times_s": ts, "answer": {"triangles": tri}}
    for v in res.values():
        v["median_s"] = sorted(v["times_s"])[len(v["times_s"]) // 2]
    return {"build_s": build_s, "algorithms": res}


# -------------------------------------------------------- child: Oxigraph
# The graph as N-Triples (written by workload_csv): node IRIs n/ID with
# rdf:type label/L and the four properties, and one triple src rel/TYPE dst
# per distinct (source, type, target): no edge properties, no parallel
# edges. Queries are SPARQL with `substitutions` (the query text stays the
# same, the id is bound per call), Oxigraph's form of a prepared query.


def rel_values(types: list[str]) -> str:
    return " ".join(f"<{BASE}rel/{t}>" for t in types)


def oxigraph_load(store: Path, data: Path) -> dict:
    import pyoxigraph

    t = time.perf_counter()
    st = pyoxigraph.Store(str(store))
    st.bulk_load(path=str(data / "graph.nt"), format=pyoxigraph.RdfFormat.N_TRIPLES)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    st.flush()
    del st
    return {"phases": {"bulk_load_s": load_s, "flush_close_s": time.perf_counter() - t}}


def oxigraph_reads(store: Path, data: Path) -> dict:
    import pyoxigraph as ox

    expected = json.loads((data / "expected.json").read_text())
    rels = rel_values(expected["edge_types"])
    ids = read_sample(data)
    t = time.perf_counter()
    st = ox.Store(str(store))
    open_s = time.perf_counter() - t

    def count(q: str) -> int:
        return int(next(iter(st.query(q)))["c"].value)

    nodes = count(f"SELECT (COUNT(*) AS ?c) WHERE {{ ?s <{RDF_TYPE}> ?l }}")
    edges = count(f"SELECT (COUNT(*) AS ?c) WHERE {{ VALUES ?r {{ {rels} }} ?s ?r ?o }}")
    var_a = ox.Variable("a")
    q_lookup = "SELECT ?a ?p ?o WHERE { ?a ?p ?o }"
    q_hop1 = f"SELECT ?a ?b WHERE {{ VALUES ?r {{ {rels} }} ?a ?r ?b }}"
    q_hop2 = (
        f"SELECT ?a (COUNT(*) AS ?c) WHERE {{ VALUES ?r {{ {rels} }} VALUES ?r2 {{ {rels} }}"
        " ?a ?r ?b . ?b ?r2 ?c2 } GROUP BY ?a"
    )

    def node(i: int):
        return {var_a: ox.NamedNode(f"{BASE}n/{i}")}

    def lookup(i: int) -> int:
        rows = list(st.query(q_lookup, substitutions=node(i)))
        if len(rows) < 5:
            raise RuntimeError(f"oxigraph: node {i}: {len(rows)} triples")
        return 1

    def hop1(i: int) -> int:
        return len(list(st.query(q_hop1, substitutions=node(i))))

    def hop2(i: int) -> int:
        # SEP-0007 substitution needs ?a projected, hence GROUP BY ?a: no
        # row when there is no 2-hop path.
        rows = list(st.query(q_hop2, substitutions=node(i)))
        return int(rows[0]["c"].value) if rows else 0

    # The floor of a call through the binding: a query that reads nothing,
    # with the same substitution, its rows fetched.
    q_noop = "SELECT ?a WHERE {}"

    def noop(i: int) -> int:
        return len(list(st.query(q_noop, substitutions=node(i))))

    out = {"open_s": open_s, "nodes": nodes, "edges": edges}
    for name in ("cold", "cached"):
        out[name] = {
            "lookup": time_pass(ids, lookup),
            "hop1": time_pass(ids, hop1),
            "hop2": time_pass(ids, hop2),
        }
    out["cached"]["noop"] = time_pass(ids, noop)
    out["sample_out_degree_sum"] = out["cold"]["hop1"]["rows"]
    del st
    return out


CHILDREN = {
    "ladybug-load": ladybug_load,
    "ladybug-reads": ladybug_reads,
    "ladybug-whole": ladybug_whole,
    "igraph-algos": igraph_algos,
    "networkx-algos": networkx_algos,
    "oxigraph-load": oxigraph_load,
    "oxigraph-reads": oxigraph_reads,
}


def child_main(argv: list[str]) -> int:
    what, store, data = argv
    result = CHILDREN[what](Path(store), Path(data))
    print(json.dumps(result))
    return 0


# ------------------------------------------------------------- the parent


class Runner:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.data = Path(args.data).resolve()
        self.work = Path(args.work).resolve()
        self.bin = Path(args.bin_dir).resolve()
        self.expected = json.loads((self.data / "expected.json").read_text())
        self.can_drop = drop_caches()
        self.results: list[dict] = []

    def log(self, msg: str) -> None:
        print(f"[peers] {msg}", file=sys.stderr, flush=True)

    def self_child(self, what: str, store: Path) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--child", what, str(store), str(self.data)]

    def cold(self) -> None:
        if self.can_drop:
            drop_caches()

    def system(self, name: str, store: Path, load_cmd: list[str], reads_cmd: list[str],
               expect_edges: int, expect_degree: int, note: str) -> dict:
        self.log(f"{name}: loading into {store.name}")
        la0 = loadavg()
        load = run_child(load_cmd)
        la1 = loadavg()
        disk = disk_bytes(store)
        self.log(f"{name}: loaded in {load['wall_s']:.2f} s, {disk / MIB:.1f} MiB; reading")
        self.cold()
        reads = run_child(reads_cmd)
        r = json.loads(reads["stdout"])
        la2 = loadavg()
        try:
            phases = json.loads(load["stdout"]).get("phases", {}) if load["stdout"].strip() else {}
        except json.JSONDecodeError:
            phases = {}
        if name.startswith("graphstore"):
            summary = json.loads(load["stdout"])
            phases = {"check_s": summary["check_seconds"], "write_s": summary["write_seconds"]}
        n, m = self.expected["nodes"], self.expected["edges"]
        res = {
            "system": name,
            "note": note,
            "load": {
                "wall_s": load["wall_s"],
                "cpu_s": load["cpu_s"],
                "peak_rss_bytes": load["peak_rss_bytes"],
                "nodes_per_s": n / load["wall_s"],
                "edges_per_s": m / load["wall_s"],
                "phases": phases,
                "loadavg_before": la0,
                "loadavg_after": la1,
            },
            "disk_bytes": disk,
            "reads": {k: r[k] for k in ("open_s", "cold", "cached")},
            "reads_process": {"wall_s": reads["wall_s"], "peak_rss_bytes": reads["peak_rss_bytes"],
                              "loadavg_after": la2},
            "check": {
                "nodes": [r["nodes"], n],
                "edges": [r["edges"], expect_edges],
                "sample_out_degree_sum": [r["sample_out_degree_sum"], expect_degree],
            },
        }
        res["check"]["ok"] = all(a == b for a, b in (v for k, v in res["check"].items()))
        for k in ("cli_ids", "cached_split"):
            if k in r:
                res[k] = r[k]
        self.results.append(res)
        return res

    def graphstore(self, mode: str) -> dict:
        store = self.work / f"graphstore-{mode}"
        cmd = [str(self.bin / "graphstore"), "import", str(store),
               "--nodes", str(self.data / "nodes.csv"),
               "--relationships", str(self.data / "relationships.csv"),
               "--json", "--quiet"]
        if mode == "batched":
            cmd += ["--mode", "batched"]
        reads = [str(self.bin / "peer_reads"), str(store), "--sample", str(self.data / "sample.txt")]
        note = ("`graphstore import` (bulk path: new store, sorted SST files)" if mode == "bulk"
                else "`graphstore import --mode batched` (commits of 10,000)")
        res = self.system(f"graphstore-{mode}", store, cmd, reads,
                          self.expected["edges"], self.expected["sample_out_degree_sum"], note)
        if mode == "bulk":
            res["stats"] = self.stats(store)
            res["cli"] = self.cli_overhead(store, res["cli_ids"])
        return res

    def stats(self, store: Path) -> dict:
        out = subprocess.run([str(self.bin / "graphstore"), "stats", str(store), "--json"],
                             check=True, capture_output=True, text=True).stdout
        s = json.loads(out)
        return {"column_families": [
            {k: cf.get(k) for k in ("name", "estimated_keys", "live_sst_bytes", "sst_files_per_level")}
            for cf in s.get("column_families", [])]}

    def cli_overhead(self, store: Path, store_ids: list[int]) -> dict:
        """A handful of one-process-per-call reads through the CLI: what
        `graphstore ... --json` costs per call (process start, store open,
        the read, JSON), next to the in-process API figures. `get node` and
        `neighbors` take the store's node ids, which peer_reads resolved
        from the first sample ids."""
        ids = [str(i) for i in store_ids]
        g = str(self.bin / "graphstore")
        out = {}
        for name, mk in (("get_node", lambda i: [g, "get", "node", str(store), i, "--json"]),
                         ("neighbors", lambda i: [g, "neighbors", str(store), i, "--out", "--json"])):
            times = []
            for i in ids:
                t = time.perf_counter()
                subprocess.run(mk(i), check=True, capture_output=True)
                times.append(time.perf_counter() - t)
            out[name] = {"calls": len(ids), "mean_ms": 1e3 * sum(times) / len(times),
                         "min_ms": 1e3 * min(times)}
        return out

    def ladybug(self) -> dict:
        store = self.work / "ladybug.lbdb"
        return self.system("ladybug", store, self.self_child("ladybug-load", store),
                           self.self_child("ladybug-reads", store),
                           self.expected["edges"], self.expected["sample_out_degree_sum"],
                           "Ladybug 0.22.0 `COPY FROM` (one node table, label a column; one rel table, type a column)")

    def oxigraph(self) -> dict:
        store = self.work / "oxigraph"
        return self.system("oxigraph", store, self.self_child("oxigraph-load", store),
                           self.self_child("oxigraph-reads", store),
                           self.expected["distinct_edges"], self.expected["sample_distinct_out_degree_sum"],
                           "Oxigraph 0.5.13 `bulk_load` of N-Triples (no edge properties, no parallel edges)")


WHOLE_NAMES = {
    "edges_weight": "every edge: count and sum of `weight`",
    "out_degrees": "out-degree of every node",
    "two_hop": "all 2-hop paths (count)",
    "bfs": "BFS over out-edges from node 0 (nodes reached)",
}


def same_answer(name: str, a, b) -> bool:
    if name == "edges_weight":
        return a[0] == b[0] and abs(a[1] - b[1]) <= 1e-9 * max(abs(a[1]), abs(b[1]), 1.0)
    return a == b


class Whole:
    """The whole-graph part: peer_graph on the graphstore bulk store and
    the same questions in Cypher on the Ladybug store, answers checked
    equal before any time is reported."""

    def __init__(self, runner: "Runner"):
        self.r = runner

    def run(self, with_ladybug: bool) -> dict:
        r = self.r
        runs = str(r.args.whole_runs)
        store = r.work / "graphstore-bulk"
        r.log("whole graph: graphstore (peer_graph)")
        g = run_child([str(r.bin / "peer_graph"), str(store), "--start", "0", "--runs", runs])
        gs = json.loads(g["stdout"])
        gs["process"] = {"wall_s": g["wall_s"], "peak_rss_bytes": g["peak_rss_bytes"]}
        out = {"graphstore": gs}
        if with_ladybug:
            r.log("whole graph: ladybug (Cypher)")
            env_runs = os.environ.get("PEERS_WHOLE_RUNS")
            os.environ["PEERS_WHOLE_RUNS"] = runs
            try:
                l = run_child(r.self_child("ladybug-whole", r.work / "ladybug.lbdb"))
            finally:
                if env_runs is None:
                    os.environ.pop("PEERS_WHOLE_RUNS", None)
                else:
                    os.environ["PEERS_WHOLE_RUNS"] = env_runs
            lb = json.loads(l["stdout"])
            lb["process"] = {"wall_s": l["wall_s"], "peak_rss_bytes": l["peak_rss_bytes"]}
            out["ladybug"] = lb
            bad = []
            for name in WHOLE_NAMES:
                mine = gs["questions"][f"{name}/api"]["answer"]
                theirs = lb["questions"][name]["answer"]
                if not same_answer(name, mine, theirs):
                    bad.append(f"{name}: graphstore {mine}, ladybug {theirs}")
            out["check"] = {"ok": not bad, "differences": bad}
        return out


ALGO_NAMES = {
    "pagerank": "PageRank (damping 0.85)",
    "wcc": "weakly connected components",
    "scc": "strongly connected components",
    "bfs": "BFS over out-edges from node 0",
    "triangles": "triangles (undirected, simple)",
}


def read_array(path: Path, code: str) -> list:
    from array import array
    a = array(code)
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return list(a)


class Algos:
    """The algorithms part: graphstore (peer_algo, and the CLI) against
    python-igraph and networkx, results checked equal first."""

    def __init__(self, runner: "Runner"):
        self.r = runner

    def run(self, with_networkx: bool) -> dict:
        r = self.r
        store = r.work / "graphstore-bulk"
        out_dir = r.work / "algo-results"
        out_dir.mkdir(exist_ok=True)
        runs = str(r.args.whole_runs)
        r.log("algorithms: graphstore (peer_algo)")
        g = run_child([str(r.bin / "peer_algo"), str(store), "--out", str(out_dir), "--runs", runs])
        gs = json.loads(g["stdout"])
        gs["process"] = {"wall_s": g["wall_s"], "peak_rss_bytes": g["peak_rss_bytes"]}
        r.log("algorithms: graphstore CLI (one process per algorithm)")
        cli = {}
        for name, extra in (("pagerank", []), ("wcc", []), ("scc", []),
                            ("bfs", ["--source", "0"]), ("triangles", [])):
            c = run_child([str(r.bin / "graphstore"), "algo", name, str(store), "--json", "-q"] + extra)
            cli[name] = {"wall_s": c["wall_s"], "peak_rss_bytes": c["peak_rss_bytes"],
                         "seconds": json.loads(c["stdout"])["seconds"]}
        gs["cli"] = cli
        out = {"graphstore": gs}
        env = dict(os.environ)
        os.environ["PEERS_ALGO_OUT"] = str(out_dir)
        os.environ["PEERS_WHOLE_RUNS"] = runs
        try:
            r.log("algorithms: python-igraph")
            ig = run_child(r.self_child("igraph-algos", store))
            out["igraph"] = json.loads(ig["stdout"])
            out["igraph"]["process"] = {"wall_s": ig["wall_s"], "peak_rss_bytes": ig["peak_rss_bytes"]}
            if with_networkx:
                r.log("algorithms: networkx")
                nx_run = run_child(r.self_child("networkx-algos", store))
                out["networkx"] = json.loads(nx_run["stdout"])
                out["networkx"]["process"] = {"wall_s": nx_run["wall_s"],
                                              "peak_rss_bytes": nx_run["peak_rss_bytes"]}
        finally:
            os.environ.clear()
            os.environ.update(env)
        out["check"] = self.check(out, out_dir)
        return out

    def check(self, out: dict, out_dir: Path) -> dict:
        n = self.r.expected["nodes"]
        bad = []
        gs, ig = out["graphstore"]["algorithms"], out["igraph"]["algorithms"]
        mine = read_array(out_dir / "pagerank.f64", "d")[:n]
        theirs = read_array(out_dir / "igraph-pagerank.f64", "d")
        worst = max((abs(a - b) for a, b in zip(mine, theirs)), default=0.0)
        if len(mine) != len(theirs) or worst > 1e-9:
            bad.append(f"pagerank: largest difference from igraph {worst:.3g} (at most 1e-9 allowed)")
        if read_array(out_dir / "wcc.u64", "Q")[:n] != read_array(out_dir / "igraph-wcc.u64", "Q"):
            bad.append("wcc: the components differ from igraph's")
        if read_array(out_dir / "bfs.u32", "I")[:n] != read_array(out_dir / "igraph-bfs.u32", "I"):
            bad.append("bfs: the hop counts differ from igraph's")
        for name, key in (("wcc", "components"), ("scc", "components"), ("scc", "largest"),
                          ("bfs", "reached"), ("triangles", "triangles")):
            a, b = gs[name]["answer"][key], ig[name]["answer"][key]
            if a != b:
                bad.append(f"{name} {key}: graphstore {a}, igraph {b}")
        nxr = out.get("networkx")
        networkx_pagerank = None
        if nxr:
            ranks = nxr["algorithms"]["pagerank"].pop("ranks")
            networkx_pagerank = max((abs(a - b) for a, b in zip(mine, ranks)), default=0.0)
            for name, key in (("wcc", "components"), ("scc", "components"), ("bfs", "reached"),
                              ("triangles", "triangles")):
                a, b = gs[name]["answer"][key], nxr["algorithms"][name]["answer"][key]
                if a != b:
                    bad.append(f"{name} {key}: graphstore {a}, networkx {b}")
        return {"ok": not bad, "differences": bad, "pagerank_max_difference_igraph": worst,
                "pagerank_max_difference_networkx": networkx_pagerank}


def algos_table(a: dict) -> str:
    gs, ig, nxr = a["graphstore"], a["igraph"], a.get("networkx")
    lines = [
        "| algorithm | answer | graphstore library s | graphstore CLI s (algorithm / whole process) "
        "| python-igraph s | networkx s | igraph / graphstore library |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in ALGO_NAMES.items():
        g = gs["algorithms"][name]
        ans = g["answer"]
        ans_s = {"pagerank": lambda: f"{ans['iterations']} iterations",
                 "wcc": lambda: f"{ans['components']:,} ({ans['largest']:,} largest)",
                 "scc": lambda: f"{ans['components']:,} ({ans['largest']:,} largest)",
                 "bfs": lambda: f"{ans['reached']:,} reached",
                 "triangles": lambda: f"{ans['triangles']:,}"}[name]()
        c = gs["cli"][name]
        i = ig["algorithms"][name]["median_s"]
        x = f"{nxr['algorithms'][name]['median_s']:.3f}" if nxr else "-"
        lines.append(f"| {label} | {ans_s} | {g['median_s']:.3f} | {c['seconds']:.3f} / {c['wall_s']:.2f} "
                     f"| {i:.3f} | {x} | {i / g['median_s']:.2f}x |")
    chk = a["check"]
    lines.append("")
    lines.append(
        f"Graph construction, not counted above: python-igraph {ig['build_s']:.2f} s (after reading the CSV "
        f"in {ig['read_s']:.2f} s)" + (f", networkx {nxr['build_s']:.2f} s" if nxr else "")
        + f"; graphstore: open and adjacency built {gs['open_and_adjacency_s']:.2f} s, topology "
        f"{gs['topology_s']:.2f} s. PageRank per node within {chk['pagerank_max_difference_igraph']:.2g} of "
        "igraph's PRPACK" + (f" and {chk['pagerank_max_difference_networkx']:.2g} of networkx's"
                             if nxr else "")
        + "; components, BFS hops and triangle counts equal. Library times are medians of the runs; "
        "the CLI runs once per algorithm, a whole process (open, adjacency built, algorithm, output).")
    return "\n".join(lines)


def algos_verdicts(a: dict) -> list[str]:
    gs, ig = a["graphstore"]["algorithms"], a["igraph"]["algorithms"]
    parts = []
    for name in ALGO_NAMES:
        ratio = ig[name]["median_s"] / gs[name]["median_s"]
        parts.append(f"{name} {ratio:.2f}x" + (" (target >= 1: met)" if ratio >= 1 else " (target >= 1: MISSED)"))
    return ["- algorithms, python-igraph's time / graphstore's (library): " + "; ".join(parts)]


def whole_table(w: dict, exp: dict) -> str:
    gs = w["graphstore"]
    lb = w.get("ladybug")
    lines = [
        "| whole-graph question | answer | Ladybug (Cypher from Python) s | graphstore whole-graph API s "
        "| graphstore per-node calls s | Ladybug / API | Ladybug / per-node |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in WHOLE_NAMES.items():
        api = gs["questions"][f"{name}/api"]
        per = gs["questions"][f"{name}/per_call"]
        ans = api["answer"]
        ans_s = f"{ans[0]:,} edges, {ans[1]:,.3f}" if name == "edges_weight" else (
            f"sum {ans[0]:,}, max {ans[2]:,}" if name == "out_degrees" else f"{ans:,}")
        if lb:
            t = lb["questions"][name]["median_s"]
            lines.append(f"| {label} | {ans_s} | {t:.4f} | {api['median_s']:.4f} | {per['median_s']:.4f} "
                         f"| {t / api['median_s']:.1f}x | {t / per['median_s']:.1f}x |")
        else:
            lines.append(f"| {label} | {ans_s} | - | {api['median_s']:.4f} | {per['median_s']:.4f} | - | - |")
    mib = 1024 * 1024
    e = max(exp["edges"], 1)
    lines.append("")
    lines.append(
        f"graphstore: adjacency built in {gs['adjacency_built_s']:.2f} s after an open of {gs['open_s']:.3f} s "
        f"(reads go to the engine meanwhile), {gs['adjacency_bytes'] / mib:.1f} MiB "
        f"({gs['adjacency_bytes'] / e:.1f} bytes per edge, both directions); `weight` projected in "
        f"{gs['projection_s']:.2f} s, {gs['projection_bytes'] / mib:.1f} MiB; RSS {gs['rss_ready_bytes'] / mib:.0f} MiB "
        f"with both ready, peak {gs['process']['peak_rss_bytes'] / mib:.0f} MiB"
        + (f" (Ladybug's process answering the same: peak {lb['process']['peak_rss_bytes'] / mib:.0f} MiB)" if lb else "")
        + f"; `neighbors` on one thread: {gs['neighbors_edges_per_s'] / 1e6:.0f}M edges/s through "
        f"`GraphReader::neighbors` (a lock and a Vec per call), {gs['adjacency_neighbors_edges_per_s'] / 1e6:.0f}M "
        "through a pinned `Adjacency`. Times are medians of the runs, each system warmed (cached) first.")
    return "\n".join(lines)


def whole_verdicts(w: dict) -> list[str]:
    gs, lb = w["graphstore"], w.get("ladybug")
    if not lb:
        return []
    parts = []
    for name in WHOLE_NAMES:
        ratio = lb["questions"][name]["median_s"] / gs["questions"][f"{name}/api"]["median_s"]
        parts.append(f"{name} {ratio:.1f}x" + (" (target >= 2x: met)" if ratio >= 2 else " (target >= 2x: MISSED)"))
    rate = gs["neighbors_edges_per_s"]
    parts.append(f"neighbors {rate / 1e6:.0f}M edges/s per call, "
                 f"{gs['adjacency_neighbors_edges_per_s'] / 1e6:.0f}M through Adjacency (target >= 50M)")
    return ["- whole graph, Ladybug's time / graphstore's (whole-graph API): " + "; ".join(parts)]


def fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def floor(reads: dict) -> str:
    """The per-call floor of a system's reads, or a dash when it has none."""
    noop = reads["cached"].get("noop")
    return f"{noop['mean_us']:.1f}" if noop else "—"


def table(results: list[dict], exp: dict, can_drop: bool) -> str:
    lines = [
        "| system | whole load s | phases s | nodes/s (whole) | edges/s (whole) | CPU s | peak RSS MiB | on disk MiB "
        "| lookup µs cold / cached | 1-hop µs cold / cached | 2-hop µs cold / cached | per-call floor µs |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ld = r["load"]
        ph = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in ld["phases"].items())
        rd = r["reads"]

        def us(op: str) -> str:
            return f"{rd['cold'][op]['mean_us']:.1f} / {rd['cached'][op]['mean_us']:.1f}"

        lines.append(
            f"| {r['system']} | {ld['wall_s']:.2f} | {ph} | {fmt_int(ld['nodes_per_s'])} | "
            f"{fmt_int(ld['edges_per_s'])} | {ld['cpu_s']:.1f} | {ld['peak_rss_bytes'] / MIB:.0f} | "
            f"{r['disk_bytes'] / MIB:.1f} | {us('lookup')} | {us('hop1')} | {us('hop2')} | {floor(rd)} |"
        )
    cold = ("cold = first pass after reopening, page cache dropped before the reading process started"
            if can_drop else "cold = first pass after reopen (page cache not dropped: not permitted)")
    lines.append("")
    lines.append(f"{exp['nodes']:,} nodes, {exp['edges']:,} edges, seed {exp['seed']}; sample of "
                 f"{exp['sample_size']:,} ids, out-degree sum {exp['sample_out_degree_sum']:,}; {cold}; "
                 "whole load = spawn of the loading process to its exit, CSV on disk to a durable store; "
                 "rates = items / whole load; per-call floor = the mean of a query that reads nothing "
                 "(Ladybug: prepared `RETURN $id`; Oxigraph: `SELECT ?a WHERE {}` with the same "
                 "substitution), executed and fetched through the same Python binding as the reads, "
                 "so part of each read figure is this floor, not storage; graphstore's reads are Rust "
                 "calls in the reading process, with no query layer or binding (—).")
    return "\n".join(lines)


def verdicts(results: list[dict]) -> list[str]:
    by = {r["system"]: r for r in results}
    g = by.get("graphstore-bulk")
    out = []
    if not g:
        return out
    for peer in ("ladybug", "oxigraph"):
        p = by.get(peer)
        if not p:
            continue
        speed = p["load"]["wall_s"] / g["load"]["wall_s"]
        rss = g["load"]["peak_rss_bytes"] / p["load"]["peak_rss_bytes"]
        disk = g["disk_bytes"] / p["disk_bytes"]
        line = [f"graphstore bulk vs {peer} (ratios > 1 favour graphstore for speed, < 1 for RSS and disk): "
                f"load {speed:.2f}x {peer}'s speed"
                + (" (target >= 1.5x: met)" if peer == "ladybug" and speed >= 1.5 else
                   " (target >= 1.5x: MISSED)" if peer == "ladybug" else ""),
                f"peak RSS {rss:.2f}x" + (" (target <= 1: met)" if peer == "ladybug" and rss <= 1 else
                                          " (target <= 1: MISSED)" if peer == "ladybug" else ""),
                f"disk {disk:.2f}x" + (" (target <= 1: met)" if peer == "ladybug" and disk <= 1 else
                                       " (target <= 1: MISSED)" if peer == "ladybug" else "")]
        for op in ("lookup", "hop1", "hop2"):
            for pas in ("cold", "cached"):
                ratio = p["reads"][pas][op]["mean_us"] / g["reads"][pas][op]["mean_us"]
                tgt = ""
                if op != "hop2":
                    tgt = " (target >= 10x: met)" if ratio >= 10 else " (target >= 10x: MISSED)"
                line.append(f"{op} {pas} {ratio:.1f}x ({p['reads'][pas][op]['mean_us']:.1f} vs "
                            f"{g['reads'][pas][op]['mean_us']:.1f} µs){tgt}")
        out.append("- " + "; ".join(line))
        wins = []
        if speed < 1:
            wins.append(f"whole load ({p['load']['wall_s']:.2f} s vs {g['load']['wall_s']:.2f} s)")
        if rss > 1:
            wins.append(f"peak RSS ({p['load']['peak_rss_bytes'] / MIB:.0f} vs {g['load']['peak_rss_bytes'] / MIB:.0f} MiB)")
        if disk > 1:
            wins.append(f"bytes on disk ({p['disk_bytes'] / MIB:.1f} vs {g['disk_bytes'] / MIB:.1f} MiB)")
        if p["load"]["cpu_s"] < g["load"]["cpu_s"]:
            wins.append(f"load CPU time ({p['load']['cpu_s']:.1f} vs {g['load']['cpu_s']:.1f} s)")
        for op in ("lookup", "hop1", "hop2"):
            for pas in ("cold", "cached"):
                if p["reads"][pas][op]["mean_us"] < g["reads"][pas][op]["mean_us"]:
                    wins.append(f"{op} {pas}")
        out.append(f"- {peer} wins: " + (", ".join(wins) if wins else "nothing measured here"))
    return out


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="directory written by workload_csv")
    ap.add_argument("--work", required=True, help="directory for the stores")
    ap.add_argument("--bin-dir", required=True, help="directory of graphstore and peer_reads")
    ap.add_argument("--peers", default="", help="comma-separated peers to run (ladybug,oxigraph)")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--commit", default="", help="the commit measured, for the record")
    ap.add_argument("--skip-batched", action="store_true", help="load graphstore with the bulk path only")
    ap.add_argument("--whole-runs", type=int, default=3, help="timed runs of each whole-graph question")
    ap.add_argument("--algorithms", action="store_true",
                    help="also run the algorithms part (python-igraph, networkx with --networkx)")
    ap.add_argument("--networkx", action="store_true", help="networkx in the algorithms part")
    args = ap.parse_args()
    r = Runner(args)
    peers = [p for p in args.peers.split(",") if p]
    r.graphstore("bulk")
    if not args.skip_batched:
        r.graphstore("batched")
    for p in peers:
        getattr(r, p)()
    whole = Whole(r).run("ladybug" in peers)
    if not whole.get("check", {"ok": True})["ok"]:
        for d in whole["check"]["differences"]:
            print(f"peers: error: whole graph: answers differ: {d}", file=sys.stderr)
        return 1
    algos = Algos(r).run(args.networkx) if args.algorithms else None
    if algos and not algos["check"]["ok"]:
        for d in algos["check"]["differences"]:
            print(f"peers: error: algorithms: results differ: {d}", file=sys.stderr)
        return 1
    bad = [x for x in r.results if not x["check"]["ok"]]
    if bad:
        for x in bad:
            print(f"peers: error: {x['system']} does not hold the expected graph: "
                  f"{json.dumps(x['check'])} (measured, expected)", file=sys.stderr)
        return 1
    print(f"All {len(r.results)} systems hold the same graph: nodes, edges and the sample's "
          "out-degree sum match expected.json (Oxigraph: distinct source, type, target).")
    print()
    print(table(r.results, r.expected, r.can_drop))
    print()
    for line in verdicts(r.results):
        print(line)
    g = next(x for x in r.results if x["system"] == "graphstore-bulk")
    print()
    print("Per-call overhead of the CLI (one process per call, store opened each time, after the reads): "
          + "; ".join(f"`graphstore {k.replace('_', ' ')} --json` {v['mean_ms']:.1f} ms mean, {v['min_ms']:.1f} ms min "
                      f"over {v['calls']} calls" for k, v in g["cli"].items())
          + f"; against {g['reads']['cached']['lookup']['mean_us']:.1f} µs (lookup) and "
            f"{g['reads']['cached']['hop1']['mean_us']:.1f} µs (1-hop) through the API in one process.")
    sp = g.get("cached_split", {})
    if sp:
        print("Cached lookup split (graphstore bulk, third pass): " + "; ".join(
            f"{k.replace('_', ' ')} {v['mean_us']:.1f} µs" for k, v in sp.items()))
    print("graphstore bulk store per column family (live SST MiB): " + ", ".join(
        f"{cf['name']} {(cf['live_sst_bytes'] or 0) / MIB:.1f}" for cf in g["stats"]["column_families"]))
    print()
    print("Whole graph" + (" (answers checked equal with Ladybug's):" if "ladybug" in whole else ":"))
    print()
    print(whole_table(whole, r.expected))
    print()
    for line in whole_verdicts(whole):
        print(line)
    if algos:
        print()
        print("Algorithms (results checked equal with python-igraph's" + (" and networkx's" if "networkx" in algos else "") + "):")
        print()
        print(algos_table(algos))
        print()
        for line in algos_verdicts(algos):
            print(line)
    if args.json:
        doc = {"commit": args.commit, "expected": r.expected, "cold_is_page_cache_dropped": r.can_drop,
               "peers": peers, "results": r.results, "verdicts": verdicts(r.results),
               "whole_graph": whole, "whole_verdicts": whole_verdicts(whole),
               "algorithms": algos, "algorithms_verdicts": algos_verdicts(algos) if algos else [],
               "machine": {"cpus": os.cpu_count(), "loadavg_end": loadavg()}}
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
