//! Text normalisation: markup to plain display text, and display text to the
//! folded form that rules match against.
//!
//! The folded form makes surface variants compare equal without touching the
//! display text: Unicode NFKC (so ligatures, full-width letters and composed
//! accents agree), lower case, Russian `ё` → `е` (most Russian text omits the
//! diaeresis), and Azerbaijani/Turkish dotted and dotless i folded to plain
//! `i`, so that "İRƏVAN", "İrəvan" and "irəvan" are one word. Folding `ı` into
//! `i` merges a few Azerbaijani minimal pairs; for matching news that is far
//! cheaper than missing every upper-case headline.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Folds display text into the matching form.
///
/// The result has the same word order and word boundaries as the input;
/// punctuation is kept (rules decide what a word boundary is).
pub fn fold(text: &str) -> String {
    // ASCII is NFKC already, and every ASCII character but the backtick
    // folds to its ASCII lower case: one copy and one in-place pass, no
    // per-character work. Most English feed text is ASCII.
    if text.bytes().all(|b| b.is_ascii() && b != b'`') {
        let mut out = text.to_owned();
        out.make_ascii_lowercase();
        return out;
    }
    let mut out = String::with_capacity(text.len());
    if fold_simple(text, &mut out) {
        return out;
    }
    out.clear();
    // NFKC is only computed when the quick check cannot prove the text is
    // NFKC already: almost all text is, and `nfkc()` costs far more than
    // the check. When the check says yes, `nfkc()` would return the same
    // characters.
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        fold_chars(text.chars(), &mut out);
    } else {
        fold_chars(text.nfkc(), &mut out);
    }
    out
}

/// The fast path of [`fold`], for text made only of characters below
/// U+0800 (ASCII, Latin with Azerbaijani letters, Cyrillic: nearly all
/// the text of this theatre) that are each NFKC-stable starters. A string
/// of such characters is already NFKC (the quick check would say yes), so
/// it folds character by character, from a table. Returns false, leaving
/// `out` partly written, at the first character the table cannot fold.
fn fold_simple(text: &str, out: &mut String) -> bool {
    let table = &*SIMPLE_FOLD;
    for c in text.chars() {
        let code = c as u32;
        if code < 0x80 {
            // Every ASCII character is NFKC and a starter; only the case
            // and the backtick change.
            out.push(match c {
                '`' => '\'',
                c => c.to_ascii_lowercase(),
            });
            continue;
        }
        match table.get(code as usize).copied() {
            Some(folded) if folded != '\0' => out.push(folded),
            _ => return false,
        }
    }
    true
}

/// For each character below U+0800: its fold when the character is an
/// NFKC-stable starter (quick check yes, combining class 0) that folds to
/// exactly one character; NUL otherwise (the slow path decides).
static SIMPLE_FOLD: std::sync::LazyLock<Vec<char>> = std::sync::LazyLock::new(|| {
    (0u32..0x800)
        .map(|code| {
            let Some(c) = char::from_u32(code) else {
                return '\0';
            };
            if code < 0x80
                || is_nfkc_quick(std::iter::once(c)) != IsNormalized::Yes
                || canonical_combining_class(c) != 0
            {
                return '\0';
            }
            let mut folded = String::new();
            fold_chars(std::iter::once(c), &mut folded);
            let mut chars = folded.chars();
            match (chars.next(), chars.next()) {
                (Some(one), None) => one,
                _ => '\0',
            }
        })
        .collect()
});

fn fold_chars(chars: impl Iterator<Item = char>, out: &mut String) {
    for c in chars {
        match c {
            // Dotted capital I and dotless small i both become plain `i`;
            // `to_lowercase('İ')` would give "i\u{307}", which never matches.
            'İ' | 'ı' | 'I' => out.push('i'),
            'ё' | 'Ё' => out.push('е'),
            // A stray combining dot above (from decomposed input) is dropped.
            '\u{307}' => {}
            // Typographic apostrophes and dashes are one character in rules.
            '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' => out.push('\''),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            '\u{00A0}' | '\u{2007}' | '\u{202F}' => out.push(' '),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            // Russian: lower-case letters map to themselves and `А`..`Я` to
            // `а`..`я`, without the general case-mapping tables.
            'а'..='я' | 'ѐ'..='џ' => out.push(c),
            'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).expect("а..я")),
            c => out.extend(c.to_lowercase()),
        }
    }
}

