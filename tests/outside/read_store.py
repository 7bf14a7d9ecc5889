#!/usr/bin/env python3
"""An outside reader of graph-storage's RocksDB stores.

Written from docs/FORMAT.md alone, without graph-storage's code: it opens a
store with another RocksDB (Python's rocksdict, read-only), decodes every
key and value of the four column families the way FORMAT.md specifies
them, checks the invariants FORMAT.md states, and compares the graph it
read with what `graphstore export --format jsonl` wrote of the same store.
So it proves two things at once: that the format document is complete and
true, and that the store is readable by tools that are not ours.

Usage:
  read_store.py gen OUT_DIR [--seed N] [--nodes N] [--edges N]
      writes a.jsonl and b.jsonl: a graph that uses every value type (the
      second file adds to the first, naming some of its nodes)
  read_store.py example FORMAT_MD
      decodes the record example printed in docs/FORMAT.md and checks it
      says what the text beside it says
  read_store.py check STORE [--export FILE] [--json]
      reads STORE (closed; it is opened read-only); prints a summary, or
      each problem found on a line of its own and exits with 1

`check` needs the `rocksdict` package; `gen` needs nothing beyond the
standard library. scripts/outside-reader runs both against stores the
graphstore tool writes.
"""

import argparse
import json
import math
import random
import struct
import sys
from datetime import datetime, timedelta, timezone

FAMILIES = ("default", "nodes", "edges", "indices")
MAX_DEPTH = 32


class Bad(Exception):
    """Bytes that do not decode as FORMAT.md says they should."""


# ---------------------------------------------------------------------------
# bincode's standard configuration (FORMAT.md, "nodes and edges: records")
# ---------------------------------------------------------------------------


class Reader:
    """Reads bincode 2 standard-configuration values from bytes."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Bad(f"{n} bytes wanted at offset {self.pos}, {len(self.data) - self.pos} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def varint(self):
        """An unsigned integer: below 251 one byte, else FB/FC/FD + 2/4/8 bytes LE."""
        b = self.u8()
        if b < 251:
            return b
        width = {251: 2, 252: 4, 253: 8}.get(b)
        if width is None:
            raise Bad(f"varint marker {b:#04x} at offset {self.pos - 1}")
        return int.from_bytes(self.take(width), "little")

    def zigzag(self):
        """A signed integer: zigzag, then a varint."""
        z = self.varint()
        return (z >> 1) ^ -(z & 1)

    def f64(self):
        return struct.unpack("<d", self.take(8))[0]

    def f32_bits(self):
        return int.from_bytes(self.take(4), "little")

    def string(self):
        raw = self.take(self.varint())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Bad(f"invalid UTF-8 in a string: {e}") from None

    def end(self):
        if self.pos != len(self.data):
            raise Bad(f"{len(self.data) - self.pos} trailing bytes")


# Values are compared as tagged tuples: ("int", 3) is not ("float", 3.0),
# and floats are compared by their bits (NaN, -0.0).
def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f32_of(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def value(r, depth=0):
    """A property value (FORMAT.md, "Property values")."""
    if depth > MAX_DEPTH:
        raise Bad("values nested deeper than 32")
    tag = r.varint()
    if tag == 0:
        return ("null", None)
    if tag == 1:
        b = r.u8()
        if b > 1:
            raise Bad(f"bool byte {b}")
        return ("bool", b == 1)
    if tag == 2:
        return ("int", r.zigzag())
    if tag == 3:
        return ("float", f64_bits(r.f64()))
    if tag == 4:
        return ("string", r.string())
    if tag == 5:
        return ("bytes", r.take(r.varint()))
    if tag == 6:
        return ("datetime", r.zigzag())
    if tag == 7:
        return ("list", tuple(value(r, depth + 1) for _ in range(r.varint())))
    if tag == 8:
        return ("map", properties(r, depth + 1))
    if tag == 9:
        return ("vector", tuple(r.f32_bits() for _ in range(r.varint())))
    raise Bad(f"unknown value tag {tag}")


def properties(r, depth=0):
    """A map: a length, then (string key, value) pairs sorted by key."""
    out = {}
    last = None
    for _ in range(r.varint()):
        k = r.string()
        if last is not None and k.encode() <= last.encode():
            raise Bad(f"property keys not sorted: {last!r} then {k!r}")
        last = k
        out[k] = value(r, depth)
    return out


def record(data):
    if not data or data[0] != 1:
        raise Bad(f"record version {data[:1].hex() or 'missing'}, expected 01")
    return Reader(data[1:])


def node_record(key, data):
    r = record(data)
    node = {"id": r.varint()}
    labels = [r.string() for _ in range(r.varint())]
    if any(not l for l in labels) or any(
        a.encode() >= b.encode() for a, b in zip(labels, labels[1:])
    ):
        raise Bad(f"labels not sorted, unique and non-empty: {labels}")
    node["labels"] = labels
    node["properties"] = properties(r)
    node["created_at"] = r.zigzag()
    node["updated_at"] = r.zigzag()
    r.end()
    if key != node["id"]:
        raise Bad(f"record id {node['id']} under key {key}")
    return node


def edge_record(key, data):
    r = record(data)
    edge = {"id": r.varint(), "src": r.varint(), "dst": r.varint(), "type": r.string()}
    if not edge["type"]:
        raise Bad("empty edge type")
    edge["properties"] = properties(r)
    edge["created_at"] = r.zigzag()
    edge["updated_at"] = r.zigzag()
    r.end()
    if key != edge["id"]:
        raise Bad(f"record id {edge['id']} under key {key}")
    return edge


# ---------------------------------------------------------------------------
# Memcomparable values (FORMAT.md, "Memcomparable values")
# ---------------------------------------------------------------------------


def mc_escaped(data, pos):
    """Bytes with 00 escaped as 00 FF, ended by 00 01."""
    out = bytearray()
    while True:
        if pos >= len(data):
            raise Bad("unterminated memcomparable string")
        b = data[pos]
        if b != 0:
            out.append(b)
            pos += 1
            continue
        if pos + 1 >= len(data):
            raise Bad("memcomparable string ends inside an escape")
        nxt = data[pos + 1]
        pos += 2
        if nxt == 0xFF:
            out.append(0)
        elif nxt == 0x01:
            return bytes(out), pos
        else:
            raise Bad(f"memcomparable escape 00 {nxt:02x}")


def mc_f64(bits):
    """Undoes the order-preserving transform of a float's bits."""
    if bits & (1 << 63):
        return bits ^ (1 << 63)
    return bits ^ 0xFFFFFFFFFFFFFFFF


