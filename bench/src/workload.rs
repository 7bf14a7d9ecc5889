//! The deterministic synthetic graph of the headline benchmark.
//!
//! * `nodes` nodes, indexed `0..nodes`; each has one label drawn uniformly
//!   from [`LABELS`] and four properties: `name` (a 12-letter string),
//!   `age` (int, 18..=90), `score` (float, `[0, 100)`), `active` (bool).
//! * `edges` edges, indexed `0..edges`, of a type drawn uniformly from
//!   [`EDGE_TYPES`], with one float property `weight` (`[0, 1)`). The
//!   source follows a Zipf distribution over the nodes (exponent
//!   [`DEFAULT_ZIPF_EXPONENT`] by default), the target is uniform;
//!   self-loops and parallel edges happen and are kept.
//!
//! Every item is generated from its own small random stream, seeded by the
//! workload seed and the item's index: item `i` is the same whatever the
//! batch size, the thread count or the backend, and generating a batch
//! costs no more than its own items.

use graph_core::{Properties, PropertyValue};
use rand::{Error as RandError, Rng, RngCore};
use rand_distr::{Distribution, Zipf};

/// The ten node labels.
pub const LABELS: [&str; 10] = [
    "Person", "Company", "City", "Country", "Product", "Order", "Account", "Device", "Post", "Tag",
];

/// The five edge types.
pub const EDGE_TYPES: [&str; 5] = ["KNOWS", "WORKS_AT", "LIVES_IN", "BOUGHT", "FOLLOWS"];

/// The length of every `name` property.
pub const NAME_LEN: usize = 12;

/// The default exponent of the Zipf distribution of edge sources.
pub const DEFAULT_ZIPF_EXPONENT: f64 = 1.0;

/// The default seed.
pub const DEFAULT_SEED: u64 = 42;

const NODE_STREAM: u64 = 0x6e6f_6465; // "node"
const EDGE_STREAM: u64 = 0x6564_6765; // "edge"
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
/// 2^61 - 1, a prime: multiplying by it modulo `nodes` is a bijection for
/// any realistic node count, used to scatter the Zipf ranks over the ids.
const SCATTER: u128 = (1 << 61) - 1;

/// SplitMix64's output function.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 stream: tiny, fast, and seedable per item.
#[derive(Debug, Clone)]
pub struct ItemRng(u64);

impl ItemRng {
    /// The stream of item `index` of stream `stream` under `seed`.
    pub fn new(seed: u64, stream: u64, index: u64) -> Self {
        ItemRng(mix64(
            mix64(seed ^ stream.wrapping_mul(GOLDEN)).wrapping_add(index),
        ))
    }
}

impl RngCore for ItemRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// One node of the workload, in a compact form (no allocation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeSpec {
    /// Index into [`LABELS`].
    pub label: u8,
    /// The `name` property: lowercase ASCII letters.
    pub name: [u8; NAME_LEN],
    /// The `age` property.
    pub age: i64,
    /// The `score` property.
    pub score: f64,
    /// The `active` property.
    pub active: bool,
}

impl NodeSpec {
    /// The node's label.
    pub fn label(&self) -> &'static str {
        LABELS[usize::from(self.label) % LABELS.len()]
    }

    /// The `name` property as a string.
    pub fn name(&self) -> String {
        self.name.iter().map(|&b| char::from(b)).collect()
    }

    /// The node's four properties, as the public API takes them.
    pub fn properties(&self) -> Properties {
        Properties::from([
            ("name".to_owned(), PropertyValue::String(self.name().into())),
            ("age".to_owned(), PropertyValue::Int(self.age)),
            ("score".to_owned(), PropertyValue::Float(self.score)),
            ("active".to_owned(), PropertyValue::Bool(self.active)),
        ])
    }
}

/// One edge of the workload; endpoints are node *indexes* (`0..nodes`),
/// mapped to the ids the store handed out by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeSpec {
    /// The source node's index (Zipf-distributed).
    pub src: u64,
    /// The target node's index (uniform).
    pub dst: u64,
    /// Index into [`EDGE_TYPES`].
    pub edge_type: u8,
    /// The `weight` property.
    pub weight: f64,
}

