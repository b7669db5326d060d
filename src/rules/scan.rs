//! The single pass over one field that finds every word hit.
//!
//! A hit is an anchor word (see `Term::anchor`) that is a prefix of a word of
//! the text: it starts at a word boundary, and `right_ok` says whether it
//! also ends at one. Since hits only ever start at word starts, the pass
//! splits the text into words and looks up each word's prefixes in a hash
//! table of the prefixes of the patterns, instead of running an automaton
//! over every byte.
//!
//! Why not Aho-Corasick: the DFA over the pack's ~2,700 words is ~7 MB, so
//! its transitions miss the caches, and each step waits for the previous
//! load. The prefix table is ~30 times smaller, and a lookup stops at the
//! first prefix of the word that no pattern starts with (most words end
//! there after one to three bytes), like the automaton returning to its
//! start state.
//!
//! Patterns are byte strings of word characters; the table is keyed by up to
//! the first [`KEY`] bytes of a prefix, packed into a `u64` (word characters
//! have no zero byte, so zero padding is unambiguous). Patterns longer than
//! that are listed under their first [`KEY`] bytes and compared in full.

use super::matcher::Hit;
use super::term::is_word_char;

/// Bytes of a prefix that fit into a table key.
const KEY: usize = 8;

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

/// What the table holds for one prefix of up to [`KEY`] bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    /// The packed prefix; 0 marks an empty slot.
    key: u64,
    /// Word id of the pattern equal to this prefix, or `NONE`.
    word: u32,
    /// For a [`KEY`]-byte prefix: the range in `long` of the longer patterns
    /// that start with it.
    long_from: u32,
    long_to: u32,
    /// Some pattern is longer than this prefix and starts with it.
    more: bool,
}

const NONE: u32 = u32::MAX;

/// The prefix table over the anchor words of all terms.
#[derive(Debug)]
pub struct WordIndex {
    /// Open addressing, linear probing; the length is a power of two.
    table: Vec<Entry>,
    shift: u32,
    /// Patterns longer than [`KEY`] bytes: (word id, bytes), grouped by
    /// their first [`KEY`] bytes, shortest first within a group.
    long: Vec<(u32, Box<[u8]>)>,
}

/// Packs up to [`KEY`] bytes into a key (the first byte lowest).
#[inline(always)]
fn pack(bytes: &[u8]) -> u64 {
    let mut k = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        k |= u64::from(b) << (8 * i);
    }
    k
}

impl WordIndex {
    /// Builds the index over the words `ids` of `words` (folded, word
    /// characters only); hits report those ids.
    pub fn new(words: &[String], ids: &[u32]) -> Option<WordIndex> {
        if ids.is_empty() {
            return None;
        }
        let mut entries: std::collections::HashMap<u64, Entry> = Default::default();
        let mut long: Vec<(u64, u32, Box<[u8]>)> = Vec::new();
        for &w in ids {
            let bytes = words[w as usize].as_bytes();
            assert!(
                !bytes.is_empty() && !bytes.contains(&0),
                "words are non-empty and have no NUL"
            );
            for l in 1..=bytes.len().min(KEY) {
                let key = pack(&bytes[..l]);
                let e = entries.entry(key).or_insert(Entry {
                    key,
                    word: NONE,
                    ..Entry::default()
                });
                if l == bytes.len() {
                    e.word = w;
                } else {
                    e.more = true;
                }
            }
            if bytes.len() > KEY {
                long.push((pack(&bytes[..KEY]), w, bytes.into()));
            }
        }
        // Group by key, shortest first: hits are reported in order of end.
        long.sort_by_key(|a| (a.0, a.2.len()));
        let mut i = 0;
        while i < long.len() {
            let key = long[i].0;
            let j = i + long[i..].iter().take_while(|l| l.0 == key).count();
            let e = entries.get_mut(&key).expect("the prefix was added");
            e.long_from = i as u32;
            e.long_to = j as u32;
            i = j;
        }
        let size = (entries.len() * 2).next_power_of_two().max(16);
        let shift = 64 - size.trailing_zeros();
        let mut table = vec![Entry::default(); size];
        for e in entries.into_values() {
            let mut slot = slot_of(e.key, shift);
            while table[slot].key != 0 {
                slot = (slot + 1) & (size - 1);
            }
            table[slot] = e;
        }
        Some(WordIndex {
            table,
            shift,
            long: long.into_iter().map(|(_, w, b)| (w, b)).collect(),
        })
    }

