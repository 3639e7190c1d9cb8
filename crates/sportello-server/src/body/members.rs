//! A JSON body as the routes read it: the members a route names, each a bounded [`Member`];
//! every other member is skipped while it is parsed (serde's `IgnoredAny`) and never held.
//!
//! A `serde_json::Value` costs tens of bytes a node, so a few megabytes of `[0,0,0,…]` became
//! hundreds of megabytes of memory. Here what is kept is the text of the strings a route reads
//! (at most the body again) plus a bounded overhead: a member's array or object keeps at most
//! [`MAX_ENTRIES`] entries, and an array or object inside those only the mark that it was there
//! ([`Member::Nested`]) — no route looks deeper, except at the members it asks for as raw JSON
//! text ([`Read::Fields`]).
//!
//! The members keep the meaning a `Value` gave them: the last of repeated names wins, `null` is
//! a present member, a body that is not an object has no members (the readers decide whether
//! that is an error), an empty body is an empty object.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Number;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

/// The most entries a member's array or object may have. No honest body comes near: a service
/// has tens of fields and a few options.
pub const MAX_ENTRIES: usize = 1024;

/// How a route reads one member.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// Scalars as they are; an array or object with its entries, each a scalar or the mark of
    /// a deeper array or object.
    Value,
    /// An object of which only the `kept` members are read (each as an entry of
    /// [`Read::Value`]) and the `raw` ones kept as their JSON text; the others are skipped. Any
    /// other value is read as [`Read::Value`] reads an entry.
    Fields {
        kept: &'static [&'static str],
        raw: &'static [&'static str],
    },
    /// The member kept as its JSON text, for a reader that parses a small structure (a list of
    /// objects) itself; its size is bounded by the route's body limit.
    Raw,
}

/// What a route reads from its JSON body.
pub trait Shape {
    /// The members read, and how; every other member is skipped.
    const MEMBERS: &'static [(&'static str, Read)];
    /// Members whose name starts with this are read too, as [`Read::Value`] (at most
    /// [`MAX_ENTRIES`] of them): `PUT /richiesta/{id}`'s `"json_visura.$n"`.
    const PREFIX: Option<&'static str> = None;
}

/// A member's value, bounded.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Member>),
    Object(BTreeMap<String, Member>),
    /// An array or object inside an array or object: only its presence is kept.
    Nested,
    /// A member of [`Read::Fields`], or one read with [`Read::Raw`], kept as its JSON text
    /// (valid JSON: the parser cut it out).
    Raw(Box<str>),
}

impl Member {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Member::String(s) => Some(s),
            _ => None,
        }
    }

    /// `text` (a JSON document inside a string member, as some clients double-encode
    /// `json_visura`) read as one [`Read::Value`] member.
    pub fn parse(text: &str) -> Result<Member, NestedError> {
        let overflow = Cell::new(false);
        let mut de = serde_json::Deserializer::from_str(text);
        let member = ValueSeed {
            overflow: &overflow,
        }
        .deserialize(&mut de)
        .and_then(|m| de.end().map(|()| m));
        match member {
            Ok(m) => Ok(m),
            Err(_) if overflow.get() => Err(NestedError::TooManyEntries),
            Err(_) => Err(NestedError::Invalid),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum NestedError {
    Invalid,
    TooManyEntries,
}

/// The members of a body a route reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    object: bool,
    members: BTreeMap<String, Member>,
}

impl Members {
    /// Whether the body was a JSON object (an empty body counts as one).
    pub fn is_object(&self) -> bool {
        self.object
    }

    pub fn get(&self, name: &str) -> Option<&Member> {
        self.members.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    /// Takes a member out, so a long string moves instead of being copied.
    pub fn take(&mut self, name: &str) -> Option<Member> {
        self.members.remove(name)
    }

    /// Takes out the members read by [`Shape::PREFIX`], in the order of their names, each
    /// named without the prefix.
    pub fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, Member)> {
        let names: Vec<String> = self
            .members
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        names
            .into_iter()
            .filter_map(|name| {
                let member = self.members.remove(&name)?;
                Some((name[prefix.len()..].to_string(), member))
            })
            .collect()
    }
}

/// Why a body could not be read into members.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Arrays and objects nested deeper than the limit.
    TooDeep,
    /// Not JSON: where the parser stopped (line and column, 1-based). Never the text itself,
    /// which may be personal data.
    Syntax { line: usize, column: usize },
    /// This member's array or object (or, for the prefix, the number of such members) has more
    /// than [`MAX_ENTRIES`] entries.
    TooManyEntries(String),
}