def mc_f32(bits):
    if bits & (1 << 31):
        return bits ^ (1 << 31)
    return bits ^ 0xFFFFFFFF


def mc_value(data, pos, depth=0):
    """One memcomparable value from `pos`; returns (value, next position)."""
    if depth > MAX_DEPTH:
        raise Bad("memcomparable value nested deeper than 32")
    if pos >= len(data):
        raise Bad("memcomparable value missing")
    tag = data[pos]
    pos += 1

    def fixed(n):
        if pos + n > len(data):
            raise Bad("memcomparable value truncated")
        return int.from_bytes(data[pos : pos + n], "big"), pos + n

    def sequence(item):
        nonlocal pos
        items = []
        while True:
            if pos >= len(data):
                raise Bad("unterminated memcomparable sequence")
            marker = data[pos]
            pos += 1
            if marker == 0:
                return items, pos
            if marker != 1:
                raise Bad(f"memcomparable sequence marker {marker:02x}")
            got, pos = item(pos)
            items.append(got)

    if tag == 0x01:
        return ("null", None), pos
    if tag == 0x02:
        if pos >= len(data) or data[pos] > 1:
            raise Bad("memcomparable bool")
        return ("bool", data[pos] == 1), pos + 1
    if tag in (0x03, 0x07):
        v, pos = fixed(8)
        v ^= 1 << 63
        v -= (1 << 64) if v >= (1 << 63) else 0
        return ("int" if tag == 0x03 else "datetime", v), pos
    if tag == 0x04:
        v, pos = fixed(8)
        return ("float", mc_f64(v)), pos
    if tag in (0x05, 0x06):
        raw, pos = mc_escaped(data, pos)
        if tag == 0x06:
            return ("bytes", raw), pos
        try:
            return ("string", raw.decode("utf-8")), pos
        except UnicodeDecodeError:
            raise Bad("invalid UTF-8 in a memcomparable string") from None
    if tag == 0x08:
        items, pos = sequence(lambda p: mc_value(data, p, depth + 1))
        return ("list", tuple(items)), pos
    if tag == 0x09:

        def entry(p):
            raw, p = mc_escaped(data, p)
            v, p = mc_value(data, p, depth + 1)
            return (raw.decode("utf-8"), v), p

        items, pos = sequence(entry)
        return ("map", dict(items)), pos
    if tag == 0x0A:

        def element(p):
            if p + 4 > len(data):
                raise Bad("memcomparable vector truncated")
            return mc_f32(int.from_bytes(data[p : p + 4], "big")), p + 4

        items, pos = sequence(element)
        return ("vector", tuple(items)), pos
    raise Bad(f"memcomparable tag {tag:02x}")