    /// Approximate heap size of the index, in bytes.
    pub fn memory_usage(&self) -> usize {
        self.table.len() * std::mem::size_of::<Entry>()
            + self
                .long
                .iter()
                .map(|(_, b)| b.len() + std::mem::size_of::<(u32, Box<[u8]>)>())
                .sum::<usize>()
    }

    #[inline(always)]
    fn get(&self, key: u64) -> Option<&Entry> {
        let mask = self.table.len() - 1;
        let mut slot = slot_of(key, self.shift);
        loop {
            let e = &self.table[slot];
            if e.key == key {
                return Some(e);
            }
            if e.key == 0 {
                return None;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Appends the hits of the words in `text` (field number `field`) to `out`.
    pub fn collect_hits(&self, text: &str, field: u8, out: &mut Vec<Hit>) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let (n, word) = classify(text, bytes, i);
            if !word {
                i += n;
                continue;
            }
            // A word starts at `i`: find its end.
            let start = i;
            i += n;
            while i < bytes.len() {
                let (n, word) = classify(text, bytes, i);
                if !word {
                    break;
                }
                i += n;
            }
            self.word_hits(&bytes[start..i], start, field, out);
        }
    }

    /// Appends the hits of the patterns that are prefixes of `w`, the word
    /// at `start`, shortest first.
    #[inline]
    fn word_hits(&self, w: &[u8], start: usize, field: u8, out: &mut Vec<Hit>) {
        let mut key = 0u64;
        for (l, &b) in w.iter().take(KEY).enumerate() {
            key |= u64::from(b) << (8 * l);
            let Some(e) = self.get(key) else {
                return;
            };
            let len = l + 1;
            if e.word != NONE {
                out.push(hit(e.word, field, start, len, w.len()));
            }
            if len == KEY {
                for (word, p) in &self.long[e.long_from as usize..e.long_to as usize] {
                    if w.starts_with(p) {
                        out.push(hit(*word, field, start, p.len(), w.len()));
                    }
                }
            }
            if !e.more {
                return;
            }
        }
    }
}

#[inline(always)]
fn hit(word: u32, field: u8, start: usize, len: usize, word_len: usize) -> Hit {
    Hit {
        pat: word,
        field,
        start: start as u32,
        end: (start + len) as u32,
        right_ok: len == word_len,
    }
}

#[inline(always)]
fn slot_of(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

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

    /// The hits are those of an Aho-Corasick search for the words (with a
    /// leading space) over the text with non-word characters as spaces.
    #[test]
    fn hits_agree_with_aho_corasick() {
        let words: Vec<String> = [
            "в",
            "во",
            "ба",
            "баку",
            "бакинск",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefghij",
            "abcdefghxy",
            "raid",
            "raids",
            "azərbaycan",
            "azərbaycanlı",
            "j2",
            "8243",
            "москв",
            "москва",
            "московскийрайон",
        ]
        .map(String::from)
        .to_vec();
        let ids: Vec<u32> = (0..words.len() as u32).collect();
        let index = WordIndex::new(&words, &ids).unwrap();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(words.iter().map(|w| format!(" {w}")))
            .unwrap();
        let texts = [
            "в баку и во бакинском районе, в москве: москва московскийрайонный",
            "abcdefghijk abcdefghi abcdefgh abcdefg abcdefghxyz ab a-b raid, raids afraid",
            "azərbaycanlılar azərbaycan j2-8243 j28243 8243x ×ba÷баку",
            "",
            "   ",
            "abcdefghij",
        ];
        for text in texts {
            let mut got = Vec::new();
            index.collect_hits(text, 1, &mut got);
            let masked: String = std::iter::once(' ')
                .chain(
                    text.chars()
                        .map(|c| {
                            if is_word_char(c) {
                                c.to_string()
                            } else {
                                " ".repeat(c.len_utf8())
                            }
                        })
                        .collect::<String>()
                        .chars(),
                )
                .collect();
            let want: Vec<Hit> = ac
                .find_overlapping_iter(&masked)
                .map(|m| {
                    let (start, end) = (m.start(), m.end() - 1);
                    Hit {
                        pat: m.pattern().as_u32(),
                        field: 1,
                        start: start as u32,
                        end: end as u32,
                        right_ok: text[end..].chars().next().is_none_or(|c| !is_word_char(c)),
                    }
                })
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
    }
}
