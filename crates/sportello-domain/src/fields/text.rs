//! `testo` and `denominazione`: free text on one line.
//!
//! Every control character is refused, tab and newline included: the catalog's text fields are
//! single-line facts (a name, an address, a company name) that end up in operators' screens, CSV
//! exports and PDF forms, where an embedded newline or tab silently splits a record or a column
//! and where a bidirectional override makes what the operator reads differ from what was stored
//! ("Trojan Source", CVE-2021-42574). A client that really sends a multi-line value gets a clear
//! error instead of a value mangled behind its back.

use super::FieldError;

/// Trims, then checks that something is left, that it fits, and that it is one clean line.
pub fn validate(raw: &str, max_chars: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new("required", "the value is empty"));
    }
    if value.chars().any(is_forbidden) {
        return Err(FieldError::new(
            "control_characters",
            "the value contains control characters (line breaks, tabs or direction overrides); send a single line of plain text",
        ));
    }
    // Counted in characters, not bytes: "ò" is one character for the person typing it.
    let len = value.chars().count();
    if len > max_chars {
        return Err(FieldError::new(
            "too_long",
            format!("the value has {len} characters, at most {max_chars} are allowed"),
        ));
    }
    Ok(value.to_string())
}

/// Control characters (Unicode category Cc), the line and paragraph separators, and the
/// bidirectional embedding, override and isolate controls.
pub(crate) fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn code(raw: &str) -> &'static str {
        validate(raw, 10).unwrap_err().code
    }

    #[test]
    fn surrounding_spaces_are_trimmed() {
        assert_eq!(validate("  Mario Rossi \u{a0}", 20).unwrap(), "Mario Rossi");
    }

    #[test]
    fn blank_is_required() {
        assert_eq!(code(""), "required");
        assert_eq!(code(" \t\n "), "required");
    }

    #[test]
    fn control_characters_are_refused_even_tab_and_newline() {
        for raw in [
            "a\nb",
            "a\tb",
            "a\rb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{202e}b",
            "a\u{2028}b",
        ] {
            assert_eq!(code(raw), "control_characters", "{raw:?}");
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(validate("àèìòùàèìòù", 10).unwrap(), "àèìòùàèìòù");
        assert_eq!(code("àèìòùàèìòùà"), "too_long");
    }

    #[test]
    fn messages_never_echo_the_value() {
        for raw in ["segreto\nx", "segretissimo-valore"] {
            let e = validate(raw, 10).unwrap_err();
            assert!(!e.message.contains("segret"), "{}", e.message);
        }
    }
}
