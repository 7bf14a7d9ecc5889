//! Edge property columns: one property of every edge, as a number, by
//! edge id, held beside the adjacency for weighted whole-graph work.

use std::mem::size_of;
use std::sync::Arc;

use graph_core::{EdgeId, PropertyValue};

/// Edge ids per column page, as a shift.
const COLUMN_SHIFT: u32 = 12;
/// Edge ids per column page.
const COLUMN_PAGE: usize = 1 << COLUMN_SHIFT;

/// One edge's value of a projected property.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EdgeValue {
    /// No such edge, or the edge has no such property.
    Absent,
    /// An integer or float property, as a float.
    Number(f64),
    /// The property holds something else (a string, a list, ...).
    NotANumber,
}

impl EdgeValue {
    /// The projected value of a property (absent when `None`).
    pub fn of_property(value: Option<&PropertyValue>) -> Self {
        match value {
            None => EdgeValue::Absent,
            Some(PropertyValue::Int(i)) => EdgeValue::Number(*i as f64),
            Some(PropertyValue::Float(f)) => EdgeValue::Number(*f),
            Some(_) => EdgeValue::NotANumber,
        }
    }
}

const ABSENT: u8 = 0;
const NUMBER: u8 = 1;
const OTHER: u8 = 2;

#[derive(Debug, Clone)]
struct ColumnPage {
    values: Vec<f64>,
    kinds: Vec<u8>,
}

impl ColumnPage {
    fn new() -> Self {
        ColumnPage {
            values: vec![0.0; COLUMN_PAGE],
            kinds: vec![ABSENT; COLUMN_PAGE],
        }
    }

    const BYTES: usize = COLUMN_PAGE * (size_of::<f64>() + 1) + size_of::<Self>();
}

/// One projected edge property (see the module documentation); pages are
/// shared between versions as the adjacency's are.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    name: Arc<str>,
    pages: Vec<Option<Arc<ColumnPage>>>,
    /// Bytes held, kept as pages are added.
    bytes: usize,
}

impl Column {
    /// An empty column of property `name`.
    pub(crate) fn new(name: &str) -> Self {
        Column {
            name: name.into(),
            pages: Vec::new(),
            bytes: size_of::<Self>(),
        }
    }

    /// The property's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The bytes the column holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The value of edge `id`.
    #[inline]
    pub(crate) fn get(&self, id: EdgeId) -> EdgeValue {
        let Ok(p) = usize::try_from(id.0 >> COLUMN_SHIFT) else {
            return EdgeValue::Absent;
        };
        let Some(Some(page)) = self.pages.get(p) else {
            return EdgeValue::Absent;
        };
        let i = id.0 as usize & (COLUMN_PAGE - 1);
        match page.kinds.get(i) {
            Some(&NUMBER) => EdgeValue::Number(page.values.get(i).copied().unwrap_or(0.0)),
            Some(&OTHER) => EdgeValue::NotANumber,
            _ => EdgeValue::Absent,
        }
    }

    /// Every edge id with a number, ascending, and the number.
    pub(crate) fn numbers(&self) -> impl Iterator<Item = (EdgeId, f64)> + '_ {
        self.pages.iter().enumerate().flat_map(|(p, page)| {
            let first = (p as u64) << COLUMN_SHIFT;
            page.iter().flat_map(move |page| {
                page.kinds
                    .iter()
                    .zip(&page.values)
                    .zip(first..)
                    .filter(|((k, _), _)| **k == NUMBER)
                    .map(|((_, v), id)| (EdgeId(id), *v))
            })
        })
    }

    /// Sets the value of edge `id` (copying its page first if a pinned
    /// version shares it).
    pub(crate) fn set(&mut self, id: EdgeId, value: EdgeValue) {
        let Ok(p) = usize::try_from(id.0 >> COLUMN_SHIFT) else {
            return;
        };
        if p >= self.pages.len() {
            if value == EdgeValue::Absent {
                return;
            }
            self.bytes += (p + 1 - self.pages.len()) * size_of::<Option<Arc<ColumnPage>>>();
            self.pages.resize(p + 1, None);
        }
        let Some(slot) = self.pages.get_mut(p) else {
            return;
        };
        if slot.is_none() && value == EdgeValue::Absent {
            return;
        }
        if slot.is_none() {
            self.bytes += ColumnPage::BYTES;
        }
        let page = Arc::make_mut(slot.get_or_insert_with(|| Arc::new(ColumnPage::new())));
        let i = id.0 as usize & (COLUMN_PAGE - 1);
        let (kind, number) = match value {
            EdgeValue::Absent => (ABSENT, 0.0),
            EdgeValue::Number(n) => (NUMBER, n),
            EdgeValue::NotANumber => (OTHER, 0.0),
        };
        if let (Some(k), Some(v)) = (page.kinds.get_mut(i), page.values.get_mut(i)) {
            *k = kind;
            *v = number;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_set_read_and_shared_by_clones() {
        let mut c = Column::new("w");
        assert_eq!(c.get(EdgeId(5)), EdgeValue::Absent);
        c.set(EdgeId(5), EdgeValue::Number(2.5));
        c.set(EdgeId(5000), EdgeValue::NotANumber);
        c.set(EdgeId(1 << 40), EdgeValue::Absent);
        let pinned = c.clone();
        c.set(EdgeId(5), EdgeValue::Absent);
        assert_eq!(c.get(EdgeId(5)), EdgeValue::Absent);
        assert_eq!(pinned.get(EdgeId(5)), EdgeValue::Number(2.5));
        assert_eq!(c.get(EdgeId(5000)), EdgeValue::NotANumber);
        assert_eq!(c.get(EdgeId(u64::MAX)), EdgeValue::Absent);
        assert_eq!(c.pages.len(), 2);
        assert_eq!(c.numbers().collect::<Vec<_>>(), []);
        assert_eq!(pinned.numbers().collect::<Vec<_>>(), [(EdgeId(5), 2.5)]);
        assert!(c.bytes() >= 2 * ColumnPage::BYTES);
        assert_eq!(
            EdgeValue::of_property(Some(&PropertyValue::Int(3))),
            EdgeValue::Number(3.0)
        );
        assert_eq!(
            EdgeValue::of_property(Some(&PropertyValue::String("x".into()))),
            EdgeValue::NotANumber
        );
    }
}
