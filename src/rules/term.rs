//! Terms: a folded string split into words, with optional `*` prefix
//! wildcards, and the gaps between the words of a phrase.

use crate::parse::normalise::fold;

/// A parsed term, before its words are numbered in the automaton.
#[derive(Debug, Clone, PartialEq)]
pub struct TermSpec {
    /// The folded term as written (with `*`), used as its identity.
    pub key: String,
    /// Words in order; a phrase has more than one.
    pub words: Vec<WordSpec>,
    /// `gaps[i]` separates `words[i]` and `words[i + 1]`.
    pub gaps: Vec<Gap>,
}

/// One word of a term.
#[derive(Debug, Clone, PartialEq)]
pub struct WordSpec {
    /// Folded word characters (no `*`).
    pub text: String,
    /// `word*`: any word that starts with `text`.
    pub prefix: bool,
}

/// What may separate two words of a phrase in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// Written as a space or hyphen: matches any non-empty run of whitespace
    /// and hyphens, so `air defence` also finds `air-defence`.
    Loose,
    /// Written with other punctuation (`putin's`): the text must have exactly
    /// this separator.
    Exact(String),
}

/// Why a term string is not a valid term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermError {
    /// Nothing left after folding: no word characters.
    Empty,
    /// A `*` that does not end a word.
    BadWildcard,
    /// A wildcard stem shorter than [`MIN_STEM`] characters.
    ShortStem(String),
}

/// Shortest allowed stem before a `*`; shorter stems match too much.
pub const MIN_STEM: usize = 3;

/// Returns true for characters that make up words: `char::is_alphanumeric`
/// (the spec's definition), with the table lookup skipped for the scripts
/// the feeds are written in, where the answer is known by range.
#[inline]
pub fn is_word_char(c: char) -> bool {
    match c as u32 {
        0..=0x7F => (c as u8).is_ascii_alphanumeric(),
        // Latin-1 letters and Latin Extended-A/B (ç ğ ö ş ü), IPA (ə).
        0xC0..=0x2AF => c != '\u{D7}' && c != '\u{F7}',
        // Cyrillic and Cyrillic Supplement letters (not the combining marks).
        0x400..=0x481 | 0x48A..=0x52F => true,
        _ => c.is_alphanumeric(),
    }
}

/// Folds and splits a term string.
pub fn parse_term(raw: &str) -> Result<TermSpec, TermError> {
    let folded = fold(raw);
    let mut words: Vec<WordSpec> = Vec::new();
    let mut gaps = Vec::new();
    let mut gap = String::new();
    let mut word = String::new();
    let mut chars = folded.chars().peekable();
    while let Some(c) = chars.next() {
        if is_word_char(c) {
            if word.is_empty() && !words.is_empty() {
                gaps.push(classify_gap(&gap));
            }
            gap.clear();
            word.push(c);
        } else if c == '*' {
            // A star must end a word: word char before, no word char after.
            let next_is_word = chars.peek().is_some_and(|&n| is_word_char(n) || n == '*');
            if word.is_empty() || next_is_word {
                return Err(TermError::BadWildcard);
            }
            if word.chars().count() < MIN_STEM {
                return Err(TermError::ShortStem(word));
            }
            words.push(WordSpec {
                text: std::mem::take(&mut word),
                prefix: true,
            });
        } else {
            if !word.is_empty() {
                words.push(WordSpec {
                    text: std::mem::take(&mut word),
                    prefix: false,
                });
            }
            gap.push(c);
        }
    }
    if !word.is_empty() {
        words.push(WordSpec {
            text: word,
            prefix: false,
        });
    }
    if words.is_empty() {
        return Err(TermError::Empty);
    }
    Ok(TermSpec {
        key: folded.trim().to_owned(),
        words,
        gaps,
    })
}

fn classify_gap(gap: &str) -> Gap {
    if gap.chars().all(|c| c.is_whitespace() || c == '-') {
        Gap::Loose
    } else {
        Gap::Exact(gap.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_phrases_and_wildcards() {
        let t = parse_term("Air defen* fire").unwrap();
        let words: Vec<_> = t
            .words
            .iter()
            .map(|w| (w.text.as_str(), w.prefix))
            .collect();
        assert_eq!(words, [("air", false), ("defen", true), ("fire", false)]);
        assert_eq!(t.gaps, [Gap::Loose, Gap::Loose]);
        assert_eq!(
            parse_term("putin's").unwrap().gaps,
            [Gap::Exact("'".into())]
        );
    }

    #[test]
    fn fast_word_char_agrees_with_is_alphanumeric() {
        for c in (0..0x3000).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn rejects_bad_terms() {
        assert_eq!(parse_term(" - "), Err(TermError::Empty));
        assert_eq!(parse_term("de*fen"), Err(TermError::BadWildcard));
        assert_eq!(parse_term("*raid"), Err(TermError::BadWildcard));
        assert_eq!(parse_term("ab*"), Err(TermError::ShortStem("ab".into())));
    }
}