impl EdgeSpec {
    /// The edge's type.
    pub fn edge_type(&self) -> &'static str {
        EDGE_TYPES[usize::from(self.edge_type) % EDGE_TYPES.len()]
    }

    /// The edge's one property, as the public API takes it.
    pub fn properties(&self) -> Properties {
        Properties::from([("weight".to_owned(), PropertyValue::Float(self.weight))])
    }
}

/// The parameters of a synthetic graph; items are generated on demand.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Number of nodes.
    pub nodes: u64,
    /// Number of edges.
    pub edges: u64,
    /// The seed every item's stream derives from.
    pub seed: u64,
    /// The Zipf exponent of edge sources.
    pub zipf_exponent: f64,
    zipf: Option<Zipf<f64>>,
}

impl Workload {
    /// A workload of `nodes` nodes and `edges` edges.
    ///
    /// # Errors
    /// When there are edges but no nodes, or the exponent is negative or
    /// not a number.
    pub fn new(nodes: u64, edges: u64, seed: u64, zipf_exponent: f64) -> Result<Self, String> {
        if edges > 0 && nodes == 0 {
            return Err("edges need at least one node".into());
        }
        let zipf = if nodes > 0 {
            Some(
                Zipf::new(nodes, zipf_exponent)
                    .map_err(|e| format!("bad Zipf exponent {zipf_exponent}: {e:?}"))?,
            )
        } else {
            None
        };
        Ok(Workload {
            nodes,
            edges,
            seed,
            zipf_exponent,
            zipf,
        })
    }

    /// Node number `index`.
    pub fn node(&self, index: u64) -> NodeSpec {
        let mut rng = ItemRng::new(self.seed, NODE_STREAM, index);
        let mut name = [0u8; NAME_LEN];
        for b in &mut name {
            *b = b'a' + rng.gen_range(0..26u8);
        }
        NodeSpec {
            label: rng.gen_range(0..LABELS.len() as u8),
            name,
            age: rng.gen_range(18..=90),
            score: rng.gen_range(0.0..100.0),
            active: rng.r#gen(),
        }
    }

    /// Edge number `index`.
    pub fn edge(&self, index: u64) -> EdgeSpec {
        let mut rng = ItemRng::new(self.seed, EDGE_STREAM, index);
        let n = self.nodes.max(1);
        // Zipf ranks are 1..=n; rank 1 is the biggest hub. Scatter the ranks
        // over the node indexes so hubs are not all at the lowest ids.
        let rank = self.zipf.as_ref().map_or(1.0, |z| z.sample(&mut rng));
        let rank = (rank as u64).clamp(1, n) - 1;
        let src = (u128::from(rank) * SCATTER % u128::from(n)) as u64;
        EdgeSpec {
            src,
            dst: rng.gen_range(0..n),
            edge_type: rng.gen_range(0..EDGE_TYPES.len() as u8),
            weight: rng.r#gen(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_deterministic_and_in_range() -> Result<(), String> {
        let w = Workload::new(1000, 5000, 7, 1.0)?;
        assert_eq!(w.node(17), w.node(17));
        assert_eq!(w.edge(4999), w.edge(4999));
        assert_ne!(w.node(1), w.node(2));
        for i in 0..5000 {
            let e = w.edge(i);
            assert!(e.src < 1000 && e.dst < 1000);
        }
        let n = w.node(3);
        assert!((18..=90).contains(&n.age) && n.name().len() == NAME_LEN);
        Ok(())
    }

    #[test]
    fn sources_are_skewed() -> Result<(), String> {
        let w = Workload::new(10_000, 100_000, 1, 1.0)?;
        let mut degree = vec![0u32; 10_000];
        for i in 0..100_000 {
            degree[w.edge(i).src as usize] += 1;
        }
        degree.sort_unstable_by(|a, b| b.cmp(a));
        // Zipf(1) over 10,000 ranks: the top rank draws about 1/H(10^4),
        // roughly 10% of the edges; uniform would give about 10.
        assert!(degree[0] > 5_000, "top degree {}", degree[0]);
        Ok(())
    }
}
