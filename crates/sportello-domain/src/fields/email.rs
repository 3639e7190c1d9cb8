//! `email`: an address we could actually deliver to.
//!
//! The accepted syntax is the RFC 5321 "Mailbox" restricted to what real mail systems route:
//! a dot-atom local part (RFC 5322 §3.2.3 `atext`), `@`, and a host name of LDH labels
//! (RFC 1035 §2.3.1, RFC 5890 for `xn--` labels) with at least two labels and an alphabetic or
//! punycode top-level label. Deliberately refused, although the RFCs allow them: quoted local
//! parts and comments (almost always typos, and a classic source of parser disagreement),
//! address literals (`user@[192.0.2.1]`), and non-ASCII characters (they need SMTPUTF8 on every
//! hop; an internationalised domain can be sent in its `xn--` form).
//!
//! Limits: 254 characters in all (RFC 5321 §4.5.3.1.3's 256-octet path minus the angle
//! brackets), 64 for the local part (§4.5.3.1.1), 63 per label and 253 for the domain
//! (RFC 1035 §2.3.4).

use super::FieldError;

pub const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

/// Trims, checks the syntax, and lower-cases the domain (domains are case-insensitive; local
/// parts, in theory, are not, so they are kept as sent).
pub fn validate(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new("required", "the value is empty"));
    }
    if value.chars().count() > MAX_LEN {
        return Err(FieldError::new(
            "too_long",
            format!("an e-mail address has at most {MAX_LEN} characters"),
        ));
    }
    if !value.is_ascii() {
        return Err(invalid(
            "an e-mail address must be ASCII (send an internationalised domain in its xn-- form)",
        ));
    }
    if value
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(invalid(
            "an e-mail address contains no spaces or control characters",
        ));
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err(invalid(
            "an e-mail address needs an @ between the name and the domain",
        ));
    };
    check_local(local)?;
    check_domain(domain)?;
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

fn invalid(message: &str) -> FieldError {
    FieldError::new("email_invalid", message)
}

fn check_local(local: &str) -> Result<(), FieldError> {
    if local.is_empty() {
        return Err(invalid("the part before the @ is empty"));
    }
    if local.len() > MAX_LOCAL {
        return Err(invalid("the part before the @ has at most 64 characters"));
    }
    if local.contains('@') {
        return Err(invalid("an e-mail address has exactly one @"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(invalid(
            "the part before the @ cannot start or end with a dot, or have two dots in a row",
        ));
    }
    if !local.bytes().all(|b| b == b'.' || is_atext(b)) {
        return Err(invalid(
            "the part before the @ contains a character not allowed there",
        ));
    }
    Ok(())
}

/// RFC 5322 §3.2.3 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

fn check_domain(domain: &str) -> Result<(), FieldError> {
    if domain.is_empty() {
        return Err(invalid("the domain after the @ is empty"));
    }
    if domain.len() > MAX_DOMAIN {
        return Err(invalid("the domain has at most 253 characters"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid(
            "the domain needs at least one dot (like example.it)",
        ));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(invalid(
                "the domain cannot start or end with a dot, or have two dots in a row",
            ));
        }
        if label.len() > MAX_LABEL {
            return Err(invalid("each part of the domain has at most 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(invalid(
                "the domain may contain only letters, digits, hyphens and dots",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(
                "a part of the domain cannot start or end with a hyphen",
            ));
        }
    }
    // The top-level label: letters (`it`, `com`) or an IDN in punycode (`xn--…`). An all-digit
    // one means an IP address was typed where a domain belongs.
    let tld = labels.last().copied().unwrap_or_default();
    let tld_ok = (tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
        || (tld.len() > 4 && tld.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--")));
    if !tld_ok {
        return Err(invalid(
            "the domain must end with a real top-level domain (like .it)",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn code(raw: &str) -> &'static str {
        validate(raw).unwrap_err().code
    }

    #[test]
    fn ordinary_addresses_pass_and_the_domain_is_lower_cased() {
        assert_eq!(
            validate(" Mario.Rossi@Example.IT ").unwrap(),
            "Mario.Rossi@example.it"
        );
        for ok in [
            "a@b.co",
            "first.last+tag@mail.example.com",
            "o'connor@example.ie",
            "x_y-z@sub-domain.example.org",
            "user@xn--caff-8oa.it",
            "user@example.xn--p1ai",
            "1234@123.example.it",
            "!#$%&'*+-/=?^_`{|}~@example.it",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "plainaddress",
            "@example.it",
            "user@",
            "user@localhost",
            "user@@example.it",
            "us@er@example.it",
            "user@example..it",
            ".user@example.it",
            "user.@example.it",
            "us..er@example.it",
            "user@.example.it",
            "user@example.it.",
            "user@-example.it",
            "user@example-.it",
            "user@exa_mple.it",
            "user@192.168.0.1",
            "user@[192.168.0.1]",
            "user@example.i",
            "\"quoted\"@example.it",
            "us er@example.it",
            "user@exam ple.it",
            "user\n@example.it",
            "user(comment)@example.it",
            "usér@example.it",
            "user@caffè.it",
        ] {
            assert_eq!(code(bad), "email_invalid", "{bad:?}");
        }
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert!(validate(&format!("{local64}@example.it")).is_ok());
        assert_eq!(code(&format!("a{local64}@example.it")), "email_invalid");
        let label63 = "b".repeat(63);
        assert!(validate(&format!("u@{label63}.it")).is_ok());
        assert_eq!(code(&format!("u@b{label63}.it")), "email_invalid");
        // 254 characters in all is the limit.
        let domain = format!(
            "{}.{}.{}.it",
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(58)
        );
        let at_limit = format!("{local64}@{domain}");
        assert_eq!(at_limit.len(), 254);
        assert!(validate(&at_limit).is_ok());
        assert_eq!(code(&format!("{local64}@f{domain}")), "too_long");
    }

    #[test]
    fn blank_is_required() {
        assert_eq!(code("   "), "required");
    }

    #[test]
    fn messages_never_echo_the_value() {
        for bad in ["segreto", "segreto@", "segreto@x", "segr eto@example.it"] {
            assert!(!validate(bad).unwrap_err().message.contains("segr"));
        }
    }
}
