//! The single pass over one field that finds every word hit.
//!
//! A hit is an anchor word (see `Term::anchor`) that is a prefix of a word of
//! the text: it starts at a word boundary, and `right_ok` says whether it
//! also ends at one. Since hits only ever start at word starts, the pass
//! splits the text into words and looks each word up in hash tables (see
//! [`WordIndex`]) instead of running an automaton over every byte. The
//! words are found 64 bytes at a time with vector compares (see
//! `for_each_word`), all of a field's words before any lookup.
//!
//! A hit that ends inside a word (`right_ok` false) is only reported for
//! anchors that some term uses as a `word*` stem: every other term skips
//! such hits, so reporting them only woke rules for nothing.
//!
//! Why not Aho-Corasick: the DFA over the pack's ~6,000 words is ~7 MB, so
//! its transitions miss the caches, and each step waits for the previous
//! load. The tables are ~15 times smaller, and most words cost one probe.
//!
//! Patterns are byte strings of word characters; the stem table is keyed by
//! up to the first [`KEY`] bytes of a prefix, packed into a `u64` (word
//! characters have no zero byte, so zero padding is unambiguous). Stems
//! longer than that are listed under their first [`KEY`] bytes and compared
//! in full.

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

/// What the stem table holds for one prefix of up to [`KEY`] bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The packed prefix; 0 marks an empty slot.
    key: u64,
    /// Stem id equal to this prefix, or `NONE`.
    word: u32,
    /// For a [`KEY`]-byte prefix: where in `long` the longer stems that start
    /// with it begin (they run while their key is this one), or `NONE`.
    /// Bit 31 is set when some stem is longer than this prefix and starts
    /// with it (so a word whose prefix this is may hit a longer stem).
    long_more: u32,
}

const NONE: u32 = u32::MAX;
const MORE: u32 = 1 << 31;
const EMPTY: Entry = Entry {
    key: 0,
    word: NONE,
    long_more: NONE & !MORE,
};

/// One slot of the known-word table: a word whose hits are worked out
/// when the index is built.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// The word's first [`KEY`] bytes, packed: for a word of up to [`KEY`]
    /// bytes, the whole word, so one comparison confirms it.
    head: u64,
    /// The word's bytes in `WordIndex::text`, to confirm a longer word.
    from: u32,
    /// The word's hits: `WordIndex::hits[hits..hits + nhits]`.
    hits: u32,
    /// Length of the word in bytes; 0 for an empty slot.
    len: u16,
    nhits: u16,
}

const FREE: Known = Known {
    head: 0,
    from: 0,
    hits: 0,
    len: 0,
    nhits: 0,
};

