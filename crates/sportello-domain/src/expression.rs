//! The `validazione` expression of a service: `$n`, `&&`, `||`, parentheses.
//!
//! A service says which combinations of fields are enough with a small boolean language, e.g.
//! `($0 && $1 && $7) || ($0 && $1)`. It is parsed here by a hand-written tokenizer and a
//! recursive-descent parser; it is never handed to any evaluator of a general-purpose language
//! (the commercial API's PHP SDK `eval`s it, which is exactly what we must not copy).
//!
//! CONTRACT:
//! - `parse(src)` never panics; errors carry the byte offset in `src` and a plain message.
//! - `&&` binds tighter than `||`; an empty / whitespace-only source means "always true".
//! - `$n` evaluates to "field n is present and valid".
//!
//! Grammar (whitespace allowed between tokens):
//! ```text
//! expr   := and ( "||" and )*
//! and    := atom ( "&&" atom )*
//! atom   := "$" index | "(" expr ")"
//! index  := "0" | [1-9][0-9]*        (fits in a u32; no leading zeros, so `$n` keys are canonical)
//! ```

use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    True,
    Var(u32),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at offset {position}: {message}")]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

/// Deepest parenthesis nesting accepted. Catalog expressions nest one or two levels; the cap
/// keeps the recursive parser (and the recursive `eval`, `Display`, `Drop` of what it builds)
/// far from the stack limit whatever a hostile source contains.
pub const MAX_DEPTH: usize = 64;

/// Largest number of alternatives `alternatives` will build when expanding to disjunctive
/// normal form. `($0 || $1) && ($2 || $3) && …` doubles at every factor, so without a cap a
/// short source could ask for gigabytes.
pub const MAX_ALTERNATIVES: usize = 4096;

/// Largest total number of field indices (summed over all alternatives) `alternatives` will
/// hold: long conjunctions multiply the size of each alternative, not their count.
pub const MAX_EXPANSION_ENTRIES: usize = 1 << 16;

/// The expansion to disjunctive normal form would exceed `MAX_ALTERNATIVES` or
/// `MAX_EXPANSION_ENTRIES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the expression expands to too many alternatives")]
pub struct ExpansionTooLarge;

/// The index named by a field key `$n` (as in `campi` and `json_visura`), or `None` unless the
/// key is exactly `$` and a canonical number (no sign, no leading zero, fits in a u32): `$01`
/// would otherwise be a second spelling of `$1`.
pub fn field_key(key: &str) -> Option<u32> {
    let digits = key.strip_prefix('$')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// Parses a `validazione` source.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        tokens: &tokens,
        next: 0,
        end: src.len(),
    };
    if tokens.is_empty() {
        return Ok(Expr::True);
    }
    let expr = parser.expr(0)?;
    match parser.peek() {
        None => Ok(expr),
        Some(tok) => Err(match tok.kind {
            // No parenthesis is open at the top level, so a `)` here has no partner.
            TokenKind::RParen => error(tok.position, "unexpected `)`"),
            _ => error(
                tok.position,
                format!(
                    "expected `&&`, `||` or end of expression, found {}",
                    tok.kind
                ),
            ),
        }),
    }
}

fn error(position: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        position,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Var(u32),
    And,
    Or,
    LParen,
    RParen,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Var(n) => write!(f, "`${n}`"),
            TokenKind::And => f.write_str("`&&`"),
            TokenKind::Or => f.write_str("`||`"),
            TokenKind::LParen => f.write_str("`(`"),
            TokenKind::RParen => f.write_str("`)`"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: TokenKind,
    /// Byte offset of the token's first character.
    position: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        // Every token is ASCII, so a non-ASCII byte can only start whitespace or an error; the
        // char-based branch below handles it on a char boundary (i only ever stops on one).
        match bytes[i] {
            b'(' => {
                tokens.push(Token {
                    kind: TokenKind::LParen,
                    position: start,
                });
                i += 1;
            }
            b')' => {
                tokens.push(Token {
                    kind: TokenKind::RParen,
                    position: start,
                });
                i += 1;
            }
            b'&' | b'|' => {
                let c = bytes[i];
                if bytes.get(i + 1) != Some(&c) {
                    let op = if c == b'&' { "&&" } else { "||" };
                    return Err(error(
                        start,
                        format!("expected `{op}`, found a single `{}`", c as char),
                    ));
                }
                tokens.push(Token {
                    kind: if c == b'&' {
                        TokenKind::And
                    } else {
                        TokenKind::Or
                    },
                    position: start,
                });
                i += 2;
            }
            b'$' => {
                i += 1;
                let digits_start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let digits = &src[digits_start..i];
                if digits.is_empty() {
                    return Err(error(start, "expected a field index after `$`"));
                }
                if digits.len() > 1 && digits.starts_with('0') {
                    // `$01` would name the same field as `$1` under a different key.
                    return Err(error(start, "field index with a leading zero"));
                }
                let index = digits
                    .parse::<u32>()
                    .map_err(|_| error(start, "field index too large"))?;
                tokens.push(Token {
                    kind: TokenKind::Var(index),
                    position: start,
                });
            }
            _ => {
                let c = src[i..].chars().next().unwrap_or('\u{FFFD}');
                if !c.is_whitespace() {
                    return Err(error(start, format!("unexpected character {c:?}")));
                }
                i += c.len_utf8();
            }
        }
    }
    Ok(tokens)
}