/// Reads `bytes` as `S` reads them. Arrays and objects nested deeper than `max_depth` are
/// refused before parsing.
pub fn parse<S: Shape>(bytes: &[u8], max_depth: usize) -> Result<Members, ParseError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Members {
            object: true,
            members: BTreeMap::new(),
        });
    }
    if nesting_exceeds(bytes, max_depth) {
        return Err(ParseError::TooDeep);
    }
    // Checked whole first: skipped strings are not checked by the parser, and a body that is
    // not UTF-8 is not JSON.
    let text = std::str::from_utf8(bytes).map_err(|e| position(bytes, e.valid_up_to()))?;
    let overflow = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = TopSeed::<S> {
        overflow: &overflow,
        shape: std::marker::PhantomData,
    }
    .deserialize(&mut de)
    .and_then(|m| de.end().map(|()| m));
    parsed.map_err(|e| match overflow.take() {
        Some(name) => ParseError::TooManyEntries(name),
        None => ParseError::Syntax {
            line: e.line(),
            column: e.column(),
        },
    })
}

fn position(bytes: &[u8], at: usize) -> ParseError {
    let before = &bytes[..at];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = at
        - before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    ParseError::Syntax { line, column }
}

/// Whether `bytes` opens more than `max_depth` arrays or objects inside one another. Scanned
/// before the parser sees the body: a few kilobytes of `[[[[…` would otherwise make it recurse
/// once per bracket, and `serde_json`'s own guard (128 levels) is looser than any honest request
/// needs. Brackets inside strings do not count; a backslash escapes the next byte, so `"\"["`
/// is one string. The input need not be valid JSON: the parser judges that.
fn nesting_exceeds(bytes: &[u8], max_depth: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

// --- the body: an object whose named members are read, the rest skipped ---

/// The scalar visits every visitor here shares: each scalar as `serde_json::Value` would hold it.
macro_rules! scalars {
    () => {
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Member, E> {
            Ok(Member::Bool(b))
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Member, E> {
            Ok(Member::Number(n.into()))
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Member, E> {
            Ok(Member::Number(n.into()))
        }

        fn visit_f64<E: de::Error>(self, f: f64) -> Result<Member, E> {
            Ok(Number::from_f64(f).map_or(Member::Null, Member::Number))
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Member, E> {
            Ok(Member::String(s.to_owned()))
        }

        fn visit_string<E: de::Error>(self, s: String) -> Result<Member, E> {
            Ok(Member::String(s))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Member, E> {
            Ok(Member::Null)
        }

        fn visit_none<E: de::Error>(self) -> Result<Member, E> {
            Ok(Member::Null)
        }
    };
}

struct TopSeed<'a, S> {
    /// The member that had too many entries, for the answer.
    overflow: &'a Cell<Option<String>>,
    shape: std::marker::PhantomData<S>,
}

impl<'de, S: Shape> DeserializeSeed<'de> for TopSeed<'_, S> {
    type Value = Members;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Members, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: Shape> Visitor<'de> for TopSeed<'_, S> {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = BTreeMap::new();
        let mut prefixed = 0usize;
        let keys = KeySeed {
            names: S::MEMBERS,
            prefix: S::PREFIX,
        };
        while let Some(key) = map.next_key_seed(keys)? {
            match key {
                Key::Named(i) => {
                    let (name, read) = S::MEMBERS[i];
                    let member = match read {
                        Read::Value => {
                            let overflowed = Cell::new(false);
                            map.next_value_seed(ValueSeed {
                                overflow: &overflowed,
                            })
                            .inspect_err(|_| {
                                if overflowed.get() {
                                    self.overflow.set(Some(name.to_string()));
                                }
                            })?
                        }
                        Read::Fields { kept, raw } => {
                            map.next_value_seed(FieldsSeed { kept, raw })?
                        }
                        Read::Raw => Member::Raw(map.next_value::<Box<RawValue>>()?.into()),
                    };
                    members.insert(name.to_string(), member);
                }
                Key::Prefixed(name) => {
                    prefixed += 1;
                    if prefixed > MAX_ENTRIES {
                        let member = S::PREFIX.unwrap_or_default().trim_end_matches('.');
                        self.overflow.set(Some(member.to_string()));
                        return Err(de::Error::custom("too many entries"));
                    }
                    members.insert(name, map.next_value_seed(EntrySeed)?);
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Members {
            object: true,
            members,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Members::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Members, E> {
        Ok(Members::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Members, E> {
        Ok(Members::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Members, E> {
        Ok(Members::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Members, E> {
        Ok(Members::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Members, E> {
        Ok(Members::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Members, E> {
        Ok(Members::default())
    }
}

enum Key {
    Named(usize),
    Prefixed(String),
    Other,
}

/// A member's name, compared with the names read without being copied; only the names read by
/// prefix (a bounded number of them) are copied.
#[derive(Clone, Copy)]
struct KeySeed {
    names: &'static [(&'static str, Read)],
    prefix: Option<&'static str>,
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        if let Some(i) = self.names.iter().position(|(name, _)| *name == key) {
            return Ok(Key::Named(i));
        }
        match self.prefix {
            Some(p) if key.starts_with(p) => Ok(Key::Prefixed(key.to_string())),
            _ => Ok(Key::Other),
        }
    }
}

// --- a member read as a value, and the entries of its array or object ---

struct ValueSeed<'a> {
    overflow: &'a Cell<bool>,
}

impl ValueSeed<'_> {
    fn overflowed<E: de::Error>(&self) -> E {
        self.overflow.set(true);
        de::Error::custom("too many entries")
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Member;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(EntrySeed)? {
            if items.len() == MAX_ENTRIES {
                return Err(self.overflowed());
            }
            items.push(item);
        }
        Ok(Member::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member, A::Error> {
        let mut entries = BTreeMap::new();
        let mut seen = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(self.overflowed());
            }
            entries.insert(key, map.next_value_seed(EntrySeed)?);
        }
        Ok(Member::Object(entries))
    }

    scalars!();
}

/// An entry of a member's array or object: a scalar, or the mark of a deeper array or object.
struct EntrySeed;

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = Member;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Member::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Member::Nested)
    }

    scalars!();
}

// --- a member read for some of its fields ---

struct FieldsSeed {
    kept: &'static [&'static str],
    raw: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = Member;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member, A::Error> {
        let mut entries = BTreeMap::new();
        let keys = FieldKeySeed {
            kept: self.kept,
            raw: self.raw,
        };
        while let Some(key) = map.next_key_seed(keys)? {
            match key {
                Field::Kept(name) => {
                    entries.insert(name.to_string(), map.next_value_seed(EntrySeed)?);
                }
                Field::Raw(name) => {
                    let text = map.next_value::<Box<RawValue>>()?;
                    entries.insert(name.to_string(), Member::Raw(text.into()));
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Member::Object(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member, A::Error> {
        EntrySeed.visit_seq(seq)
    }

    scalars!();
}

enum Field {
    Kept(&'static str),
    Raw(&'static str),
    Other,
}

#[derive(Clone, Copy)]
struct FieldKeySeed {
    kept: &'static [&'static str],
    raw: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for FieldKeySeed {
    type Value = Field;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldKeySeed {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
        if let Some(name) = self.kept.iter().find(|n| **n == key) {
            return Ok(Field::Kept(name));
        }
        if let Some(name) = self.raw.iter().find(|n| **n == key) {
            return Ok(Field::Raw(name));
        }
        Ok(Field::Other)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Create;
    impl Shape for Create {
        const MEMBERS: &'static [(&'static str, Read)] = &[
            ("a", Read::Value),
            ("b", Read::Value),
            (
                "cb",
                Read::Fields {
                    kept: &["url"],
                    raw: &["data"],
                },
            ),
        ];
    }

    struct Dotted;
    impl Shape for Dotted {
        const MEMBERS: &'static [(&'static str, Read)] = &[("v", Read::Value)];
        const PREFIX: Option<&'static str> = Some("v.");
    }

    fn members<S: Shape>(text: &str) -> Members {
        parse::<S>(text.as_bytes(), 32).unwrap()
    }

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        assert!(!nesting_exceeds(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(nesting_exceeds(br#"{"a":[1,{"b":[]}]}"#, 3));
        assert!(!nesting_exceeds(br#"{"a":"[[[[{{{{"}"#, 1));
        assert!(!nesting_exceeds(br#"{"a":"\"[[[[\\"}"#, 1));
        assert!(nesting_exceeds(br#"{"a":"\\"[[[[]]]]}"#, 3));
        assert!(!nesting_exceeds(b"[][][][][]", 1));
        assert!(!nesting_exceeds(b"]]]]][", 1));
        assert!(nesting_exceeds(&vec![b'['; 100_000], 32));
    }

    #[test]
    fn only_the_named_members_are_kept_and_the_last_of_a_name_wins() {
        let m = members::<Create>(
            r#"{"a": 1, "zz": [1, 2, {"x": 3}], "a": "two", "b": null, "q": "\ud800"}"#,
        );
        assert!(m.is_object());
        assert_eq!(m.get("a"), Some(&Member::String("two".into())));
        assert_eq!(m.get("b"), Some(&Member::Null));
        assert!(m.contains("b"));
        assert_eq!(m.get("zz"), None);
        assert_eq!(m.members.len(), 2);
    }

    #[test]
    fn entries_keep_scalars_and_mark_what_is_deeper() {
        let m = members::<Create>(r#"{"a": [1, -2, 2.5, true, "s", null, [9], {"k": 1}]}"#);
        let Some(Member::Array(items)) = m.get("a") else {
            panic!("{m:?}")
        };
        let expected = [
            Member::Number(1.into()),
            Member::Number((-2).into()),
            Member::Number(Number::from_f64(2.5).unwrap()),
            Member::Bool(true),
            Member::String("s".into()),
            Member::Null,
            Member::Nested,
            Member::Nested,
        ];
        assert_eq!(items, &expected);
        let m = members::<Create>(r#"{"b": {"y": {"z": 1}, "x": "1"}}"#);
        let Some(Member::Object(entries)) = m.get("b") else {
            panic!("{m:?}")
        };
        assert_eq!(entries.get("x"), Some(&Member::String("1".into())));
        assert_eq!(entries.get("y"), Some(&Member::Nested));
    }

    #[test]
    fn fields_keep_their_named_members_and_raw_text() {
        let m = members::<Create>(
            r#"{"cb": {"url": "https://x", "data": {"id": [1, {"k": "v"}]}, "other": [1]}}"#,
        );
        let Some(Member::Object(cb)) = m.get("cb") else {
            panic!("{m:?}")
        };
        assert_eq!(cb.get("url"), Some(&Member::String("https://x".into())));
        let Some(Member::Raw(data)) = cb.get("data") else {
            panic!("{cb:?}")
        };
        assert_eq!(&**data, r#"{"id": [1, {"k": "v"}]}"#);
        assert_eq!(cb.len(), 2);
        assert_eq!(
            members::<Create>(r#"{"cb": "tag"}"#).get("cb"),
            Some(&Member::String("tag".into()))
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_has_no_members() {
        for text in ["[1, 2]", "42", "\"x\"", "null", "true"] {
            let m = members::<Create>(text);
            assert!(!m.is_object(), "{text}");
            assert_eq!(m, Members::default());
        }
        assert!(members::<Create>("  \n").is_object());
    }

    #[test]
    fn too_many_entries_name_their_member() {
        let many = format!("[{}0]", "0,".repeat(MAX_ENTRIES));
        assert_eq!(
            parse::<Create>(format!(r#"{{"a": {many}}}"#).as_bytes(), 32),
            Err(ParseError::TooManyEntries("a".into()))
        );
        let exactly = format!("[{}0]", "0,".repeat(MAX_ENTRIES - 1));
        assert!(parse::<Create>(format!(r#"{{"a": {exactly}}}"#).as_bytes(), 32).is_ok());
        // An unread member may be as long as the body allows: it is skipped, not kept.
        assert!(parse::<Create>(format!(r#"{{"zz": {many}}}"#).as_bytes(), 32).is_ok());

        let dotted: String = (0..=MAX_ENTRIES)
            .map(|i| format!(r#""v.${i}": "x""#))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse::<Dotted>(format!("{{{dotted}}}").as_bytes(), 32),
            Err(ParseError::TooManyEntries("v".into()))
        );
        let mut m = members::<Dotted>(r#"{"v.$1": "a", "v": {"$2": 1}, "w.$3": 1}"#);
        let dotted = m.take_prefixed("v.");
        assert_eq!(dotted, [("$1".to_string(), Member::String("a".into()))]);
        assert!(m.contains("v"));
    }

    #[test]
    fn syntax_errors_give_a_position_only() {
        assert_eq!(
            parse::<Create>(b"{\n  \"a\": tru }", 32),
            Err(ParseError::Syntax {
                line: 2,
                column: 11
            })
        );
        assert!(matches!(
            parse::<Create>(b"{\"zz\": \"\xff\"}", 32),
            Err(ParseError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            parse::<Create>(b"{} x", 32),
            Err(ParseError::Syntax { .. })
        ));
        assert_eq!(parse::<Create>(b"[[[[1]]]]", 3), Err(ParseError::TooDeep));
    }

    #[test]
    fn a_double_encoded_object_is_read_as_one_member() {
        assert_eq!(
            Member::parse(r#"{"$0": "x"}"#),
            Ok(Member::Object(BTreeMap::from([(
                "$0".to_string(),
                Member::String("x".into())
            )])))
        );
        assert_eq!(Member::parse("{"), Err(NestedError::Invalid));
        let many: String = (0..=MAX_ENTRIES)
            .map(|i| format!(r#""${i}": "x""#))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            Member::parse(&format!("{{{many}}}")),
            Err(NestedError::TooManyEntries)
        );
    }
}