/// The index over the anchor words of all terms.
///
/// A word of the text is first looked up whole among the **known words**:
/// every anchor, and every word of `frequency::listed` (the common words
/// of news text). A known word's hits were worked out when the index was
/// built: the anchor equal to it (a hit that ends at the word's end,
/// `right_ok`) and the stems that are proper prefixes of it. So one probe
/// answers for most words of ordinary text, however many stems share
/// their first letters.
///
/// Any other word is no anchor, so it can only hit stems shorter than
/// itself: those are looked up by the word's prefixes, from the shortest
/// stem's length on, stopping at the first prefix no stem starts with.
/// Only stems need these: a hit on a proper prefix of a word is skipped by
/// every term whose anchor is not a stem (it needs `right_ok`), and
/// reporting it anyway woke rules for nothing (`off` in `officials`).
#[derive(Debug)]
pub struct WordIndex {
    /// Known words: open addressing, linear probing, power-of-two length.
    known: Vec<Known>,
    known_shift: u32,
    /// The bytes of the known words, for `Known::from`.
    text: Vec<u8>,
    /// The known words' hits: (pattern id, length in bytes).
    hits: Vec<(u32, u32)>,
    /// Prefixes of stems, at least `min_stem` bytes long; as `known`.
    stems: Vec<Entry>,
    stem_shift: u32,
    /// Length in bytes of the shortest stem, at most [`KEY`].
    min_stem: usize,
    /// Stems longer than [`KEY`] bytes: (their first [`KEY`] bytes packed,
    /// stem id, bytes), grouped by key.
    long: Vec<(u64, u32, Box<[u8]>)>,
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

const MUL: u64 = 0x9E37_79B9_7F4A_7C15;

/// `pack(&bytes[at..at + len])` for `1 <= len <= KEY`, as one unaligned
/// load and a mask when the text goes on for eight bytes (`pack` is a
/// loop).
#[inline(always)]
fn load(bytes: &[u8], at: usize, len: usize) -> u64 {
    debug_assert!((1..=KEY).contains(&len));
    match bytes.get(at..at + 8) {
        Some(b) => {
            u64::from_le_bytes(b.try_into().expect("8 bytes")) & (u64::MAX >> (64 - 8 * len))
        }
        None => pack(&bytes[at..at + len]),
    }
}

/// Hash of the word `bytes[from..to]`, whose first [`KEY`] bytes packed
/// are `head`: one multiplication for a word of up to [`KEY`] bytes (most
/// words), which `head` holds whole; for a longer word, one more with its
/// last eight bytes (words that differ only in between share a slot's
/// probe sequence, and are told apart by `same_tail`).
#[inline(always)]
fn hash_word(bytes: &[u8], from: usize, to: usize, head: u64) -> u64 {
    let h = (head ^ (to - from) as u64).wrapping_mul(MUL);
    if to - from <= KEY {
        return h;
    }
    (h.rotate_left(29) ^ eight_at(bytes, to - 8)).wrapping_mul(MUL)
}

/// The eight bytes of `bytes` at `at`, as one load.
#[inline(always)]
fn eight_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// A power-of-two table size for `n` entries (at most two thirds full),
/// and the shift that takes a hash's top bits as a slot number. Fuller
/// tables probe a little more, but a table twice as large stops fitting
/// the caches: 16,384 slots of known words are 384 KiB.
fn table_size(n: usize) -> (usize, u32) {
    let size = (n + n / 2).next_power_of_two().max(16);
    (size, 64 - size.trailing_zeros())
}

impl WordIndex {
    /// Builds the index over the words `ids` of `words` (folded, word
    /// characters only); `stem[i]` says whether some term uses `ids[i]` as
    /// a `word*` stem. Hits report the ids. `common` are words of ordinary
    /// text to know in advance, most frequent first (words that are not
    /// made of word characters are ignored); they change how fast a text is
    /// scanned, never its hits.
    pub fn new<'a>(
        words: &[String],
        ids: &[u32],
        stem: &[bool],
        common: impl IntoIterator<Item = &'a str>,
    ) -> Option<WordIndex> {
        if ids.is_empty() {
            return None;
        }
        for &w in ids {
            let bytes = words[w as usize].as_bytes();
            assert!(
                !bytes.is_empty() && !bytes.contains(&0) && bytes.len() <= usize::from(u16::MAX),
                "words are non-empty, shorter than 64 KiB and have no NUL"
            );
        }
        // Prefix table over the stems.
        let stem_ids: Vec<u32> = ids
            .iter()
            .zip(stem)
            .filter(|(_, s)| **s)
            .map(|(w, _)| *w)
            .collect();
        // Every stem has a prefix of this length in the table (capped at
        // KEY: longer stems are listed under their first KEY bytes).
        let min_stem = stem_ids
            .iter()
            .map(|&w| words[w as usize].len())
            .min()
            .unwrap_or(KEY)
            .min(KEY);
        let mut entries: std::collections::HashMap<u64, Entry> = Default::default();
        let mut long: Vec<(u64, u32, Box<[u8]>)> = Vec::new();
        for &w in &stem_ids {
            let bytes = words[w as usize].as_bytes();
            for l in min_stem..=bytes.len().min(KEY) {
                let key = pack(&bytes[..l]);
                let e = entries.entry(key).or_insert(Entry { key, ..EMPTY });
                if l == bytes.len() {
                    e.word = w;
                } else {
                    e.long_more |= MORE;
                }
            }
            if bytes.len() > KEY {
                long.push((pack(&bytes[..KEY]), w, bytes.into()));
            }
        }
        long.sort_by_key(|a| a.0);
        assert!(
            long.len() < (NONE & !MORE) as usize,
            "fewer than 2^31 long stems"
        );
        for (i, l) in long.iter().enumerate() {
            if i == 0 || long[i - 1].0 != l.0 {
                let e = entries.get_mut(&l.0).expect("the prefix was added");
                e.long_more = (e.long_more & MORE) | i as u32;
            }
        }
        let (size, stem_shift) = table_size(entries.len());
        let mut stems = vec![EMPTY; size];
        for e in entries.into_values() {
            let mut slot = (e.key.wrapping_mul(MUL) >> stem_shift) as usize;
            while stems[slot].key != 0 {
                slot = (slot + 1) & (size - 1);
            }
            stems[slot] = e;
        }
        let mut index = WordIndex {
            known: Vec::new(),
            known_shift: 0,
            text: Vec::new(),
            hits: Vec::new(),
            stems,
            stem_shift,
            min_stem,
            long,
        };
        // Known words: every anchor and the common words, each once, with
        // the anchor equal to it and the stems shorter than it, as the stem
        // table finds them for a word that is not known. Most frequent
        // first: a word inserted earlier takes its own slot and a later one
        // that wants it probes on, so the words most of a text is made of
        // are found at the first slot they look at. The common words come
        // in that order (an anchor among them takes its place there), the
        // other anchors (rare by the list) last.
        let mut anchors: std::collections::HashMap<&[u8], u32> = ids
            .iter()
            .map(|&w| (words[w as usize].as_bytes(), w))
            .collect();
        let mut known_words: Vec<(&[u8], Option<u32>)> = common
            .into_iter()
            .filter(|w| {
                !w.is_empty() && w.len() <= usize::from(u16::MAX) && w.chars().all(is_word_char)
            })
            .map(|w| (w.as_bytes(), anchors.remove(w.as_bytes())))
            .collect();
        known_words.extend(ids.iter().filter_map(|&w| {
            let bytes = words[w as usize].as_bytes();
            anchors.remove(bytes).map(|w| (bytes, Some(w)))
        }));
        let (size, known_shift) = table_size(known_words.len());
        index.known = vec![FREE; size];
        index.known_shift = known_shift;
        let mut found = Vec::new();
        for (bytes, exact) in known_words {
            let head = pack(&bytes[..bytes.len().min(KEY)]);
            let h = hash_word(bytes, 0, bytes.len(), head);
            let Err(slot) = index.find(head, h, bytes) else {
                continue;
            };
            let from = index.hits.len();
            found.clear();
            index.stem_hits(bytes, 0, bytes.len(), 0, &mut found);
            let exact = exact.map(|w| (w, bytes.len() as u32));
            let stems = found.iter().map(|h| (h.pat, h.end - h.start));
            index.hits.extend(exact.into_iter().chain(stems));
            index.known[slot] = Known {
                head,
                from: u32::try_from(index.text.len()).expect("known words fit in 4 GiB"),
                len: bytes.len() as u16,
                nhits: u16::try_from(index.hits.len() - from)
                    .expect("fewer than 65,536 hits a word"),
                hits: from as u32,
            };
            index.text.extend_from_slice(bytes);
        }
        Some(index)
    }

