//! The single automaton pass: finds every word hit in one field.
//!
//! The automaton's patterns are the words with a leading space (` baku`),
//! and it is fed the text with every non-word character replaced by spaces
//! of the same byte length (plus one leading space). A pattern can then only
//! match at the start of a word, so the pass reports no mid-word hits (`raid`
//! in `afraid`, `ск` inside every Russian word) that would have to be thrown
//! away, and offsets in the fed stream are offsets in the text plus one.
//!
//! The DFA is driven byte by byte through its `Automaton` interface rather
//! than with `find_overlapping_iter`: masking and matching happen in one loop,
//! typical items have a hit on most words, where the iterator's per-match
//! overhead dominated, and once a word cannot start any pattern the rest of
//! it is skipped without touching the automaton.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};

use super::matcher::Hit;
use super::term::is_word_char;

/// Returns the byte length of the character at `i` and whether it is a word
/// character, with fast paths for ASCII and two-byte Cyrillic and Latin
/// letters (the bulk of the feeds' text).
#[inline(always)]
fn classify(text: &str, bytes: &[u8], i: usize) -> (usize, bool) {
    match bytes[i] {
        b @ 0..=0x7F => (1, b.is_ascii_alphanumeric()),
        // U+0400..U+047F: Cyrillic letters.
        0xD0 | 0xD1 => (2, true),
        // U+00C0..U+027F: Latin letters, except × and ÷.
        b @ 0xC3..=0xC9 => (2, !matches!((b, bytes[i + 1]), (0xC3, 0x97) | (0xC3, 0xB7))),
        _ => {
            let c = text[i..].chars().next().expect("i is on a char boundary");
            (c.len_utf8(), is_word_char(c))
        }
    }
}

/// The automaton over the anchor words of all terms.
#[derive(Debug)]
pub struct WordIndex {
    dfa: DFA,
    /// Word id (pattern id in the program) of each automaton pattern.
    word_ids: Vec<u32>,
    /// The unanchored start state: the automaton is here when no word is
    /// being matched, and stays here until the next non-word character.
    start: StateID,
    /// The state after a space. Every non-word character leads here, since
    /// no pattern has a space after its first byte: no transition needed.
    space: StateID,
}

impl WordIndex {
    /// Builds the index over the words `ids` of `words` (folded, word
    /// characters only); hits report those ids.
    pub fn new(words: &[String], ids: &[u32]) -> Option<WordIndex> {
        if ids.is_empty() {
            return None;
        }
        // Patterns carry a leading space: see the module comment.
        let dfa = DFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(ids.iter().map(|&w| format!(" {}", words[w as usize])))
            .expect("word patterns are small, valid strings");
        let start = dfa
            .start_state(Anchored::No)
            .expect("the DFA has an unanchored start state");
        let space = dfa.next_state(Anchored::No, start, b' ');
        Some(WordIndex {
            dfa,
            word_ids: ids.to_vec(),
            start,
            space,
        })
    }

    /// Approximate heap size of the automaton, in bytes.
    pub fn memory_usage(&self) -> usize {
        self.dfa.memory_usage()
    }

    /// Appends the hits of the words in `text` (field number `field`) to `out`.
    pub fn collect_hits(&self, text: &str, field: u8, out: &mut Vec<Hit>) {
        let dfa = &self.dfa;
        let bytes = text.as_bytes();
        let mut sid = self.space;
        let mut i = 0;
        while i < bytes.len() {
            let (n, word) = classify(text, bytes, i);
            if !word {
                sid = self.space;
                i += n;
                continue;
            }
            for k in i..i + n {
                sid = dfa.next_state(Anchored::No, sid, bytes[k]);
                if dfa.is_special(sid) && dfa.is_match(sid) {
                    for m in 0..dfa.match_len(sid) {
                        let pid = dfa.match_pattern(sid, m);
                        // The pattern's leading space sits on the byte before
                        // the word, so the word is `end + 1 - len .. end`.
                        let end = k + 1;
                        let begin = end + 1 - dfa.pattern_len(pid);
                        let right_ok = end == bytes.len() || !classify(text, bytes, end).1;
                        out.push(Hit {
                            pat: self.word_ids[pid.as_usize()],
                            field,
                            start: begin as u32,
                            end: end as u32,
                            right_ok,
                        });
                    }
                }
            }
            i += n;
            if sid == self.start {
                // No word continues this one: skip the rest of it without
                // touching the automaton (most words of most texts).
                while i < bytes.len() {
                    let (n, word) = classify(text, bytes, i);
                    if !word {
                        break;
                    }
                    i += n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_agrees_with_is_word_char() {
        let text: String = (0x20..0x3000).filter_map(char::from_u32).collect();
        let bytes = text.as_bytes();
        for (i, c) in text.char_indices() {
            assert_eq!(
                classify(&text, bytes, i),
                (c.len_utf8(), is_word_char(c)),
                "{c:?}"
            );
        }
    }
}
