//! Property values as text: the JSON mapping used by JSON Lines files and
//! `json` CSV columns, the typed CSV cells of the Neo4j header format, ISO
//! 8601 date-times and query literals.
//!
//! JSON mapping (docs/IMPORT.md): `null`, booleans, strings, arrays and
//! objects map to `Null`, `Bool`, `String`, `List` and `Map`; a JSON number
//! without a fraction or exponent that fits `i64` is an `Int`, any other
//! number a `Float`. Values plain JSON cannot tell apart are written as an
//! object with one `$`-key: `{"$float": "NaN"}` (and `"inf"`, `"-inf"`),
//! `{"$bytes": "hex"}`, `{"$datetime": "1970-01-01T00:00:00Z"}`,
//! `{"$vector": [1.5, 2.0]}`, and `{"$map": {...}}` for a map that would
//! itself look like such an object.

use graph_storage::{Properties, PropertyValue, Timestamp};
use serde_json::{Map, Number, Value};

/// A value's JSON form (see the module docs).
pub fn to_json(v: &PropertyValue) -> Value {
    match v {
        PropertyValue::Null => Value::Null,
        PropertyValue::Bool(b) => Value::Bool(*b),
        PropertyValue::Int(i) => Value::Number((*i).into()),
        // serde_json writes finite floats in Rust's shortest round-trip form
        // with a fraction or exponent (`1.0`), so they read back as floats.
        PropertyValue::Float(f) => match Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => tagged("$float", Value::String(format_float(*f))),
        },
        PropertyValue::String(s) => Value::String(s.to_string()),
        PropertyValue::Bytes(b) => tagged("$bytes", Value::String(hex(b))),
        PropertyValue::DateTime(t) => tagged("$datetime", Value::String(format_datetime(*t))),
        PropertyValue::List(items) => Value::Array(items.iter().map(to_json).collect()),
        PropertyValue::Map(m) => {
            let obj: Map<String, Value> =
                m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect();
            if obj.len() == 1 && obj.keys().all(|k| k.starts_with('$')) {
                tagged("$map", Value::Object(obj))
            } else {
                Value::Object(obj)
            }
        }
        PropertyValue::Vector(xs) => tagged(
            "$vector",
            Value::Array(
                xs.iter()
                    .map(|x| {
                        Number::from_f64(f64::from(*x))
                            .map(Value::Number)
                            .unwrap_or_else(|| Value::String(format_float(f64::from(*x))))
                    })
                    .collect(),
            ),
        ),
    }
}

fn tagged(tag: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(tag.to_owned(), v);
    Value::Object(m)
}

/// Reads a value from its JSON form (see the module docs).
///
/// # Errors
/// A message for an unknown `$`-tag or a malformed tagged value.
pub fn from_json(v: &Value) -> Result<PropertyValue, String> {
    Ok(match v {
        Value::Null => PropertyValue::Null,
        Value::Bool(b) => PropertyValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => PropertyValue::Int(i),
            _ => PropertyValue::Float(
                n.as_f64()
                    .ok_or_else(|| format!("number {n} is out of range"))?,
            ),
        },
        Value::String(s) => PropertyValue::String(s.as_str().into()),
        Value::Array(items) => {
            PropertyValue::List(items.iter().map(from_json).collect::<Result<_, _>>()?)
        }
        Value::Object(obj) => match single_tag(obj) {
            Some((tag, inner)) => from_tagged(tag, inner)?,
            None => PropertyValue::Map(
                obj.iter()
                    .map(|(k, v)| Ok((k.as_str(), from_json(v)?)))
                    .collect::<Result<Properties, String>>()?,
            ),
        },
    })
}

fn single_tag(obj: &Map<String, Value>) -> Option<(&str, &Value)> {
    if obj.len() != 1 {
        return None;
    }
    obj.iter()
        .next()
        .filter(|(k, _)| k.starts_with('$'))
        .map(|(k, v)| (k.as_str(), v))
}

fn from_tagged(tag: &str, inner: &Value) -> Result<PropertyValue, String> {
    let text = || {
        inner
            .as_str()
            .ok_or_else(|| format!("{tag} takes a string, found {inner}"))
    };
    Ok(match tag {
        "$float" => PropertyValue::Float(parse_float(text()?)?),
        "$bytes" => PropertyValue::Bytes(unhex(text()?)?),
        "$datetime" => PropertyValue::DateTime(parse_datetime(text()?)?),
        "$vector" => {
            let items = inner
                .as_array()
                .ok_or_else(|| format!("$vector takes an array, found {inner}"))?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let x = match item {
                    Value::Number(n) => n.as_f64().ok_or("vector element out of range")?,
                    Value::String(s) => parse_float(s)?,
                    other => return Err(format!("vector element {other} is not a number")),
                };
                // Vectors hold f32: written from f32, so the cast is exact.
                #[allow(clippy::cast_possible_truncation, reason = "vector elements are f32")]
                out.push(x as f32);
            }
            PropertyValue::Vector(out)
        }
        "$map" => match inner {
            Value::Object(obj) => PropertyValue::Map(
                obj.iter()
                    .map(|(k, v)| Ok((k.as_str(), from_json(v)?)))
                    .collect::<Result<Properties, String>>()?,
            ),
            other => return Err(format!("$map takes an object, found {other}")),
        },
        other => {
            return Err(format!(
                "unknown tag {other:?} (known: $float, $bytes, $datetime, $vector, $map)"
            ));
        }
    })
}