    /// Approximate heap size of the index, in bytes.
    pub fn memory_usage(&self) -> usize {
        self.known.len() * std::mem::size_of::<Known>()
            + self.text.len()
            + self.hits.len() * std::mem::size_of::<(u32, u32)>()
            + self.stems.len() * std::mem::size_of::<Entry>()
            + self
                .long
                .iter()
                .map(|(_, _, b)| b.len() + std::mem::size_of::<(u64, u32, Box<[u8]>)>())
                .sum::<usize>()
    }

    /// The known word equal to `w`, the word at `start` of `bytes`, if any.
    #[inline(always)]
    fn known(&self, bytes: &[u8], start: usize, w: &[u8]) -> Option<&Known> {
        let head = load(bytes, start, w.len().min(KEY));
        let h = hash_word(bytes, start, start + w.len(), head);
        self.find(head, h, w).ok().map(|slot| &self.known[slot])
    }

    /// The slot of the known word `w` (first `KEY` bytes packed `head`,
    /// hash `h`), or else the free slot where it would go.
    #[inline(always)]
    fn find(&self, head: u64, h: u64, w: &[u8]) -> Result<usize, usize> {
        let mask = self.known.len() - 1;
        let mut slot = (h >> self.known_shift) as usize;
        loop {
            let e = &self.known[slot];
            if e.len == 0 {
                return Err(slot);
            }
            // Equal heads of words of up to KEY bytes are equal words (no
            // word byte is zero); a longer word's tail is compared too.
            if e.head == head
                && usize::from(e.len) == w.len()
                && (w.len() <= KEY || same_tail(&self.text[e.from as usize..][..w.len()], w))
            {
                return Ok(slot);
            }
            slot = (slot + 1) & mask;
        }
    }