struct Parser<'t> {
    tokens: &'t [Token],
    next: usize,
    /// Byte length of the source: where "end of expression" errors point.
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.next).copied()
    }

    fn eat(&mut self, kind: TokenKind) -> bool {
        if self.peek().is_some_and(|t| t.kind == kind) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    /// `expr := and ( "||" and )*`; `depth` counts the open parentheses around it.
    fn expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut terms = Vec::new();
        push_flat(&mut terms, self.and(depth)?, Kind::Or);
        while self.eat(TokenKind::Or) {
            push_flat(&mut terms, self.and(depth)?, Kind::Or);
        }
        Ok(collapse(terms, Kind::Or))
    }

    /// `and := atom ( "&&" atom )*`
    fn and(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut factors = Vec::new();
        push_flat(&mut factors, self.atom(depth, None)?, Kind::And);
        while self.eat(TokenKind::And) {
            push_flat(&mut factors, self.atom(depth, Some("&&"))?, Kind::And);
        }
        Ok(collapse(factors, Kind::And))
    }

    /// `atom := "$" index | "(" expr ")"`; `after` names the operator just read, for messages.
    fn atom(&mut self, depth: usize, after: Option<&str>) -> Result<Expr, ParseError> {
        let context = after.map(|op| format!(" after `{op}`")).unwrap_or_default();
        let Some(tok) = self.peek() else {
            return Err(error(
                self.end,
                format!("expected `$n` or `(`{context}, found end of expression"),
            ));
        };
        match tok.kind {
            TokenKind::Var(n) => {
                self.next += 1;
                Ok(Expr::Var(n))
            }
            TokenKind::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(error(
                        tok.position,
                        format!("parentheses nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.next += 1;
                let inner = self.expr(depth + 1)?;
                if self.eat(TokenKind::RParen) {
                    return Ok(inner);
                }
                match self.peek() {
                    // Pointing at the `(` that was never closed says more than pointing at the end.
                    None => Err(error(tok.position, "unclosed parenthesis")),
                    Some(other) => Err(error(
                        other.position,
                        format!("expected `&&`, `||` or `)`, found {}", other.kind),
                    )),
                }
            }
            other => Err(error(
                tok.position,
                format!("expected `$n` or `(`{context}, found {other}"),
            )),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    And,
    Or,
}

/// Appends `e` to the operands of a `kind` node, splicing in the operands of a nested node of
/// the same kind: `($0 && $1) && $2` is the same conjunction as `$0 && $1 && $2`, and one shape
/// per meaning keeps `parse(display(e)) == e`.
fn push_flat(operands: &mut Vec<Expr>, e: Expr, kind: Kind) {
    match (e, kind) {
        (Expr::And(inner), Kind::And) | (Expr::Or(inner), Kind::Or) => operands.extend(inner),
        (e, _) => operands.push(e),
    }
}

/// A node of `kind` over `operands`, or the single operand itself.
fn collapse(mut operands: Vec<Expr>, kind: Kind) -> Expr {
    if operands.len() == 1 {
        if let Some(only) = operands.pop() {
            return only;
        }
    }
    match kind {
        Kind::And => Expr::And(operands),
        Kind::Or => Expr::Or(operands),
    }
}

impl Expr {
    /// Every field index the expression names.
    pub fn variables(&self) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        self.collect_variables(&mut out);
        out
    }

    fn collect_variables(&self, out: &mut BTreeSet<u32>) {
        match self {
            Expr::True => {}
            Expr::Var(n) => {
                out.insert(*n);
            }
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.collect_variables(out)),
        }
    }

    pub fn eval(&self, present: &dyn Fn(u32) -> bool) -> bool {
        match self {
            Expr::True => true,
            Expr::Var(n) => present(*n),
            Expr::And(es) => es.iter().all(|e| e.eval(present)),
            Expr::Or(es) => es.iter().any(|e| e.eval(present)),
        }
    }

    /// The fields missing from the alternative that is closest to being satisfied (fewest
    /// missing; ties broken by the earliest alternative). Empty when the expression holds.
    ///
    /// Alternatives are those of `alternatives()`. An expression too large to expand (never a
    /// catalog one) falls back to choosing, at every `||`, the operand needing the fewest fields:
    /// still a completion that makes the expression hold, though not always the smallest.
    pub fn nearest_completion(&self, present: &dyn Fn(u32) -> bool) -> Vec<u32> {
        if self.eval(present) {
            return Vec::new();
        }
        match self.alternatives() {
            Ok(alternatives) => {
                let mut best: Option<Vec<u32>> = None;
                for alternative in &alternatives {
                    let missing: Vec<u32> = alternative
                        .iter()
                        .copied()
                        .filter(|&n| !present(n))
                        .collect();
                    // Strictly fewer: on a tie the earlier alternative stays.
                    if best.as_ref().is_none_or(|b| missing.len() < b.len()) {
                        best = Some(missing);
                    }
                }
                best.unwrap_or_default()
            }
            Err(ExpansionTooLarge) => self.greedy_completion(present).into_iter().collect(),
        }
    }

    fn greedy_completion(&self, present: &dyn Fn(u32) -> bool) -> BTreeSet<u32> {
        match self {
            Expr::True => BTreeSet::new(),
            Expr::Var(n) if present(*n) => BTreeSet::new(),
            Expr::Var(n) => BTreeSet::from([*n]),
            Expr::And(es) => es
                .iter()
                .flat_map(|e| e.greedy_completion(present))
                .collect(),
            Expr::Or(es) => {
                let mut best: Option<BTreeSet<u32>> = None;
                for e in es {
                    let missing = e.greedy_completion(present);
                    if best.as_ref().is_none_or(|b| missing.len() < b.len()) {
                        best = Some(missing);
                    }
                }
                // An empty `Or` is false and nothing can complete it; report nothing rather
                // than invent a field.
                best.unwrap_or_default()
            }
        }
    }

    /// The expression in disjunctive normal form: a list of alternatives, each the set of
    /// fields that together satisfy it, in source order (for `A && B`, A's alternatives vary
    /// slowest). `True` is one empty alternative; an empty `Or` has none.
    pub fn alternatives(&self) -> Result<Vec<BTreeSet<u32>>, ExpansionTooLarge> {
        match self {
            Expr::True => Ok(vec![BTreeSet::new()]),
            Expr::Var(n) => Ok(vec![BTreeSet::from([*n])]),
            Expr::Or(es) => {
                let mut out = Vec::new();
                for e in es {
                    out.extend(e.alternatives()?);
                    check_size(&out)?;
                }
                Ok(out)
            }
            Expr::And(es) => {
                let mut acc = vec![BTreeSet::new()];
                for e in es {
                    let mut right = e.alternatives()?;
                    if right.len() == 1 {
                        // The common case (`$0 && $1 && …`): grow every alternative in place.
                        // Building a fresh union each time would copy the growing set at every
                        // factor, quadratic in the length of a long conjunction.
                        let only = right.pop().unwrap_or_default();
                        for left in &mut acc {
                            left.extend(only.iter().copied());
                        }
                        check_size(&acc)?;
                        continue;
                    }
                    // The count multiplies by at least 2 here, so this branch runs at most
                    // log2(MAX_ALTERNATIVES) times with a non-empty result.
                    if acc.len().saturating_mul(right.len()) > MAX_ALTERNATIVES {
                        return Err(ExpansionTooLarge);
                    }
                    let mut next = Vec::with_capacity(acc.len() * right.len());
                    for left in &acc {
                        for r in &right {
                            let mut alternative = left.clone();
                            alternative.extend(r.iter().copied());
                            next.push(alternative);
                        }
                        check_size(&next)?;
                    }
                    acc = next;
                }
                Ok(acc)
            }
        }
    }
}

fn check_size(alternatives: &[BTreeSet<u32>]) -> Result<(), ExpansionTooLarge> {
    let entries: usize = alternatives.iter().map(BTreeSet::len).sum();
    if alternatives.len() > MAX_ALTERNATIVES || entries > MAX_EXPANSION_ENTRIES {
        Err(ExpansionTooLarge)
    } else {
        Ok(())
    }
}

/// Prints the expression in the source syntax, the way the catalog writes it: every `&&` or `||`
/// group nested in the other operator gets parentheses (`($0 && $1) || $2`, `$0 && ($1 || $2)`),
/// needed for `||` inside `&&`, kept for `&&` inside `||` because readers rarely remember the
/// precedence. `parse` of the output gives back an expression that evaluates the same
/// (and is equal, for anything `parse` produced). `True` prints as the empty string, which
/// parses back to `True`; there is no syntax for `True` inside `&&`/`||` nor for an empty
/// `&&`/`||`, which `parse` never builds.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::True => Ok(()),
            Expr::Var(n) => write!(f, "${n}"),
            Expr::Or(es) => join(f, es, " || "),
            Expr::And(es) => join(f, es, " && "),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, es: &[Expr], sep: &str) -> fmt::Result {
    for (i, e) in es.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        // Parenthesise a group of the other operator; a group of the same operator is
        // associative (and `parse` flattens it), so it needs none.
        let wrap = matches!(
            (sep, printed_operator(e)),
            (" && ", Some(Kind::Or)) | (" || ", Some(Kind::And))
        );
        if wrap {
            write!(f, "({e})")?;
        } else {
            write!(f, "{e}")?;
        }
    }
    Ok(())
}