/// Collapses runs of whitespace (as `char::is_whitespace` defines it) into
/// single spaces and trims the ends.
///
/// Works on bytes: only ASCII bytes and the four lead bytes of non-ASCII
/// whitespace (U+0085 … U+3000) can start a run, so no other character is
/// decoded, and text between runs that need changing is copied in one
/// piece (a single space between words is kept as it is, so typical text
/// is one copy).
pub fn collapse_whitespace(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let space = whitespace_at(text, i);
        if space == 0 {
            i += 1;
            continue;
        }
        let mut end = i + space;
        loop {
            let more = whitespace_at(text, end);
            if more == 0 {
                break;
            }
            end += more;
        }
        let single = end == i + 1 && bytes[i] == b' ';
        if !(single && i > 0 && end < bytes.len()) {
            out.push_str(&text[copied..i]);
            if !out.is_empty() && end < bytes.len() {
                out.push(' ');
            }
            copied = end;
        }
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Byte length of the whitespace character at `i`, or 0.
#[inline(always)]
fn whitespace_at(text: &str, i: usize) -> usize {
    match text.as_bytes().get(i) {
        Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => 1,
        // `i` is a character boundary here: these are lead bytes.
        Some(0xc2 | 0xe1 | 0xe2 | 0xe3) => text[i..]
            .chars()
            .next()
            .filter(|c| c.is_whitespace())
            .map_or(0, char::len_utf8),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azerbaijani_dotted_and_dotless_i_compare_equal() {
        assert_eq!(fold("İRƏVAN"), fold("İrəvan"));
        assert_eq!(fold("İrəvan"), fold("irəvan"));
        assert_eq!(fold("BAKI"), fold("Bakı"));
    }

    #[test]
    fn russian_yo_folds_to_ye() {
        assert_eq!(fold("Задержаны ЁЛКИ"), "задержаны елки");
    }

    #[test]
    fn nfkc_and_typography() {
        assert_eq!(fold("ﬁre — Putin’s"), "fire - putin's");
        assert_eq!(collapse_whitespace("  a \n\t b  "), "a b");
    }

    #[test]
    fn collapse_whitespace_agrees_with_split_whitespace() {
        let samples = [
            "",
            " ",
            "a",
            "  a  b\t\nc ",
            "\u{a0}x\u{85}y\u{2009}z\u{3000}",
            "«Баку» \u{2028} İrəvan",
            "\u{1680}a\u{205f}\u{202f}b\u{c2a0}",
            "x\u{1c}y",
            "é ü\u{e2}",
        ];
        for s in samples {
            let want = s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(collapse_whitespace(s), want, "{s:?}");
        }
        // Every string of up to five of these characters.
        let alphabet = ['a', ' ', '\t', '\u{a0}', 'é', '\u{3000}'];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for s in &longer {
                let want = s.split_whitespace().collect::<Vec<_>>().join(" ");
                assert_eq!(collapse_whitespace(s), want, "{s:?}");
            }
            strings = longer;
        }
    }

    /// The fast paths give what the full NFKC-then-fold path gives.
    #[test]
    fn fast_paths_agree_with_nfkc() {
        /// `fold` as it was before the fast paths.
        fn slow(text: &str) -> String {
            let mut out = String::new();
            for c in text.nfkc() {
                match c {
                    'İ' | 'ı' | 'I' => out.push('i'),
                    'ё' | 'Ё' => out.push('е'),
                    '\u{307}' => {}
                    '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' => out.push('\''),
                    '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
                    '\u{00A0}' | '\u{2007}' | '\u{202F}' => out.push(' '),
                    c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
                    c => out.extend(c.to_lowercase()),
                }
            }
            out
        }
        let mut samples: Vec<String> = (0u32..0x3000)
            .filter_map(char::from_u32)
            .map(|c| format!("Ab {c}İ x"))
            .chain(
                (0x400u32..0x530)
                    .filter_map(char::from_u32)
                    .map(String::from),
            )
            .collect();
        samples.extend(
            [
                "Plain ASCII, with `ticks` and\ttabs\n",
                "ﬁre — Putin’s",
                "Ё е\u{301}",
                "e\u{307}I",
            ]
            .map(String::from),
        );
        for s in samples {
            assert_eq!(fold(&s), slow(&s), "{s:?}");
        }
    }
}
