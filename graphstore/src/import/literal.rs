//! Python literals, as networkx's `write_edgelist` writes an edge's data
//! after its two nodes: `0 1 {'weight': 3, 'label': 'a'}` (the `repr` of a
//! dict). Only literals are read (numbers, strings, `True`, `False`,
//! `None`, `inf`, `nan`, lists, tuples, dicts with string keys), never
//! code; anything else is an error naming the byte offset.

use std::collections::BTreeMap;

use graph_storage::{Properties, PropertyValue};

/// Reads a dict literal with string keys (the whole of `text`, but for
/// surrounding whitespace) as properties.
///
/// # Errors
/// A message naming what was expected, and where, for anything that is
/// not such a literal: an integer beyond 64 bits is an error rather than
/// a rounded float.
pub fn python_dict(text: &str) -> Result<Properties, String> {
    let mut p = Parser {
        text,
        at: 0,
        depth: 0,
    };
    p.space();
    let value = p.value()?;
    p.space();
    if p.at != text.len() {
        return Err(p.error("the end of the dict"));
    }
    match value {
        PropertyValue::Map(m) => Ok(m),
        other => Err(format!(
            "edge data is a dict literal ({{'weight': 3}}), found a {}",
            other.type_name()
        )),
    }
}

/// Nesting beyond this is refused (a guard against a stack overflow on
/// hostile input).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn error(&self, expected: &str) -> String {
        let found: String = self.rest().chars().take(12).collect();
        if found.is_empty() {
            format!(
                "edge data: expected {expected} at byte {}, found the end",
                self.at
            )
        } else {
            format!(
                "edge data: expected {expected} at byte {}, found {found:?}",
                self.at
            )
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<PropertyValue, String> {
        self.space();
        match self.peek() {
            Some('{') => self.nested(|p| p.dict().map(|m| PropertyValue::Map(m.into()))),
            Some('[') => self.nested(|p| p.sequence(']').map(PropertyValue::List)),
            Some('(') => self.nested(|p| p.sequence(')').map(PropertyValue::List)),
            Some('\'' | '"') => self.string().map(|s| PropertyValue::String(s.into())),
            Some(_) => self.word(),
            None => Err(self.error("a value")),
        }
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<PropertyValue, String>,
    ) -> Result<PropertyValue, String> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(&format!("at most {MAX_DEPTH} levels of nesting")));
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn dict(&mut self) -> Result<BTreeMap<String, PropertyValue>, String> {
        self.eat('{');
        let mut map = BTreeMap::new();
        loop {
            self.space();
            if self.eat('}') {
                return Ok(map);
            }
            if !matches!(self.peek(), Some('\'' | '"')) {
                return Err(self.error("a string key or '}'"));
            }
            let key = self.string()?;
            self.space();
            if !self.eat(':') {
                return Err(self.error("':'"));
            }
            let value = self.value()?;
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("edge data: the key {key:?} appears twice"));
            }
            self.space();
            if !self.eat(',') {
                self.space();
                if self.eat('}') {
                    return Ok(map);
                }
                return Err(self.error("',' or '}'"));
            }
        }
    }

    fn sequence(&mut self, close: char) -> Result<Vec<PropertyValue>, String> {
        self.at += 1; // '[' or '('
        let mut items = Vec::new();
        loop {
            self.space();
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.value()?);
            self.space();
            if !self.eat(',') {
                self.space();
                if self.eat(close) {
                    return Ok(items);
                }
                return Err(self.error(&format!("',' or '{close}'")));
            }
        }
    }

    /// A quoted string with Python's escapes (those `repr` writes, and
    /// the other single-character ones).
    fn string(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or_else(|| self.error("a string"))?;
        self.at += 1;
        let mut out = String::new();
        loop {
            let c = self
                .peek()
                .ok_or_else(|| self.error(&format!("a closing {quote}")))?;
            self.at += c.len_utf8();
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.peek().ok_or_else(|| self.error("an escape"))?;
            self.at += e.len_utf8();
            let hex = |p: &mut Self, n: usize| -> Result<char, String> {
                let digits = p
                    .rest()
                    .get(..n)
                    .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
                let code = digits.and_then(|d| u32::from_str_radix(d, 16).ok());
                match code.and_then(char::from_u32) {
                    Some(c) => {
                        p.at += n;
                        Ok(c)
                    }
                    None => Err(p.error(&format!("{n} hex digits of a character"))),
                }
            };
            out.push(match e {
                '\\' | '\'' | '"' => e,
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                'a' => '\u{7}',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'v' => '\u{b}',
                'x' => hex(self, 2)?,
                'u' => hex(self, 4)?,
                'U' => hex(self, 8)?,
                _ => return Err(self.error("a known escape")),
            });
        }
    }

    /// A number or one of the names `True`, `False`, `None`, `inf`, `nan`.
    fn word(&mut self) -> Result<PropertyValue, String> {
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_')))
            .unwrap_or(self.rest().len());
        let word = &self.rest()[..len];
        let value = match word {
            "True" => PropertyValue::Bool(true),
            "False" => PropertyValue::Bool(false),
            "None" => PropertyValue::Null,
            "inf" => PropertyValue::Float(f64::INFINITY),
            "-inf" => PropertyValue::Float(f64::NEG_INFINITY),
            "nan" => PropertyValue::Float(f64::NAN),
            _ if is_integer(word) => match word.replace('_', "").parse::<i64>() {
                Ok(n) => PropertyValue::Int(n),
                Err(_) => {
                    return Err(format!(
                        "edge data: the integer {word} does not fit in 64 bits (it would be \
                             rounded as a float)"
                    ));
                }
            },
            _ => match word.parse::<f64>() {
                Ok(f) if !word.is_empty() => PropertyValue::Float(f),
                _ => {
                    return Err(
                        self.error("a number, a string, True, False, None, a list or a dict")
                    );
                }
            },
        };
        self.at += len;
        Ok(value)
    }
}