# ---------------------------------------------------------------------------
# Reading a store
# ---------------------------------------------------------------------------


def be(data, what, n):
    if len(data) != n:
        raise Bad(f"{what}: {len(data)} bytes, expected {n}")
    return int.from_bytes(data, "big")


def read_families(path):
    try:
        from rocksdict import AccessType, Options, Rdict
    except ImportError:
        sys.exit("read_store.py: the rocksdict package is missing (pip install rocksdict)")
    found = Rdict.list_cf(path)
    if sorted(found) != sorted(FAMILIES):
        raise Bad(f"column families {found}, expected {list(FAMILIES)}")
    raw = Options(raw_mode=True)
    db = Rdict(
        path,
        options=raw,
        access_type=AccessType.read_only(),
        column_families={c: Options(raw_mode=True) for c in FAMILIES},
    )
    try:
        return {c: list(db.get_column_family(c).items()) for c in FAMILIES}
    finally:
        db.close()


def check_store(path):
    """Decodes every pair; returns (graph, problems)."""
    fams = read_families(path)
    problems = []

    def problem(msg):
        problems.append(msg)

    for c, pairs in fams.items():
        keys = [k for k, _ in pairs]
        if keys != sorted(keys):
            problem(f"{c}: keys not in unsigned byte order")

    # default: metadata
    meta, symbols, names, index_defs, external = {}, {}, {}, {}, {}
    for k, v in fams["default"]:
        try:
            tag = k[0]
            if tag == 0x01:
                name = k[1:].decode("ascii")
                if name == "created_by":
                    meta[name] = v.decode("utf-8")
                elif name in ("format_version", "next_symbol_id", "next_index_id"):
                    meta[name] = be(v, name, 4)
                elif name in ("next_node_id", "next_edge_id", "node_count", "edge_count"):
                    meta[name] = be(v, name, 8)
                else:
                    problem(f"default: unknown metadata key {name!r}")
            elif tag == 0x02:
                symbols[k[1:].decode("utf-8")] = be(v, "symbol id", 4)
            elif tag == 0x03:
                names[be(k[1:], "symbol key", 4)] = v.decode("utf-8")
            elif tag == 0x04:
                r = record(v)
                label, prop = r.string(), r.string()
                r.end()
                index_defs[be(k[1:], "index key", 4)] = (label, prop)
            elif tag == 0x05:
                space, sep, ext = k[1:].partition(b"\x00")
                if not sep:
                    raise Bad("external-id key without its 00")
                external[(space.decode("utf-8"), ext.decode("utf-8"))] = be(v, "node id", 8)
            elif tag == 0x06:
                k[1:].decode("ascii")  # replication state: never read by the graph layer
            else:
                problem(f"default: unknown key tag {tag:02x} ({k.hex()})")
        except (Bad, UnicodeDecodeError, IndexError) as e:
            problem(f"default: key {k.hex()}: {e}")

    version = meta.get("format_version")
    # Format 3 changed no key or value (FORMAT.md, "Versions"): the RocksDB
    # files of the bottom level are ZSTD-compressed, which RocksDB itself
    # decodes.
    if version not in (1, 2, 3):
        problem(f"format_version {version}, expected 1, 2 or 3")
    if version in (2, 3) and "created_by" not in meta:
        problem(f"a format-{version} store without created_by")
    for name, sid in symbols.items():
        if names.get(sid) != name:
            problem(f"symbol {name!r} -> {sid}, but {sid} -> {names.get(sid)!r}")
    for sid, name in names.items():
        if symbols.get(name) != sid:
            problem(f"symbol {sid} -> {name!r} has no forward entry")
    next_symbol = meta.get("next_symbol_id", 0)
    if any(sid >= next_symbol for sid in names):
        problem(f"a symbol id at or above next_symbol_id {next_symbol}")
    next_index = meta.get("next_index_id", 0)
    if any(i >= next_index for i in index_defs):
        problem(f"an index id at or above next_index_id {next_index}")

    # records
    nodes, edges = {}, {}
    for fam, decode, out in (("nodes", node_record, nodes), ("edges", edge_record, edges)):
        for k, v in fams[fam]:
            try:
                rid = be(k, f"{fam} key", 8)
                out[rid] = decode(rid, v)
            except Bad as e:
                problem(f"{fam}: key {k.hex()}: {e}")
    if meta.get("node_count", 0) != len(nodes):
        problem(f"node_count {meta.get('node_count', 0)}, {len(nodes)} node records")
    if meta.get("edge_count", 0) != len(edges):
        problem(f"edge_count {meta.get('edge_count', 0)}, {len(edges)} edge records")
    if nodes and max(nodes) >= meta.get("next_node_id", 0):
        problem(f"node id {max(nodes)} at or above next_node_id {meta.get('next_node_id', 0)}")
    if edges and max(edges) >= meta.get("next_edge_id", 0):
        problem(f"edge id {max(edges)} at or above next_edge_id {meta.get('next_edge_id', 0)}")

    # indices: what the records say must be there, against what is
    want_adj, want_label, want_prop = set(), set(), set()
    for e in edges.values():
        t = symbols.get(e["type"])
        if t is None:
            problem(f"edge {e['id']}: type {e['type']!r} has no symbol")
            continue
        if e["src"] not in nodes or e["dst"] not in nodes:
            problem(f"edge {e['id']}: an end is not a node")
        want_adj.add((1, e["src"], t, e["dst"], e["id"]))
        want_adj.add((2, e["dst"], t, e["src"], e["id"]))
    defs_by_label = {}
    for i, (label, prop) in index_defs.items():
        defs_by_label.setdefault(label, []).append((i, prop))
    for n in nodes.values():
        for label in n["labels"]:
            sid = symbols.get(label)
            if sid is None:
                problem(f"node {n['id']}: label {label!r} has no symbol")
                continue
            want_label.add((sid, n["id"]))
            for i, prop in defs_by_label.get(label, []):
                if prop in n["properties"]:
                    want_prop.add((i, n["id"], mc_comparable(n["properties"][prop])))
    got_adj, got_label, got_prop = set(), set(), set()
    for k, v in fams["indices"]:
        try:
            if v:
                raise Bad(f"a non-empty value ({len(v)} bytes)")
            tag = k[0]
            if tag in (1, 2):
                if len(k) != 29:
                    raise Bad(f"adjacency key of {len(k)} bytes")
                got_adj.add(
                    (
                        tag,
                        int.from_bytes(k[1:9], "big"),
                        int.from_bytes(k[9:13], "big"),
                        int.from_bytes(k[13:21], "big"),
                        int.from_bytes(k[21:29], "big"),
                    )
                )
            elif tag == 3:
                if len(k) != 13:
                    raise Bad(f"label-index key of {len(k)} bytes")
                got_label.add((int.from_bytes(k[1:5], "big"), int.from_bytes(k[5:13], "big")))
            elif tag == 4:
                index = int.from_bytes(k[1:5], "big")
                val, pos = mc_value(k, 5)
                if len(k) - pos != 8:
                    raise Bad(f"{len(k) - pos} bytes after the memcomparable value, expected 8")
                got_prop.add((index, int.from_bytes(k[pos:], "big"), mc_comparable(val)))
            else:
                raise Bad(f"unknown tag {tag:02x}")
        except (Bad, IndexError, UnicodeDecodeError) as e:
            problem(f"indices: key {k.hex()}: {e}")

    def diff(what, want, got):
        for x in sorted(want - got, key=repr)[:5]:
            problem(f"{what}: missing {x}")
        for x in sorted(got - want, key=repr)[:5]:
            problem(f"{what}: unexpected {x}")

    diff("adjacency", want_adj, got_adj)
    diff("label index", want_label, got_label)
    # A property-index entry holds the memcomparable form of the node's
    # value; decoded, it must be that value (floats and vectors as bits).
    diff("property index", want_prop, got_prop)
    return {"nodes": nodes, "edges": edges, "meta": meta, "indexes": index_defs}, problems