    #[inline(always)]
    fn stem(&self, key: u64) -> Option<&Entry> {
        let mask = self.stems.len() - 1;
        let mut slot = (key.wrapping_mul(MUL) >> self.stem_shift) as usize;
        loop {
            let e = &self.stems[slot];
            if e.key == key {
                return Some(e);
            }
            if e.key == 0 {
                return None;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Appends the hits of the words in `text` (field number `field`) to
    /// `out`; `words` is a buffer for the text's words, reused by callers.
    ///
    /// The words are all found first and looked up after: two tight loops,
    /// where one loop calling the lookup from each place a word ends kept
    /// the lookup out of line.
    pub fn collect_hits(
        &self,
        text: &str,
        field: u8,
        words: &mut Vec<(u32, u32)>,
        out: &mut Vec<Hit>,
    ) {
        let bytes = text.as_bytes();
        words.clear();
        for_each_word(text, |start, end| words.push((start as u32, end as u32)));
        for &(start, end) in words.iter() {
            let (start, end) = (start as usize, end as usize);
            let len = end - start;
            // Most words are known and found at their first slot: this loop
            // handles those, and leaves the rest (a word further on, a word
            // to look up by its prefixes) to `word_hits`, out of line, so
            // that its registers stay here.
            let head = load(bytes, start, len.min(KEY));
            let h = hash_word(bytes, start, end, head);
            let k = &self.known[(h >> self.known_shift) as usize];
            if k.head == head
                && usize::from(k.len) == len
                && (len <= KEY
                    || same_tail(&self.text[k.from as usize..][..len], &bytes[start..end]))
            {
                let from = k.hits as usize;
                for &(word, n) in &self.hits[from..from + usize::from(k.nhits)] {
                    out.push(hit(word, field, start, n as usize, len));
                }
                continue;
            }
            self.word_hits(bytes, start, end, field, out);
        }
    }

    /// Appends the hits of the anchors that are prefixes of `w`, the word
    /// at `start`: a known word's from the table, any other word's by its
    /// prefixes (hits at one start are in no particular order).
    #[inline(never)]
    fn word_hits(&self, bytes: &[u8], start: usize, end: usize, field: u8, out: &mut Vec<Hit>) {
        let w = &bytes[start..end];
        if let Some(k) = self.known(bytes, start, w) {
            for &(word, len) in &self.hits[k.hits as usize..][..usize::from(k.nhits)] {
                out.push(hit(word, field, start, len as usize, w.len()));
            }
            return;
        }
        // `w` is no anchor (every anchor is known): only stems shorter
        // than it can hit.
        self.stem_hits(bytes, start, end, field, out);
    }

    /// Appends the hits of the stems shorter than `bytes[start..end]`,
    /// found by its prefixes.
    #[inline]
    fn stem_hits(&self, bytes: &[u8], start: usize, end: usize, field: u8, out: &mut Vec<Hit>) {
        let w = &bytes[start..end];
        let mut key = load(bytes, start, self.min_stem.min(w.len()));
        for l in self.min_stem..w.len().min(KEY + 1) {
            let Some(e) = self.stem(key) else {
                return;
            };
            if e.word != NONE {
                out.push(hit(e.word, field, start, l, w.len()));
            }
            if l == KEY {
                let from = e.long_more & !MORE;
                if from != NONE & !MORE {
                    for (k, word, p) in &self.long[from as usize..] {
                        if *k != key {
                            break;
                        }
                        if p.len() < w.len() && w.starts_with(p) {
                            out.push(hit(*word, field, start, p.len(), w.len()));
                        }
                    }
                }
                return;
            }
            if e.long_more & MORE == 0 {
                return;
            }
            key |= u64::from(w[l]) << (8 * l);
        }
    }
}

/// Bytes classified at once by [`word_bits`].
const BLOCK: usize = 64;

/// Calls `f(start, end)` for every word of `text`, a maximal run of word
/// characters (`is_word_char`), in text order.
///
/// The text is classified 64 bytes at a time with 16-byte vector
/// compares: a byte is a word byte if it is an ASCII letter or digit or is
/// not ASCII. That is exact for the letters of `classify`'s fast paths
/// (Cyrillic, Latin with diacritics), which are all of the feeds' letters
/// but a few; a run that holds any other non-ASCII character (a dash, a
/// quote, ×) is split again character by character. A byte loop had to
/// predict the end of every word from a branch per byte; here a word's end
/// is the next zero bit, and most words cost no mispredicted branch. In a
/// block with no such character (most), the words' first and last bytes
/// are two masks, and each word costs two bit scans.
#[inline(always)]
fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    // The word in progress at the end of the previous block: its start, and
    // whether it holds a character that needs the exact test.
    let mut open: Option<(usize, bool)> = None;
    let mut c3 = false;
    let mut base = 0;
    while base < bytes.len() {
        let (mut word, special) = match bytes.get(base..base + BLOCK) {
            Some(block) => word_bits(block.try_into().expect("a block"), &mut c3),
            None => {
                let mut tail = [0u8; BLOCK];
                tail[..bytes.len() - base].copy_from_slice(&bytes[base..]);
                word_bits(&tail, &mut c3)
            }
        };
        if let Some((start, dirty)) = open {
            // The word goes on until the first byte that is not a word byte.
            let end = (!word).trailing_zeros();
            if end as usize == BLOCK {
                open = Some((start, dirty || special != 0));
                base += BLOCK;
                continue;
            }
            let run = (1u64 << end) - 1;
            emit(
                text,
                start,
                base + end as usize,
                dirty || special & run != 0,
                &mut f,
            );
            open = None;
            word &= !run;
        }
        if special == 0 {
            // No run of this block needs the exact test: take every word's
            // first and last byte from two masks, a bit scan each.
            let mut starts = word & !(word << 1);
            let mut lasts = word & !(word >> 1);
            if word >> 63 != 0 {
                // The last run goes on into the next block. (Its last bit
                // stays in `lasts`, above every start left: never read.)
                let s = 63 - starts.leading_zeros();
                open = Some((base + s as usize, false));
                starts &= !(1 << s);
            }
            while starts != 0 {
                let (s, l) = (starts.trailing_zeros(), lasts.trailing_zeros());
                f(base + s as usize, base + l as usize + 1);
                starts &= starts - 1;
                lasts &= lasts - 1;
            }
            base += BLOCK;
            continue;
        }
        while word != 0 {
            let s = word.trailing_zeros();
            // Shifting in zeros from the top: `end` is 64 or more when the
            // word runs to the end of the block.
            let end = s + ((!word) >> s).trailing_zeros();
            let dirty =
                special != 0 && (special >> s) & (u64::MAX >> (64 - (end - s).min(64))) != 0;
            if end as usize >= BLOCK {
                open = Some((base + s as usize, dirty));
                break;
            }
            emit(text, base + s as usize, base + end as usize, dirty, &mut f);
            word &= !0 << end;
        }
        base += BLOCK;
    }
    if let Some((start, dirty)) = open {
        emit(text, start, bytes.len(), dirty, &mut f);
    }
}

/// Reports the run of word bytes `start..end`; a `dirty` run holds a
/// character that is not known to be a word character, so it is split by
/// `classify`.
#[inline(always)]
fn emit(text: &str, start: usize, end: usize, dirty: bool, f: &mut impl FnMut(usize, usize)) {
    if !dirty {
        f(start, end);
        return;
    }
    split_exactly(text, start, end, f);
}

/// `for_each_word` for the characters of `text[start..end]`, one by one.
#[cold]
fn split_exactly(text: &str, start: usize, end: usize, f: &mut impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let mut i = start;
    let mut word_start = None;
    while i < end {
        let (n, word) = classify(text, bytes, i);
        match (word, word_start) {
            (true, None) => word_start = Some(i),
            (false, Some(s)) => {
                f(s, i);
                word_start = None;
            }
            _ => {}
        }
        i += n;
    }
    if let Some(s) = word_start {
        f(s, end);
    }
}

/// Bit `i` of the first mask is set if byte `i` of `block` is an ASCII
/// letter or digit or is not ASCII; of the second, if it starts a
/// character other than those of `classify`'s fast paths (so its run must
/// be split exactly), or is the second byte of × or ÷. `c3` says whether
/// the previous block ended with the byte 0xC3, and is set for the next.
#[inline(always)]
fn word_bits(block: &[u8; BLOCK], c3: &mut bool) -> (u64, u64) {
    use wide::u8x16;
    let mut word = 0u64;
    let mut special = 0u64;
    for (i, chunk) in block.chunks_exact(16).enumerate() {
        let v = u8x16::new(chunk.try_into().expect("16 bytes"));
        let high = v.to_bitmask();
        let lower = v | u8x16::splat(0x20);
        let alnum = (lower - u8x16::splat(b'a')).simd_lt(u8x16::splat(26))
            | (v - u8x16::splat(b'0')).simd_lt(u8x16::splat(10));
        word |= u64::from(alnum.to_bitmask() | high) << (16 * i);
        if high != 0 {
            let fast_lead = (v - u8x16::splat(0xC3)).simd_lt(u8x16::splat(7))
                | (v - u8x16::splat(0xD0)).simd_lt(u8x16::splat(2));
            let other_lead = v.simd_ge(u8x16::splat(0xC0)) & !fast_lead;
            let lead_c3 = v.simd_eq(u8x16::splat(0xC3)).to_bitmask();
            let x = (v.simd_eq(u8x16::splat(0x97)) | v.simd_eq(u8x16::splat(0xB7))).to_bitmask();
            // × is C3 97 and ÷ is C3 B7: a 0x97 or 0xB7 right after 0xC3.
            let after_c3 = (lead_c3 << 1) | u32::from(*c3);
            special |= u64::from(other_lead.to_bitmask() | (x & after_c3)) << (16 * i);
            *c3 = lead_c3 & 0x8000 != 0;
        } else {
            *c3 = false;
        }
    }
    (word, special)
}

/// `a[KEY..] == b[KEY..]` for slices of one length above [`KEY`], eight
/// bytes at a time, the last eight overlapping the ones before: words are
/// short, and a call to `memcmp` for each hit showed in the profile.
#[inline(always)]
fn same_tail(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    debug_assert!(n > KEY && b.len() == n);
    let mut at = KEY;
    while at + 8 < n {
        if eight_at(a, at) != eight_at(b, at) {
            return false;
        }
        at += 8;
    }
    eight_at(a, n - 8) == eight_at(b, n - 8)
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

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

    #[test]
    fn load_is_pack() {
        let bytes = b"abcdefghijklmnopq";
        for at in 0..bytes.len() {
            for len in 1..=KEY.min(bytes.len() - at) {
                assert_eq!(load(bytes, at, len), pack(&bytes[at..at + len]));
            }
        }
    }

    #[test]
    fn classify_agrees_with_is_word_char() {
        let text: String = (0x0..0x3000).filter_map(char::from_u32).collect();
        let bytes = text.as_bytes();
        for (i, c) in text.char_indices() {
            let want = (c.len_utf8(), is_word_char(c));
            assert_eq!(classify(&text, bytes, i), want, "{c:?}");
        }
    }

    /// Words split character by character with `is_word_char`.
    fn words_by_chars(text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            match (is_word_char(c), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        out.extend(start.map(|s| (s, text.len())));
        out
    }

    /// The block splitter finds the words a character loop finds, whatever
    /// falls on a block boundary: texts of up to 100 characters (up to six
    /// blocks) from characters of each kind the splitter treats apart
    /// (ASCII letters, digits and punctuation, two-byte letters, × and ÷
    /// whose lead is a letter's, dashes and quotes of three bytes, a letter
    /// of four bytes, and other two-byte non-letters), and × and ÷ split by
    /// a block boundary.
    #[test]
    fn block_split_agrees_with_chars() {
        for (text, words) in [
            (format!("{}×b", "a".repeat(63)), vec![(0, 63), (65, 66)]),
            (format!("{}a÷b", "ж".repeat(31)), vec![(0, 63), (65, 66)]),
            (format!("{}ö{}", "a".repeat(63), "b"), vec![(0, 66)]),
            ("a".repeat(64), vec![(0, 64)]),
        ] {
            let mut got = Vec::new();
            for_each_word(&text, |s, e| got.push((s, e)));
            assert_eq!(got, words, "{text:?}");
            assert_eq!(got, words_by_chars(&text), "{text:?}");
        }
        let pool: Vec<char> = "aZ9 ,.-'_\u{0}ёЖəöçşüığÄ×÷—«»“”𝐀😀§\u{a0}ԱაႠ\u{300}"
            .chars()
            .collect();
        // A deterministic xorshift, so a failure can be replayed.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = (next() % 100) as usize;
            // Runs of one kind, so that long words and long gaps both occur.
            let mut text = String::new();
            while text.chars().count() < len {
                let c = pool[(next() % pool.len() as u64) as usize];
                let n = 1 + (next() % if round % 2 == 0 { 3 } else { 20 }) as usize;
                text.extend(std::iter::repeat_n(c, n));
            }
            let mut got = Vec::new();
            for_each_word(&text, |s, e| got.push((s, e)));
            assert_eq!(got, words_by_chars(&text), "{text:?}");
        }
    }

    /// The hits are those of an Aho-Corasick search for the words (with a
    /// leading space) over the text with non-word characters as spaces,
    /// less the hits that end inside a word for words that are not stems.
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
            "abc",
            // Long words alike in their first and last eight bytes and
            // their length: one hash, told apart by their middles.
            "abcdefghxijklmnop",
            "abcdefghyijklmnop",
            "abcdefgh12345678xijklmnop",
        ]
        .map(String::from)
        .to_vec();
        let ids: Vec<u32> = (0..words.len() as u32).collect();
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
            "abcdefghyijklmnop abcdefghzijklmnop abcdefghxijklmnops abcdefgh12345678xijklmnop",
            "abcdefgh12345678yijklmnop abcdefghxijklmnop",
        ];
        let stem_choices: [fn(usize) -> bool; 4] =
            [|i| i % 2 == 0, |i| i % 2 == 1, |_| true, |_| false];
        // Known words change how a word is looked up, never its hits: none;
        // words of the texts (some equal to anchors, some with stems as
        // prefixes); and strings that are not words, which are ignored.
        let commons: [&[&str]; 3] = [
            &[],
            &[
                "москве",
                "москва",
                "afraid",
                "raids",
                "abcdefghijk",
                "abcdefghi",
                "ab",
                "azərbaycanlılar",
                "j28243",
                "московскийрайонный",
                "во",
                "zzz",
                "abcdefghzijklmnop",
                "abcdefgh12345678yijklmnop",
            ],
            &["a b", "", "a-b", "ba÷"],
        ];
        for (is_stem, common) in stem_choices
            .into_iter()
            .flat_map(|s| commons.iter().map(move |c| (s, c)))
        {
            let stem: Vec<bool> = (0..words.len()).map(is_stem).collect();
            let index = WordIndex::new(&words, &ids, &stem, common.iter().copied()).unwrap();
            for text in texts {
                let mut got = Vec::new();
                index.collect_hits(text, 1, &mut Vec::new(), &mut got);
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
                let mut want: Vec<Hit> = ac
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
                    .filter(|h| h.right_ok || stem[h.pat as usize])
                    .collect();
                // Hits at one start come in no particular order.
                got.sort();
                want.sort();
                assert_eq!(got, want, "{text:?}");
            }
        }
    }
}