/// A float as text that [`parse_float`] reads back exactly (Rust's
/// shortest round-trip form; `NaN`, `inf`, `-inf`).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else {
        format!("{f:?}")
    }
}

/// Parses a float (also `NaN`, `inf`, `-inf`, `Infinity`).
///
/// # Errors
/// A message naming the text.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let t = s.trim();
    match t {
        "Infinity" | "+Infinity" => return Ok(f64::INFINITY),
        "-Infinity" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    t.parse::<f64>()
        .map_err(|_| format!("{s:?} is not a number"))
}

/// Parses an integer.
///
/// # Errors
/// A message naming the text.
pub fn parse_int(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| format!("{s:?} is not an integer (64-bit)"))
}

/// Parses a boolean: `true`/`false`, case-insensitive.
///
/// # Errors
/// A message naming the text.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{s:?} is not a boolean (true or false)")),
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Bytes from hex (either case).
///
/// # Errors
/// A message for an odd length or a non-hex digit.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return Err(format!("{s:?} is not hex bytes (odd length)"));
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(format!("{s:?} is not hex bytes")),
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A time stamp as ISO 8601 in UTC with microseconds when non-zero, e.g.
/// `2024-05-01T12:30:00.000250Z`.
pub fn format_datetime(t: Timestamp) -> String {
    let micros = t.0;
    let secs = micros.div_euclid(MICROS_PER_SEC);
    let frac = micros.rem_euclid(MICROS_PER_SEC);
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, sod / 60 % 60, sod % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:06}Z")
    }
}

/// Parses an ISO 8601 date-time: `YYYY-MM-DD`, optionally `THH:MM[:SS[.f]]`
/// (or a space instead of `T`), and a zone `Z` or `±HH:MM` (UTC when
/// absent). Fractions beyond microseconds are truncated.
///
/// # Errors
/// A message naming the text.
pub fn parse_datetime(s: &str) -> Result<Timestamp, String> {
    let bad = || format!("{s:?} is not an ISO 8601 date-time (e.g. 2024-05-01T12:30:00Z)");
    let t = s.trim();
    let num = |part: &str| -> Result<i64, String> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i64>().map_err(|_| bad())
    };
    let (date, rest) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, ""),
    };
    let (neg_year, date) = match date.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, date),
    };
    let mut dp = date.splitn(3, '-');
    let (y, m, d) = match (dp.next(), dp.next(), dp.next()) {
        (Some(y), Some(m), Some(d)) => (num(y)?, num(m)?, num(d)?),
        _ => return Err(bad()),
    };
    let y = if neg_year { -y } else { y };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m)
        || d < 1
        || d > month_days[usize::try_from(m - 1).map_err(|_| bad())?]
    {
        return Err(bad());
    }
    // Split off the zone.
    let (time, offset_secs) = if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        (time, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (time, zone) = (&rest[..i], &rest[i..]);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = &zone[1..];
        let (zh, zm) = match zone.split_once(':') {
            Some((h, m)) => (num(h)?, num(m)?),
            None if zone.len() == 4 => (num(&zone[..2])?, num(&zone[2..])?),
            None => (num(zone)?, 0),
        };
        if zh > 23 || zm > 59 {
            return Err(bad());
        }
        (time, sign * (zh * 3600 + zm * 60))
    } else {
        (rest, 0)
    };
    let (mut hh, mut mi, mut ss, mut micros) = (0, 0, 0, 0);
    if !time.is_empty() {
        let (hms, frac) = match time.split_once(['.', ',']) {
            Some((hms, f)) => (hms, Some(f)),
            None => (time, None),
        };
        let mut tp = hms.split(':');
        hh = num(tp.next().ok_or_else(bad)?)?;
        mi = num(tp.next().ok_or_else(bad)?)?;
        ss = tp.next().map(num).transpose()?.unwrap_or(0);
        if tp.next().is_some() || hh > 23 || mi > 59 || ss > 60 {
            return Err(bad());
        }
        if let Some(f) = frac {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let digits: String = f.chars().chain("000000".chars()).take(6).collect();
            micros = num(&digits)?;
        }
    }
    let secs = days_from_civil(y, m, d)
        .checked_mul(SECS_PER_DAY)
        .and_then(|s| s.checked_add(hh * 3600 + mi * 60 + ss - offset_secs))
        .ok_or_else(bad)?;
    secs.checked_mul(MICROS_PER_SEC)
        .and_then(|s| s.checked_add(micros))
        .map(Timestamp)
        .ok_or_else(bad)
}