def mc_comparable(v):
    """A hashable form of a decoded value (memcomparable or record)."""
    kind, x = v
    if kind in ("list",):
        return (kind, tuple(mc_comparable(i) for i in x))
    if kind == "map":
        return (kind, tuple(sorted((k, mc_comparable(i)) for k, i in x.items())))
    return (kind, x)


# ---------------------------------------------------------------------------
# The export's JSON Lines (docs/CLI.md, "JSON Lines") as tagged values
# ---------------------------------------------------------------------------


def from_json(x):
    if x is None:
        return ("null", None)
    if isinstance(x, bool):
        return ("bool", x)
    if isinstance(x, int):
        return ("int", x)
    if isinstance(x, float):
        return ("float", f64_bits(x))
    if isinstance(x, str):
        return ("string", x)
    if isinstance(x, list):
        return ("list", tuple(from_json(i) for i in x))
    if len(x) == 1:
        (k, v), = x.items()
        if k == "$float":
            return ("float", f64_bits(float(v)))
        if k == "$bytes":
            return ("bytes", bytes.fromhex(v))
        if k == "$datetime":
            return ("datetime", micros_of_iso(v))
        if k == "$vector":
            return ("vector", tuple(f32_of(f) for f in v))
        if k == "$map":
            return ("map", {a: from_json(b) for a, b in v.items()})
    return ("map", {a: from_json(b) for a, b in x.items()})


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros_of_iso(s):
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    delta = d - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def compare_export(graph, export_path):
    problems = []
    seen_nodes, seen_edges = set(), set()
    with open(export_path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            obj = json.loads(line)
            where = f"export line {line_no}"
            props = mc_comparable(("map", {k: from_json(v) for k, v in obj["properties"].items()}))
            rid = int(obj["id"])
            if obj["type"] == "node":
                n = graph["nodes"].get(rid)
                seen_nodes.add(rid)
                if n is None:
                    problems.append(f"{where}: node {rid} is not in the store")
                    continue
                if sorted(obj["labels"]) != n["labels"]:
                    problems.append(f"{where}: node {rid} labels {obj['labels']}, store {n['labels']}")
                if props != mc_comparable(("map", n["properties"])):
                    problems.append(f"{where}: node {rid} properties differ from the store's")
            elif obj["type"] == "relationship":
                e = graph["edges"].get(rid)
                seen_edges.add(rid)
                if e is None:
                    problems.append(f"{where}: edge {rid} is not in the store")
                    continue
                ends = (int(obj["start"]["id"]), int(obj["end"]["id"]), obj["label"])
                if ends != (e["src"], e["dst"], e["type"]):
                    problems.append(f"{where}: edge {rid} is {ends}, store {(e['src'], e['dst'], e['type'])}")
                if props != mc_comparable(("map", e["properties"])):
                    problems.append(f"{where}: edge {rid} properties differ from the store's")
            else:
                problems.append(f"{where}: unknown type {obj['type']!r}")
    for rid in sorted(set(graph["nodes"]) - seen_nodes)[:5]:
        problems.append(f"node {rid} of the store is not in the export")
    for rid in sorted(set(graph["edges"]) - seen_edges)[:5]:
        problems.append(f"edge {rid} of the store is not in the export")
    return problems


# ---------------------------------------------------------------------------
# A graph that uses every value type, as JSON Lines for graphstore import
# ---------------------------------------------------------------------------


def random_value(rng, depth=0):
    kinds = ["null", "bool", "int", "float", "string", "bytes", "datetime", "vector"]
    if depth < 2:
        kinds += ["list", "map", "dollar_map"]
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, -1, 1, 250, 251, 65535, 65536, -(2**63), 2**63 - 1, rng.randint(-(2**40), 2**40)])
    if kind == "float":
        x = rng.choice([0.5, -0.0, 1.0, 1e300, -2.5e-310, math.inf, -math.inf, math.nan, rng.uniform(-1e6, 1e6)])
        return {"$float": "NaN" if math.isnan(x) else ("inf" if x == math.inf else "-inf")} if not math.isfinite(x) else x
    if kind == "string":
        return rng.choice(["", "a", "ab", "a\x00b", "\x00", "\u00e9t\u00e9", "\U0001f600", "x" * rng.randint(0, 300)])
    if kind == "bytes":
        return {"$bytes": bytes(rng.choice([0, 1, 255]) for _ in range(rng.randint(0, 6))).hex()}
    if kind == "datetime":
        us = rng.choice([0, -1, 1, rng.randint(-(2**40), 2**45)])
        d = EPOCH + timedelta(microseconds=us)
        return {"$datetime": d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    if kind == "vector":
        return {"$vector": [rng.choice([0.5, -0.0, 1.0, -3.25, 1e-3]) for _ in range(rng.randint(0, 4))]}
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "map":
        return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))} or {"k": 1}
    return {"$map": {"$float": random_value(rng, depth + 1)}}