/// The operator at the top of `e`'s printed form: a one-operand group prints as its operand, so
/// it is looked through (`Or([Or([$0, $1])])` prints as `$0 || $1`).
fn printed_operator(e: &Expr) -> Option<Kind> {
    match e {
        Expr::True | Expr::Var(_) => None,
        Expr::And(es) | Expr::Or(es) if es.len() == 1 => es.first().and_then(printed_operator),
        Expr::And(es) | Expr::Or(es) if es.is_empty() => None,
        Expr::And(_) => Some(Kind::And),
        Expr::Or(_) => Some(Kind::Or),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(n: u32) -> Expr {
        Expr::Var(n)
    }

    fn set(fields: &[u32]) -> impl Fn(u32) -> bool + '_ {
        move |n| fields.contains(&n)
    }

    fn err(src: &str) -> ParseError {
        match parse(src) {
            Ok(e) => panic!("{src:?} parsed as {e:?}"),
            Err(e) => e,
        }
    }

    const SEED: &str =
        "($0 && $1 && $2 && $3 && $4 && $5 && $6 && $7) || ($0 && $1 && $2 && $3 && $4 && $5 && $6)";

    #[test]
    fn field_keys_are_canonical() {
        assert_eq!(field_key("$0"), Some(0));
        assert_eq!(field_key("$17"), Some(17));
        assert_eq!(field_key("$4294967295"), Some(u32::MAX));
        for bad in [
            "",
            "$",
            "0",
            "$01",
            "$+1",
            "$-1",
            "$ 1",
            "$1 ",
            "$4294967296",
            "$x",
        ] {
            assert_eq!(field_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn empty_and_blank_sources_are_always_true() {
        assert_eq!(parse(""), Ok(Expr::True));
        assert_eq!(parse(" \t\n "), Ok(Expr::True));
        assert!(Expr::True.eval(&|_| false));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse("$0 || $1 && $2"),
            Ok(Expr::Or(vec![v(0), Expr::And(vec![v(1), v(2)])]))
        );
        assert_eq!(
            parse("$0 && $1 || $2"),
            Ok(Expr::Or(vec![Expr::And(vec![v(0), v(1)]), v(2)]))
        );
        assert_eq!(
            parse("$0 && ($1 || $2)"),
            Ok(Expr::And(vec![v(0), Expr::Or(vec![v(1), v(2)])]))
        );
    }

    #[test]
    fn same_operator_groups_are_flattened() {
        assert_eq!(
            parse("($0 && $1) && (($2))"),
            Ok(Expr::And(vec![v(0), v(1), v(2)]))
        );
        assert_eq!(parse("(($7))"), Ok(v(7)));
        assert_eq!(
            parse("$0||$1||($2||$3)").map(|e| e.to_string()).as_deref(),
            Ok("$0 || $1 || $2 || $3")
        );
    }

    #[test]
    fn seed_expression_parses_and_evaluates() {
        let e = parse(SEED).unwrap();
        assert_eq!(e.variables(), (0..8).collect());
        assert!(e.eval(&set(&[0, 1, 2, 3, 4, 5, 6])));
        assert!(e.eval(&set(&[0, 1, 2, 3, 4, 5, 6, 7])));
        assert!(!e.eval(&set(&[0, 1, 2, 3, 4, 5, 7])));
        assert_eq!(e.to_string(), SEED);
    }

    #[test]
    fn errors_are_located_and_explained() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "$0 &&",
                5,
                "expected `$n` or `(` after `&&`, found end of expression",
            ),
            ("&& $0", 0, "expected `$n` or `(`, found `&&`"),
            ("$0 && )", 6, "expected `$n` or `(` after `&&`, found `)`"),
            ("  ($0 && $1", 2, "unclosed parenthesis"),
            ("$0 )", 3, "unexpected `)`"),
            (
                "$0 $1",
                3,
                "expected `&&`, `||` or end of expression, found `$1`",
            ),
            ("($0 $1)", 4, "expected `&&`, `||` or `)`, found `$1`"),
            ("$0 & $1", 3, "expected `&&`, found a single `&`"),
            ("$0 | $1", 3, "expected `||`, found a single `|`"),
            ("$x", 0, "expected a field index after `$`"),
            ("$0 && $99999999999", 6, "field index too large"),
            ("$01", 0, "field index with a leading zero"),
            ("$0 and $1", 3, "unexpected character 'a'"),
            ("$0 && é", 6, "unexpected character 'é'"),
            ("()", 1, "expected `$n` or `(`, found `)`"),
        ];
        for &(src, position, message) in cases {
            assert_eq!(
                err(src),
                ParseError {
                    position,
                    message: message.to_string()
                },
                "{src:?}"
            );
        }
    }

    #[test]
    fn error_display_names_the_offset() {
        assert_eq!(err("$0 )").to_string(), "at offset 3: unexpected `)`");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let ok = format!("{}$0{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok), Ok(v(0)));
        let deep = "(".repeat(100_000);
        let e = err(&deep);
        assert_eq!(e.position, MAX_DEPTH);
        assert!(e.message.contains("nested deeper"), "{e}");
    }

    #[test]
    fn unicode_whitespace_is_whitespace() {
        assert_eq!(
            parse("$0\u{a0}&&\u{2003}$1"),
            Ok(Expr::And(vec![v(0), v(1)]))
        );
    }

    #[test]
    fn nearest_completion_of_the_seed_form() {
        let e = parse(SEED).unwrap();
        assert_eq!(e.nearest_completion(&set(&[])), vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(e.nearest_completion(&set(&[0, 1, 2, 3, 4, 5, 7])), vec![6]);
        assert_eq!(
            e.nearest_completion(&set(&[0, 1, 2, 3, 4, 5, 6])),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn nearest_completion_prefers_fewest_then_earliest() {
        let e = parse("($0 && $1) || ($2 && $3) || $4 && $5").unwrap();
        // $1 missing from the first, $3 from the second: a tie, the first wins.
        assert_eq!(e.nearest_completion(&set(&[0, 2])), vec![1]);
        assert_eq!(e.nearest_completion(&set(&[2, 5])), vec![3]);
        assert_eq!(e.nearest_completion(&set(&[5])), vec![4]);
        assert_eq!(e.nearest_completion(&set(&[])), vec![0, 1]);
    }

    #[test]
    fn nearest_completion_distributes_and_over_or() {
        let e = parse("$0 && ($1 || $2) && ($3 || $2)").unwrap();
        assert_eq!(
            e.alternatives().unwrap(),
            vec![
                BTreeSet::from([0, 1, 3]),
                BTreeSet::from([0, 1, 2]),
                BTreeSet::from([0, 2, 3]),
                BTreeSet::from([0, 2]),
            ]
        );
        assert_eq!(e.nearest_completion(&set(&[])), vec![0, 2]);
        // {0,1,3} and {0,1,2} both miss one field: the earlier wins.
        assert_eq!(e.nearest_completion(&set(&[0, 1])), vec![3]);
        assert_eq!(e.nearest_completion(&set(&[0, 3])), vec![1]);
    }

    #[test]
    fn huge_expansions_fall_back_to_a_valid_completion() {
        // 2^20 alternatives: far past the cap.
        let src = (0..20)
            .map(|i| format!("(${} || ${})", 2 * i, 2 * i + 1))
            .collect::<Vec<_>>()
            .join(" && ");
        let e = parse(&src).unwrap();
        assert_eq!(e.alternatives(), Err(ExpansionTooLarge));
        let completion = e.nearest_completion(&set(&[1, 3]));
        assert_eq!(completion.len(), 18);
        let mut have = vec![1, 3];
        have.extend(&completion);
        assert!(e.eval(&set(&have)));
    }

    #[test]
    fn long_conjunctions_expand_in_linear_time() {
        let src = (0..60_000)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(" && ");
        let e = parse(&src).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(e.nearest_completion(&|n| n != 59_999), vec![59_999]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Past the entry cap the fallback still answers.
        let src = (0..70_000)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(" && ");
        let e = parse(&src).unwrap();
        assert_eq!(e.alternatives(), Err(ExpansionTooLarge));
        assert_eq!(e.nearest_completion(&|n| n != 5), vec![5]);
    }

    #[test]
    fn display_parenthesises_or_inside_and() {
        let e = Expr::And(vec![Expr::Or(vec![v(0), v(1)]), v(2), Expr::Or(vec![v(3)])]);
        assert_eq!(e.to_string(), "($0 || $1) && $2 && $3");
        let e = Expr::Or(vec![
            Expr::And(vec![v(0), v(1)]),
            v(2),
            Expr::And(vec![v(3)]),
        ]);
        assert_eq!(e.to_string(), "($0 && $1) || $2 || $3");
        assert_eq!(Expr::True.to_string(), "");
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        let leaf = (0u32..12).prop_map(Expr::Var);
        leaf.prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
                prop::collection::vec(inner, 1..4).prop_map(Expr::Or),
            ]
        })
    }

    proptest! {
        #[test]
        fn printed_expressions_reparse_to_the_same_meaning(e in arb_expr(), present in prop::collection::btree_set(0u32..12, 0..12)) {
            let printed = e.to_string();
            let reparsed = parse(&printed).map_err(|err| TestCaseError::fail(format!("{printed:?}: {err}")))?;
            let p = |n: u32| present.contains(&n);
            prop_assert_eq!(e.eval(&p), reparsed.eval(&p));
            prop_assert_eq!(e.variables(), reparsed.variables());
            // Printing what parse built is a fixed point.
            prop_assert_eq!(parse(&reparsed.to_string()), Ok(reparsed));
        }

        #[test]
        fn nearest_completion_completes(e in arb_expr(), present in prop::collection::btree_set(0u32..12, 0..12)) {
            let completion = e.nearest_completion(&|n| present.contains(&n));
            let mut after = present.clone();
            after.extend(completion.iter().copied());
            prop_assert!(e.eval(&|n| after.contains(&n)));
            prop_assert!(completion.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
            prop_assert!(completion.iter().all(|n| !present.contains(n)), "only missing fields");
            prop_assert_eq!(completion.is_empty(), e.eval(&|n| present.contains(&n)));
        }

        #[test]
        fn nearest_completion_is_minimal_among_alternatives(e in arb_expr(), present in prop::collection::btree_set(0u32..12, 0..12)) {
            if let Ok(alternatives) = e.alternatives() {
                let completion = e.nearest_completion(&|n| present.contains(&n));
                let fewest = alternatives.iter().map(|a| a.iter().filter(|n| !present.contains(n)).count()).min();
                prop_assert_eq!(Some(completion.len()), fewest);
            }
        }

        #[test]
        fn parse_never_panics(src in "\\PC{0,64}") {
            let _ = parse(&src);
        }

        #[test]
        fn parse_never_panics_on_near_valid_input(src in "[$0-9&|() \\t]{0,64}") {
            if let Err(e) = parse(&src) {
                prop_assert!(e.position <= src.len());
                prop_assert!(src.is_char_boundary(e.position));
            }
        }
    }
}