/// Whether `word` is written as an integer: a sign, then digits (and
/// Python's `_` separators).
fn is_integer(word: &str) -> bool {
    let digits = word.strip_prefix(['-', '+']).unwrap_or(word);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn props(pairs: &[(&str, PropertyValue)]) -> Properties {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    /// What networkx 3's `write_edgelist` wrote for an edge's data (the
    /// exact text, from `repr`), and what it reads as.
    #[test]
    fn networkx_edge_data_reads_as_properties() {
        use PropertyValue as V;
        let cases: Vec<(&str, Properties)> = vec![
            ("{}", Properties::new()),
            ("{'weight': 3}", props(&[("weight", V::Int(3))])),
            (
                r#"{'weight': 0.5, 'label': 'it\'s "x"', 'ok': True, 'none': None, 'l': [1, 2.5, 'a'], 'neg': -4, 'e': 1e-05, 'inf': inf, 'u': 'é\n'}"#,
                props(&[
                    ("weight", V::Float(0.5)),
                    ("label", V::String("it's \"x\"".into())),
                    ("ok", V::Bool(true)),
                    ("none", V::Null),
                    (
                        "l",
                        V::List(vec![V::Int(1), V::Float(2.5), V::String("a".into())]),
                    ),
                    ("neg", V::Int(-4)),
                    ("e", V::Float(1e-5)),
                    ("inf", V::Float(f64::INFINITY)),
                    ("u", V::String("é\n".into())),
                ]),
            ),
            (
                r#" { "it's" : (1, ), 'm': {'x': -inf}, 't': '\x41\u00e9\U0001F600\t' } "#,
                props(&[
                    ("it's", V::List(vec![V::Int(1)])),
                    ("m", V::Map(props(&[("x", V::Float(f64::NEG_INFINITY))]))),
                    ("t", V::String("Aé\u{1F600}\t".into())),
                ]),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(python_dict(text), Ok(want), "{text}");
        }
        let nan = python_dict("{'w': nan}")
            .ok()
            .and_then(|m| m.get("w").cloned());
        assert!(matches!(nan, Some(V::Float(f)) if f.is_nan()));
    }

    /// Python's `repr` of a value, as networkx writes edge data.
    fn repr(v: &PropertyValue) -> String {
        match v {
            PropertyValue::Null => "None".into(),
            PropertyValue::Bool(true) => "True".into(),
            PropertyValue::Bool(false) => "False".into(),
            PropertyValue::Int(i) => i.to_string(),
            PropertyValue::Float(f) if f.is_infinite() => {
                if *f > 0.0 { "inf" } else { "-inf" }.into()
            }
            // Python writes floats with their shortest round-trip digits.
            PropertyValue::Float(f) => format!("{f:?}"),
            PropertyValue::String(s) => repr_str(s),
            PropertyValue::List(items) => {
                let items: Vec<String> = items.iter().map(repr).collect();
                format!("[{}]", items.join(", "))
            }
            PropertyValue::Map(m) => repr_map(m),
            other => panic!("no Python literal for {other:?}"),
        }
    }

    fn repr_str(s: &str) -> String {
        let quote = if s.contains('\'') && !s.contains('"') {
            '"'
        } else {
            '\''
        };
        let mut out = String::from(quote);
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c == quote => {
                    out.push('\\');
                    out.push(c);
                }
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        out.push(quote);
        out
    }

    fn repr_map(m: &Properties) -> String {
        let items: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{}: {}", repr_str(k), repr(v)))
            .collect();
        format!("{{{}}}", items.join(", "))
    }

    fn scalar() -> impl proptest::strategy::Strategy<Value = PropertyValue> {
        use proptest::prelude::*;
        prop_oneof![
            Just(PropertyValue::Null),
            any::<bool>().prop_map(PropertyValue::Bool),
            any::<i64>().prop_map(PropertyValue::Int),
            any::<f64>()
                .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
                .prop_map(PropertyValue::Float),
            any::<String>().prop_map(|s| PropertyValue::String(s.into())),
            "[a'\"\\\\\n\\x00é]{0,6}".prop_map(|s| PropertyValue::String(s.into())),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever edge data networkx writes reads back as it was:
        /// scalars of every kind, any text (quotes, escapes, control
        /// characters, non-ASCII), lists and nested dicts.
        #[test]
        fn python_reprs_read_back_as_their_values(
            map in proptest::collection::btree_map(
                "[a-z'\"]{0,4}",
                scalar().prop_recursive(3, 16, 4, |inner| {
                    use proptest::prelude::*;
                    prop_oneof![
                        proptest::collection::vec(inner.clone(), 0..4).prop_map(PropertyValue::List),
                        proptest::collection::btree_map("[a-z]{0,3}", inner, 0..3).prop_map(|m| PropertyValue::Map(m.into())),
                    ]
                }),
                0..5,
            )
        ) {
            let map = Properties::from(map);
            let text = repr_map(&map);
            proptest::prop_assert_eq!(python_dict(&text), Ok(map), "{}", text);
        }

        /// Any text is read or refused, never a panic.
        #[test]
        fn any_text_is_read_or_refused(text in "\\PC{0,40}|[{}\\[\\]()'\":, 0-9a-zA-Z_\\\\.+-]{0,40}") {
            let _ = python_dict(&text);
            let _ = python_dict(&format!("{{{text}"));
        }
    }

    #[test]
    fn what_is_not_a_literal_dict_is_an_error_naming_its_place() {
        let cases = [
            ("{'big': 100000000000000000000}", "does not fit in 64 bits"),
            ("{'a': 1", "expected ',' or '}' at byte 7, found the end"),
            ("{'a' 1}", "expected ':' at byte 5"),
            ("{1: 2}", "expected a string key or '}' at byte 1"),
            ("{'a': 1, 'a': 2}", "the key \"a\" appears twice"),
            ("{'a': __import__('os')}", "expected a number, a string"),
            ("{'a': 1-2}", "expected a number, a string"),
            ("{'a': 'x\\q'}", "expected a known escape"),
            ("{'a': '\\x4'}", "2 hex digits"),
            ("{'a': 'open}", "a closing '"),
            ("[1, 2]", "found a list"),
            ("{} {}", "expected the end of the dict at byte 3"),
            ("", "expected a value at byte 0, found the end"),
        ];
        for (text, piece) in cases {
            match python_dict(text) {
                Err(e) => assert!(e.contains(piece), "{text}: {e}"),
                Ok(v) => panic!("{text}: read as {v:?}"),
            }
        }
        let deep = format!("{{'a': {}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(python_dict(&deep).is_err_and(|e| e.contains("levels of nesting")));
    }
}