LABELS = ["Person", "Company", "B", "A", "\u00c9cole", "x y"]
TYPES = ["KNOWS", "WORKS_AT", "\u00e0", "T"]
KEYS = ["name", "age", "score", "k", "\u00e9", "a\x00b", "zz", "v"]


def generate(out_dir, seed, n_nodes, n_edges):
    rng = random.Random(seed)
    import os

    os.makedirs(out_dir, exist_ok=True)
    half = n_nodes // 2
    for name, ids, edge_range in (
        ("a.jsonl", range(half), range(n_edges // 2)),
        ("b.jsonl", range(half, n_nodes), range(n_edges // 2, n_edges)),
    ):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            for i in ids:
                labels = rng.sample(LABELS, rng.randint(0, 3))
                props = {k: random_value(rng) for k in rng.sample(KEYS, rng.randint(0, 6))}
                # The indexed property takes plain values often, so that
                # index entries of every kind share prefixes.
                if "Person" in labels and rng.random() < 0.8:
                    props["name"] = rng.choice(["Ann", "Bob", "Ann\x00", "", 7, 7.5, None, [1, "a"]])
                f.write(json.dumps({"type": "node", "id": f"n{i}", "labels": labels, "properties": props}) + "\n")
            # Edges of the second file may name nodes of the first.
            last = ids.stop
            for j in edge_range:
                src, dst = rng.randrange(last), rng.randrange(last)
                if rng.random() < 0.1:
                    dst = src
                props = {k: random_value(rng) for k in rng.sample(KEYS, rng.randint(0, 3))}
                f.write(
                    json.dumps(
                        {
                            "type": "relationship",
                            "id": f"e{j}",
                            "label": rng.choice(TYPES),
                            "start": {"id": f"n{src}"},
                            "end": {"id": f"n{dst}"},
                            "properties": props,
                        }
                    )
                    + "\n"
                )


def check_example(format_md):
    """The node record printed in FORMAT.md decodes to the node it describes."""
    text = open(format_md, encoding="utf-8").read()
    marker = "Example, pinned by `node_record_is_pinned`"
    if marker not in text:
        return [f"{format_md}: the record example is gone"]
    block = text.split(marker, 1)[1].split("```", 2)[1]
    node = node_record(1, bytes.fromhex(block))
    want = {
        "id": 1,
        "labels": ["Person"],
        "properties": {"age": ("int", 42), "name": ("string", "Ann")},
        "created_at": 10,
        "updated_at": 20,
    }
    return [] if node == want else [f"{format_md}: the example decodes to {node}, the text says {want}"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write a.jsonl and b.jsonl into a directory")
    g.add_argument("out")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--nodes", type=int, default=400)
    g.add_argument("--edges", type=int, default=1200)
    x = sub.add_parser("example", help="decode the record example of docs/FORMAT.md")
    x.add_argument("format_md")
    c = sub.add_parser("check", help="read a store and check it against FORMAT.md")
    c.add_argument("store")
    c.add_argument("--export", help="the store's `graphstore export --format jsonl`, to compare with")
    c.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args()
    if args.cmd == "gen":
        generate(args.out, args.seed, args.nodes, args.edges)
        return 0
    if args.cmd == "example":
        problems = check_example(args.format_md)
        for line in problems:
            print(f"problem: {line}")
        if not problems:
            print(f"{args.format_md}: the record example decodes as its text says")
        return 1 if problems else 0
    graph, problems = check_store(args.store)
    if args.export:
        problems += compare_export(graph, args.export)
    summary = {
        "store": args.store,
        "format_version": graph["meta"].get("format_version"),
        "nodes": len(graph["nodes"]),
        "edges": len(graph["edges"]),
        "indexes": len(graph["indexes"]),
        "problems": problems,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for line in problems:
            print(f"problem: {line}")
        print(
            f"{args.store}: format {summary['format_version']}, {summary['nodes']} nodes, "
            f"{summary['edges']} edges, {summary['indexes']} property indexes, "
            f"{len(problems)} problems"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
