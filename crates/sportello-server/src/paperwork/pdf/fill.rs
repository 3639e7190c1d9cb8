//! Placeholders in a provider's mandate template: `{{nome}}`, `{{ codice_fiscale }}`.

use std::collections::BTreeMap;

/// `template` with each `{{name}}` replaced by `values[name]`.
///
/// A placeholder without a value (or with a blank one) becomes `[name mancante]`, in words
/// (`{{codice_fiscale}}` → `[codice fiscale mancante]`): the person signing sees what the
/// request did not say instead of a gap or a stray brace. Values are inserted as they are and
/// never scanned again, so a value holding `{{…}}` stays literal. Braces around anything that
/// is not a name (letters, digits, `_`) are ordinary text and stay as written.
pub fn fill(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        if is_name(name) {
            match values.get(name).filter(|v| !v.trim().is_empty()) {
                Some(value) => out.push_str(value),
                None => out.push_str(&missing(name)),
            }
            rest = &after[end + 2..];
        } else {
            // Not a placeholder: keep one brace and look again from the next character, so
            // that `{{{nome}}` still finds its `{{nome}}`.
            out.push('{');
            rest = &rest[start + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn missing(name: &str) -> String {
    format!("[{} mancante]", name.replace('_', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn known_placeholders_take_their_values() {
        let v = values(&[("nome", "Niccolò"), ("cognome", "Dell’Orto")]);
        assert_eq!(
            fill("Il sottoscritto {{nome}} {{ cognome }}, nato a…", &v),
            "Il sottoscritto Niccolò Dell’Orto, nato a…"
        );
    }

    #[test]
    fn a_placeholder_may_repeat() {
        let v = values(&[("nome", "Anna")]);
        assert_eq!(fill("{{nome}} e {{nome}}", &v), "Anna e Anna");
    }

    #[test]
    fn a_missing_value_shows_in_italian() {
        let v = values(&[("nome", "Anna")]);
        assert_eq!(
            fill("{{nome}}, C.F. {{codice_fiscale}}", &v),
            "Anna, C.F. [codice fiscale mancante]"
        );
    }

    #[test]
    fn a_blank_value_counts_as_missing() {
        let v = values(&[("cognome", "  ")]);
        assert_eq!(fill("{{cognome}}", &v), "[cognome mancante]");
    }

    #[test]
    fn values_are_not_scanned_again() {
        let v = values(&[("nome", "{{cognome}}"), ("cognome", "Rossi")]);
        assert_eq!(fill("{{nome}}", &v), "{{cognome}}");
    }

    #[test]
    fn braces_that_are_not_placeholders_stay() {
        let v = values(&[("nome", "Anna")]);
        assert_eq!(fill("a {{ due parole }} b", &v), "a {{ due parole }} b");
        assert_eq!(fill("a {{}} b", &v), "a {{}} b");
        assert_eq!(fill("{{{nome}}}", &v), "{Anna}");
        assert_eq!(fill("fine {{nome", &v), "fine {{nome");
        assert_eq!(fill("", &v), "");
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        let text = "Città, perché: € 16,00 «marca da bollo».";
        assert_eq!(fill(text, &BTreeMap::new()), text);
    }
}
