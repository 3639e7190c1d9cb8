//! Fuzzes `sportello_domain::expression`: whatever the bytes, `parse` must not panic, an error
//! must point inside the source on a character boundary, and what parses must print back to
//! itself, evaluate, and be completed by its nearest completion.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello_domain::expression::parse;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses which fields are present; the rest is the source. Invalid UTF-8
    // never reaches the parser (it takes &str), so it is skipped rather than repaired.
    let Some((&mask, rest)) = data.split_first() else {
        return;
    };
    let Ok(src) = std::str::from_utf8(rest) else {
        return;
    };
    let present = |n: u32| n < 8 && mask & (1 << n) != 0;
    match parse(src) {
        Err(e) => {
            assert!(e.position <= src.len(), "offset past the end: {e}");
            assert!(src.is_char_boundary(e.position), "offset inside a character: {e}");
        }
        Ok(expr) => {
            let printed = expr.to_string();
            assert_eq!(parse(&printed).as_ref(), Ok(&expr), "print/parse round trip of {src:?}");
            let holds = expr.eval(&present);
            let completion = expr.nearest_completion(&present);
            assert_eq!(completion.is_empty(), holds);
            let completed = |n: u32| present(n) || completion.binary_search(&n).is_ok();
            assert!(expr.eval(&completed), "completion {completion:?} does not satisfy {src:?}");
            let _ = expr.variables();
        }
    }
});