/// A query literal from the command line: `true`/`false`, an integer, a
/// float, `null`, a double-quoted string (JSON escapes), or else the text
/// itself as a string.
pub fn parse_literal(s: &str) -> PropertyValue {
    let t = s.trim();
    if t.starts_with('"')
        && let Ok(Value::String(v)) = serde_json::from_str::<Value>(t)
    {
        return PropertyValue::String(v.into());
    }
    match t {
        "true" => return PropertyValue::Bool(true),
        "false" => return PropertyValue::Bool(false),
        "null" => return PropertyValue::Null,
        _ => {}
    }
    if let Ok(i) = t.parse::<i64>() {
        return PropertyValue::Int(i);
    }
    if t.contains(['.', 'e', 'E'])
        && let Ok(f) = t.parse::<f64>()
    {
        return PropertyValue::Float(f);
    }
    PropertyValue::String(t.into())
}

/// A value for people: strings quoted, the rest as in JSON.
pub fn display(v: &PropertyValue) -> String {
    to_json(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<PropertyValue> {
        use PropertyValue as V;
        vec![
            V::Null,
            V::Bool(true),
            V::Int(-7),
            V::Int(i64::MAX),
            V::Float(1.0),
            V::Float(-0.0),
            V::Float(0.1),
            V::Float(f64::INFINITY),
            V::Float(f64::NEG_INFINITY),
            V::Float(1e300),
            V::String(String::new().into()),
            V::String("a,\"b\"\n;c".into()),
            V::Bytes(vec![0, 255, 16]),
            V::DateTime(Timestamp(-1)),
            V::DateTime(Timestamp(1_714_566_600_000_250)),
            V::List(vec![V::Int(1), V::String("x".into()), V::List(vec![])]),
            V::Map(Properties::from([("$x", V::Int(1))])),
            V::Map(Properties::from([("a", V::Null), ("b", V::Float(2.5))])),
            V::Vector(vec![1.5, -0.25, 3.0]),
        ]
    }

    #[test]
    fn json_round_trips_every_kind() {
        for v in every_kind() {
            let text = to_json(&v).to_string();
            let back = from_json(
                &serde_json::from_str(&text)
                    .map_err(|e| e.to_string())
                    .unwrap_or(Value::Null),
            );
            assert_eq!(back.as_ref().ok(), Some(&v), "{text}");
        }
        let nan = from_json(&to_json(&PropertyValue::Float(f64::NAN)));
        assert!(matches!(nan, Ok(PropertyValue::Float(f)) if f.is_nan()));
    }

    #[test]
    fn json_rejects_bad_tags() {
        for bad in [
            r#"{"$nope": 1}"#,
            r#"{"$bytes": "abc"}"#,
            r#"{"$datetime": "x"}"#,
            r#"{"$vector": 1}"#,
        ] {
            let v: Value = serde_json::from_str(bad).unwrap_or(Value::Null);
            assert!(from_json(&v).is_err(), "{bad}");
        }
    }

    #[test]
    fn datetimes_parse_and_format() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("1970-01-01", 0),
            ("1969-12-31T23:59:59.999999Z", -1),
            ("2024-05-01T12:30:00.000250Z", 1_714_566_600_000_250),
            ("2024-05-01T14:30:00.00025+02:00", 1_714_566_600_000_250),
            ("2024-05-01 12:30", 1_714_566_600_000_000),
            ("2000-02-29T00:00:00Z", 951_782_400_000_000),
        ];
        for (text, micros) in cases {
            assert_eq!(parse_datetime(text), Ok(Timestamp(micros)), "{text}");
        }
        for micros in [
            0,
            -1,
            1_714_566_600_000_250,
            -62_135_596_800_000_000,
            253_402_300_799_999_999,
        ] {
            let t = Timestamp(micros);
            assert_eq!(parse_datetime(&format_datetime(t)), Ok(t));
        }
        for bad in [
            "",
            "2024-13-01",
            "2023-02-29",
            "2024-05-01T25:00Z",
            "yesterday",
            "2024-05-01T12:30:00.Z",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literals_and_scalars() {
        assert_eq!(parse_literal("42"), PropertyValue::Int(42));
        assert_eq!(parse_literal("\"42\""), PropertyValue::String("42".into()));
        assert_eq!(parse_literal("2.5"), PropertyValue::Float(2.5));
        assert_eq!(parse_literal("true"), PropertyValue::Bool(true));
        assert_eq!(parse_literal("Ann"), PropertyValue::String("Ann".into()));
        assert_eq!(unhex("00fF10"), Ok(vec![0, 255, 16]));
        assert!(unhex("0g").is_err());
        assert_eq!(parse_float("NaN").map(f64::is_nan), Ok(true));
        assert_eq!(parse_float(&format_float(0.1)), Ok(0.1));
        assert!(parse_int("1.5").is_err());
        assert_eq!(parse_bool("TRUE"), Ok(true));
    }
}
