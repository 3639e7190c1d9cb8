//! The sandbox's sample result: a one-page PDF that says, in large type, that it is a test
//! document with no value. Written by hand because it is five objects and a cross-reference
//! table; a PDF library would be the larger risk.

use chrono::DateTime;

/// A PDF naming the service, the request and the time, marked as a sandbox document.
pub fn sample(service: &str, request_id: &str, at: i64) -> Vec<u8> {
    let when = DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let lines = [
        (28, 760, "DOCUMENTO DI PROVA - SANDBOX".to_string()),
        (
            14,
            728,
            "Privo di qualsiasi valore: generato da Sportello".to_string(),
        ),
        (
            14,
            710,
            "per una richiesta fatta con un token di test.".to_string(),
        ),
        (12, 670, format!("Servizio: {service}")),
        (12, 652, format!("Richiesta: {request_id}")),
        (12, 634, format!("Generato: {when}")),
    ];
    let mut content = String::from("1 0 0 rg\n");
    for (size, y, text) in &lines {
        content.push_str(&format!(
            "BT /F1 {size} Tf 56 {y} Td ({}) Tj ET\n",
            escape(text)
        ));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_string(),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A PDF literal string in WinAnsi: the delimiters escaped, Latin-1 letters (à, è, …) as octal
/// escapes, anything else as `?`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{ff}' => out.push_str(&format!("\\{:03o}", u32::from(c))),
            _ => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every cross-reference entry points at its object, and startxref at the table: what a
    /// reader checks first.
    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let pdf = sample(
            "Certificato (stato) di famiglia – è",
            "0123456789abcdef01234567",
            0,
        );
        let text = String::from_utf8_lossy(&pdf).to_string();
        let bytes = &pdf[..];
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(bytes[start..].starts_with(b"xref\n0 6\n"));
        let table = String::from_utf8_lossy(&bytes[start..]).to_string();
        for (n, line) in table.lines().skip(3).take(5).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            let head = format!("{} 0 obj\n", n + 1);
            assert!(
                bytes[offset..].starts_with(head.as_bytes()),
                "object {}",
                n + 1
            );
        }
        assert!(text.contains("(Servizio: Certificato \\(stato\\) di famiglia ? \\350)"));
        assert!(text.ends_with("%%EOF\n"));
    }

    #[test]
    fn the_stream_length_is_exact() {
        let pdf = sample("ISEE", "0123456789abcdef01234567", 1_700_000_000);
        let text = String::from_utf8_lossy(&pdf).to_string();
        let declared: usize = text
            .split("/Length ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let (_, body) = text.split_once(">>\nstream\n").unwrap();
        let actual = body.find("endstream").unwrap();
        assert_eq!(declared, actual);
        assert!(text.contains("Generato: 2023-11-14 22:13 UTC"));
    }
}
