//! Breaking text into lines of a given width, and the typographic touch-ups Italian text wants.
//! Pure: the width of a piece of text comes from the caller, so this is tested without fonts.

/// The paragraphs of `text`: runs of lines separated by one or more blank lines. Each
/// paragraph is its lines, which are kept as written (a template's lists and addresses keep
/// their line breaks).
pub(super) fn paragraphs(text: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `line` broken at spaces into lines no wider than `width`, as measured by `measure`. Runs of
/// spaces count as one; a word wider than a whole line (a long e-mail address, an IBAN) is cut
/// where it must rather than overflowing the margin.
pub(super) fn wrap(line: &str, width: f32, measure: &dyn Fn(&str) -> f32) -> Vec<String> {
    let space = measure(" ");
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_width = 0.0;
    for word in line.split(breaks).filter(|w| !w.is_empty()) {
        let word_width = measure(word);
        if current.is_empty() {
            // Nothing to do here: the word starts the line.
        } else if current_width + space + word_width <= width {
            current.push(' ');
            current.push_str(word);
            current_width += space + word_width;
            continue;
        } else {
            lines.push(std::mem::take(&mut current));
        }
        if word_width <= width {
            current.push_str(word);
            current_width = word_width;
        } else {
            let mut pieces = cut(word, width, measure);
            let last = pieces.pop().unwrap_or_default();
            lines.extend(pieces);
            current_width = measure(&last);
            current = last;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// `word` cut into pieces no wider than `width` (at least one character each).
fn cut(word: &str, width: f32, measure: &dyn Fn(&str) -> f32) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in word.chars() {
        piece.push(c);
        if measure(&piece) > width && piece.chars().count() > 1 {
            piece.pop();
            pieces.push(std::mem::replace(&mut piece, c.to_string()));
        }
    }
    pieces.push(piece);
    pieces
}

/// `text` as Italian print sets it: the straight apostrophe between letters becomes the
/// typographic one (`l'informativa` → `l’informativa`, `D'Angelo` → `D’Angelo`), and the space
/// between `€` and its amount (`€ 16,00`, `16,00 €`) a no-break space, so a line never ends on
/// the currency sign. Quotes and other apostrophes are left alone: which ones open or close is
/// the author's call.
pub(super) fn typography(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let before = |i: usize| i.checked_sub(1).map(|j| chars[j]);
    let after = |i: usize| chars.get(i + 1).copied();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            '\'' if before(i).is_some_and(char::is_alphabetic)
                && after(i).is_some_and(char::is_alphabetic) =>
            {
                '’'
            }
            ' ' if (before(i) == Some('€') && after(i).is_some_and(|n| n.is_ascii_digit()))
                || (before(i).is_some_and(|p| p.is_ascii_digit()) && after(i) == Some('€')) =>
            {
                NO_BREAK_SPACE
            }
            c => c,
        })
        .collect()
}

const NO_BREAK_SPACE: char = '\u{a0}';

/// Where a line may break: any white space but the no-break ones.
fn breaks(c: char) -> bool {
    c.is_whitespace() && c != NO_BREAK_SPACE && c != '\u{202f}' && c != '\u{2007}'
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character is 1 wide: widths are character counts.
    fn chars(s: &str) -> f32 {
        s.chars().count() as f32
    }

    #[test]
    fn paragraphs_are_separated_by_blank_lines() {
        let text = "\n\nPrimo paragrafo,\nsu due righe.\n\n  \n\nSecondo.\n";
        assert_eq!(
            paragraphs(text),
            vec![vec!["Primo paragrafo,", "su due righe."], vec!["Secondo."]]
        );
        assert!(paragraphs(" \n\n").is_empty());
    }

    #[test]
    fn lines_break_at_spaces_within_the_width() {
        let lines = wrap("il mandato è conferito per la pratica", 12.0, &chars);
        assert_eq!(lines, ["il mandato è", "conferito", "per la", "pratica"]);
        assert!(lines.iter().all(|l| chars(l) <= 12.0));
    }

    #[test]
    fn runs_of_spaces_count_as_one() {
        assert_eq!(wrap("  a   b  ", 10.0, &chars), ["a b"]);
        assert!(wrap("   ", 10.0, &chars).is_empty());
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut() {
        let lines = wrap("PEC: protocollo@pec.esempio.it fine", 10.0, &chars);
        assert_eq!(lines, ["PEC:", "protocollo", "@pec.esemp", "io.it fine"]);
    }

    #[test]
    fn a_line_narrower_than_one_character_still_advances() {
        assert_eq!(wrap("abc", 0.5, &chars), ["a", "b", "c"]);
    }

    #[test]
    fn apostrophes_between_letters_become_typographic() {
        assert_eq!(
            typography("l'informativa dell'operatore, D'Angelo"),
            "l’informativa dell’operatore, D’Angelo"
        );
        assert_eq!(typography("'citato' e 80'"), "'citato' e 80'");
    }

    #[test]
    fn the_euro_sign_stays_with_its_amount() {
        let text = typography("bollo di € 16,00 o 32,00 € al mese");
        assert_eq!(text, "bollo di €\u{a0}16,00 o 32,00\u{a0}€ al mese");
        assert_eq!(
            wrap(&text, 14.0, &chars),
            ["bollo di", "€\u{a0}16,00 o", "32,00\u{a0}€ al", "mese"]
        );
        assert_eq!(typography("€ e"), "€ e");
    }
}
