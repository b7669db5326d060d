//! The compiled form of a rule set: numbered words, terms, contexts and
//! expressions, plus the index that says which rules a word hit can wake.
//!
//! `compile` builds a [`Program`]; `matcher` runs it. Keeping the data here
//! and the algorithms there keeps both files readable.

use regex::{Regex, RegexSet};

use super::term::Gap;

/// A term: one or more words, numbered as automaton patterns.
#[derive(Debug, Clone)]
pub struct Term {
    pub words: Vec<TermWord>,
    pub gaps: Vec<Gap>,
    /// Index in `words` of the anchor: the only word of the term that is in
    /// the automaton. The rest of a phrase is verified against the text
    /// around a hit of the anchor.
    pub anchor: usize,
}

impl Term {
    /// The anchor of a term: its rarest word by the news word frequencies
    /// of [`super::frequency`] (a `stem*` costs all the words it starts),
    /// ties to the longest, so `note of protest` is found through
    /// `protest` and "hackers published" through `hackers`. Phrases in the
    /// default pack are full of common words (`the`, `state`, `ministry`);
    /// putting those into the automaton made ~70 % of the words of ordinary
    /// news hits.
    ///
    /// A few function words are never chosen when the term has another word
    /// (they are listed as frequent too; this keeps the rule if the list
    /// changes). Which word anchors a term does not change what matches.
    pub fn pick_anchor(words: &[TermWord], texts: &[String]) -> usize {
        const FUNCTION_WORDS: &[&str] = &[
            "the", "of", "in", "s", "a", "an", "to", "and", "on", "at", "for", "by", "и", "в",
            "на", "с", "по", "və", "ilə",
        ];
        words
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| {
                let text = texts[w.pat as usize].as_str();
                (
                    FUNCTION_WORDS.contains(&text),
                    word_cost(text, w.prefix),
                    std::cmp::Reverse(text.len()),
                )
            })
            .map(|(i, _)| i)
            .expect("terms have at least one word")
    }

    /// Pattern id of the anchor word.
    pub fn anchor_pat(&self) -> u32 {
        self.words[self.anchor].pat
    }
}

/// How common a term word is in news (see [`super::frequency`]).
pub fn word_cost(text: &str, prefix: bool) -> u64 {
    if prefix {
        super::frequency::of_stem(text)
    } else {
        super::frequency::of_word(text)
    }
}

/// One word of a compiled term.
#[derive(Debug, Clone, Copy)]
pub struct TermWord {
    /// Pattern id in the automaton.
    pub pat: u32,
    /// `word*`: the right boundary is not checked.
    pub prefix: bool,
}

/// A compiled match expression; leaves refer to terms, regexes and contexts
/// by index so that shared entity lists are stored once.
#[derive(Debug)]
pub enum Expr {
    Term(u32),
    Any(Vec<Expr>),
    All(Vec<Expr>),
    None(Vec<Expr>),
    Near {
        terms: Vec<u32>,
        within: u32,
    },
    Regex(u32),
    Context(u32),
    Title(Box<Expr>),
    Weighted {
        terms: Vec<(u32, f64)>,
        threshold: f64,
    },
    /// Added by [`Program::add_gates`]: the inner expression can only be
    /// true if one of these words was hit.
    Gate(WordSet, Box<Expr>),
    /// Added by [`Program::add_gates`]: the plain terms of an `any` list,
    /// indexed by anchor word, so that only the terms whose anchor was hit
    /// are looked at (true if one of them occurs).
    Terms(TermList),
    /// Added by [`Program::add_gates`]: the other children of a long `any`
    /// (`near`s, `all`s) indexed under the words each cannot be true
    /// without, so that only those whose words were hit are evaluated
    /// (true if one of them is). The list maps words to child indices.
    Keyed(TermList, Vec<Expr>),
}

/// `any` lists with at least this many plain terms keep them in a
/// [`TermList`]: testing every term's anchor one by one (a call, a load of
/// the term and a bit test each) cost more than the bitset intersection.
const TERMS_MIN: usize = 4;

/// A set of pattern ids, stored as the non-zero 64-bit blocks of a bitset:
/// most sets (one `any` list) touch a few blocks of the ~60 that all
/// the words need, so intersecting with the item's hits costs a few loads.
#[derive(Debug)]
pub struct WordSet {
    /// (block index, bits), by block index.
    blocks: Box<[(u32, u64)]>,
}

impl WordSet {
    /// True if one of the words is set in the bitset `seen`.
    #[inline]
    pub fn intersects(&self, seen: &[u64]) -> bool {
        self.blocks
            .iter()
            .any(|&(i, bits)| seen[i as usize] & bits != 0)
    }
}

/// At most this many sets of cues for an `any` (see `Program::necessary`).
const ANY_SETS: usize = 3;

/// `any` lists with fewer children than this that need words (`near`,
/// `all`) evaluate them one by one rather than by an [`Expr::Keyed`] index.
const KEYED_MIN: usize = 3;

/// `any` lists shorter than this are cheap enough to evaluate directly.
const GATE_MIN_CHILDREN: usize = 6;

/// Bit for the title in a field mask.
pub const TITLE: u8 = 1;
/// Bit for the summary in a field mask.
pub const SUMMARY: u8 = 2;

/// Everything the matcher needs, immutable after compilation.
#[derive(Debug)]
pub struct Program {
    /// One automaton over every distinct word of every term (None if no terms).
    pub ac: Option<super::scan::WordIndex>,
    /// Word texts, indexed by pattern id (only anchors are in `ac`).
    pub words: Vec<String>,
    pub terms: Vec<Term>,
    /// Each context group flattened (includes resolved) to term ids.
    pub contexts: Vec<Vec<u32>>,
    pub regexes: Vec<Regex>,
    /// The same regexes as one set, so one pass tells which ones match.
    pub regex_set: Option<RegexSet>,
    /// One expression per rule, and the fields it looks at.
    pub exprs: Vec<(Expr, u8)>,
    /// Rules to wake when a pattern is hit, by pattern id.
    pub by_word: Vec<Vec<u32>>,
    /// Bitset of the patterns whose `by_word` list is not empty: most hits
    /// wake nothing, and a bit in this small array is found without loading
    /// a list header from a table too large for the first-level cache.
    pub wakes: Vec<u64>,
    /// Rules to wake when a regex matches, by regex id.
    pub by_regex: Vec<Vec<u32>>,
    /// True when some rule can only be woken by a regex, so the regex set
    /// must run on every item.
    pub regex_wakes: bool,
    /// Rules that can match without any hit (e.g. a bare `none`).
    pub always: Vec<u32>,
    /// Per context group, its terms indexed by the word each needs.
    pub context_index: Vec<TermList>,
    /// Per context group, the keys of its terms, sorted, each once.
    pub context_keys: Vec<Vec<Key>>,
    /// Per rule, its necessary sets of words (see `necessary`): of each,
    /// one word must have been hit. A woken rule is only evaluated if every
    /// set meets the item's hits, so a rule woken by a common word
    /// (`ministry`) does not verify that word's phrases when another of its
    /// conditions has no hit at all. Rarest first; the set that woke the
    /// rule is not tested again (see `needs_of`).
    pub needs: Vec<Vec<WordSet>>,
    /// Per word, whether it is in the scan's index (every anchor, and the
    /// less common other words of phrases): only those have `seen` bits.
    pub indexed: Vec<bool>,
    /// Per word, whether the index reports its hits that end inside a word
    /// (it is a `word*` somewhere): only then is `word*` known to be absent
    /// when its bit is not set.
    pub stem_hits: Vec<bool>,
    /// The anchor pattern of each term (`terms[t].anchor_pat()`), kept
    /// apart so that rejecting a term whose anchor was not hit is one load
    /// from a small array and a bit test.
    pub term_anchor: Vec<u32>,
    /// Per pattern, how common it is in news (see `key_cost`).
    pub word_cost: Vec<u64>,
}

/// A long list of terms (a context group) indexed by the word each term
/// cannot match without, so that an item's few hit words select the few
/// terms worth checking instead of testing hundreds of terms one by one.
#[derive(Debug)]
pub struct TermList {
    /// The key words.
    bits: WordSet,
    /// (key word, term), sorted.
    by_word: Vec<(u32, u32)>,
    /// Per block of `bits`, how many key words the earlier blocks hold: a
    /// word's rank is that plus the set bits below its own.
    rank_base: Box<[u32]>,
    /// The terms of the key word of rank `r` are
    /// `by_word[starts[r]..starts[r + 1]]`: found without a search.
    starts: Box<[u32]>,
}

impl TermList {
    /// Calls `f` for each term whose key word is in `seen`, until it returns
    /// true; returns whether it did.
    pub fn any_candidate(&self, seen: &[u64], mut f: impl FnMut(u32) -> bool) -> bool {
        for (&(i, bits), &base) in self.bits.blocks.iter().zip(&self.rank_base) {
            let mut m = bits & seen[i as usize];
            while m != 0 {
                let below = (1u64 << m.trailing_zeros()) - 1;
                m &= m - 1;
                let rank = (base + (bits & below).count_ones()) as usize;
                let terms =
                    &self.by_word[self.starts[rank] as usize..self.starts[rank + 1] as usize];
                for &(_, t) in terms {
                    if f(t) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// A cue whose presence is necessary for an expression to be true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Word(u32),
    Regex(u32),
}

impl Program {
    /// Returns a set of cues of which at least one must be present for `e`
    /// to be true, or `None` when `e` can be true on text without any hit:
    /// the cheapest of [`Program::necessary`].
    pub fn trigger(&self, e: &Expr) -> Option<Vec<Key>> {
        self.necessary(e).into_iter().next()
    }

    /// Sets of cues of which, for each set, at least one must be present
    /// for `e` to be true, cheapest first; none when `e` can be true
    /// without any hit.
    ///
    /// Every term of a `near` is needed, so each gives a set: "attack near
    /// website" wakes on the rarer word, and a rule it woke because the
    /// text has `website` is not evaluated unless it also has `attack`.
    /// An `any` has a set per choice of one set of each child (the k-th
    /// of each, at most [`ANY_SETS`]); an `all` has all its children's.
    pub fn necessary(&self, e: &Expr) -> Vec<Vec<Key>> {
        let mut sets: Vec<Vec<Key>> = match e {
            Expr::Term(t) => self.term_sets(*t),
            Expr::Regex(r) => vec![vec![Key::Regex(*r)]],
            Expr::Near { terms, .. } => terms.iter().flat_map(|t| self.term_sets(*t)).collect(),
            Expr::Context(c) => return vec![self.context_keys[*c as usize].clone()],
            Expr::Title(inner) | Expr::Gate(_, inner) => return self.necessary(inner),
            // As for an `any` of the terms, without a set per term: lists
            // hold hundreds of inflected forms.
            Expr::Terms(list) => {
                let n = list
                    .by_word
                    .iter()
                    .map(|&(_, t)| self.term_keys(t).count())
                    .max()
                    .unwrap_or(1)
                    .min(ANY_SETS);
                (0..n)
                    .map(|k| {
                        let mut keys: Vec<Key> = list
                            .by_word
                            .iter()
                            .map(|&(_, t)| {
                                // The k-th key, or the term's last.
                                let keys = self.term_keys(t).take(k + 1);
                                keys.last().expect("a term has an anchor")
                            })
                            .collect();
                        keys.sort_unstable();
                        keys.dedup();
                        keys
                    })
                    .collect()
            }
            Expr::Weighted { terms, threshold } if *threshold > 0.0 => {
                let mut keys: Vec<Key> = terms.iter().map(|(t, _)| self.term_key(*t)).collect();
                keys.sort_unstable();
                keys.dedup();
                vec![keys]
            }
            Expr::Weighted { .. } | Expr::None(_) => Vec::new(),
            Expr::Any(children) | Expr::Keyed(_, children) => {
                self.any_sets(children.iter().map(|c| self.necessary(c)).collect())
            }
            Expr::All(children) => children.iter().flat_map(|c| self.necessary(c)).collect(),
        };
        // Each set is sorted and without repeats already; the sort is
        // stable, so equal costs keep the expression's order.
        sets.sort_by_cached_key(|set| self.set_cost(set));
        sets.dedup();
        sets
    }

    /// The necessary sets of an `any` whose children have `per_child`: a set
    /// per choice of the k-th set of each child.
    fn any_sets(&self, per_child: Vec<Vec<Vec<Key>>>) -> Vec<Vec<Key>> {
        if per_child.iter().any(Vec::is_empty) {
            return Vec::new();
        }
        let n = per_child
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .min(ANY_SETS);
        (0..n)
            .map(|k| {
                let mut keys: Vec<Key> = per_child
                    .iter()
                    .flat_map(|sets| sets[k.min(sets.len() - 1)].iter().copied())
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                keys
            })
            .collect()
    }

    /// The necessary sets of a term: its anchor, and each other indexed
    /// word of it (every word of a phrase must be in the text).
    fn term_sets(&self, t: u32) -> Vec<Vec<Key>> {
        self.term_keys(t).map(|k| vec![k]).collect()
    }

    /// The keys of [`Program::term_sets`], one per set.
    fn term_keys(&self, t: u32) -> impl Iterator<Item = Key> + '_ {
        let term = &self.terms[t as usize];
        let others = term.words.iter().enumerate().filter(move |&(i, w)| {
            let p = w.pat as usize;
            i != term.anchor && self.indexed[p] && (!w.prefix || self.stem_hits[p])
        });
        std::iter::once(self.term_key(t)).chain(others.map(|(_, w)| Key::Word(w.pat)))
    }

    /// Estimated cost of waking on a set of cues: regexes last (words are
    /// found by the one pass over the text anyway, a regex costs a pass of
    /// its own), then by how often the words are in news — the set least
    /// often present wakes least — plus one per key; then the fewest keys.
    fn set_cost(&self, keys: &[Key]) -> (bool, u64, usize) {
        (
            keys.iter().any(|k| matches!(k, Key::Regex(_))),
            keys.iter().map(|k| self.key_cost(*k) + 1).sum::<u64>(),
            keys.len(),
        )
    }

    /// Indexes `terms` by their key words.
    pub fn term_list(&self, terms: &[u32]) -> TermList {
        let by_word: Vec<(u32, u32)> = terms
            .iter()
            .map(|&t| match self.term_key(t) {
                Key::Word(w) => (w, t),
                Key::Regex(_) => unreachable!("a term's key is a word"),
            })
            .collect();
        self.keyed_list(by_word)
    }

    /// Indexes ids (terms, or an `any`'s children) by (word, id) pairs.
    fn keyed_list(&self, mut by_word: Vec<(u32, u32)>) -> TermList {
        by_word.sort_unstable();
        by_word.dedup();
        let keys: Vec<Key> = by_word.iter().map(|&(w, _)| Key::Word(w)).collect();
        let bits = self.word_bits(&keys).expect("only words");
        let mut rank_base = Vec::with_capacity(bits.blocks.len());
        let mut words = 0;
        for &(_, b) in bits.blocks.iter() {
            rank_base.push(words);
            words += b.count_ones();
        }
        // Words in rank order are the words of `by_word` in order.
        let mut starts: Vec<u32> = (0..by_word.len())
            .filter(|&i| i == 0 || by_word[i - 1].0 != by_word[i].0)
            .map(|i| i as u32)
            .collect();
        debug_assert_eq!(starts.len(), words as usize);
        starts.push(by_word.len() as u32);
        TermList {
            bits,
            by_word,
            rank_base: rank_base.into(),
            starts: starts.into(),
        }
    }

    /// The set of the words in `keys`, or `None` if a key is not a word.
    pub fn word_bits(&self, keys: &[Key]) -> Option<WordSet> {
        let mut bits = vec![0u64; self.words.len().div_ceil(64)];
        for k in keys {
            match k {
                Key::Word(w) => bits[(*w / 64) as usize] |= 1 << (w % 64),
                Key::Regex(_) => return None,
            }
        }
        let blocks = bits
            .into_iter()
            .enumerate()
            .filter(|&(_, b)| b != 0)
            .map(|(i, b)| (i as u32, b))
            .collect();
        Some(WordSet { blocks })
    }

    /// Wraps long `any` lists in a [`Expr::Gate`], so that an item with none
    /// of their words costs one bitset test instead of one test per term:
    /// rules are woken by one word but often hold `any` lists of hundreds
    /// of inflected forms.
    pub fn add_gates(&self, e: Expr) -> Expr {
        match e {
            Expr::Any(children) => {
                let children: Vec<Expr> = children.into_iter().map(|c| self.add_gates(c)).collect();
                let children = self.group_terms(children);
                let mut children = self.key_children(children);
                // A list of plain terms only is its own gate.
                if children.len() == 1 && matches!(children[0], Expr::Terms(_)) {
                    return children.pop().expect("one child");
                }
                let any = Expr::Any(children);
                if let Expr::Any(c) = &any
                    && c.len() >= GATE_MIN_CHILDREN
                    && let Some(bits) = self.trigger(&any).and_then(|keys| self.word_bits(&keys))
                {
                    return Expr::Gate(bits, Box::new(any));
                }
                any
            }
            Expr::All(c) => Expr::All(c.into_iter().map(|c| self.add_gates(c)).collect()),
            // `none` of a list is the negation of `any` of it: gated alike.
            Expr::None(c) => Expr::None(vec![self.add_gates(Expr::Any(c))]),
            Expr::Title(inner) => Expr::Title(Box::new(self.add_gates(*inner))),
            other => other,
        }
    }

    /// The word sets of [`Program::needs`] for one rule's expression, given
    /// its [`Program::necessary`] sets: every set but the one that wakes the rule
    /// (a woken rule has one of its words), rarest first, so that a rule
    /// woken for nothing fails on its first test. Sets with a regex are
    /// left out: the tests are on word bits.
    pub fn needs_of(&self, mut sets: Vec<Vec<Key>>) -> Vec<WordSet> {
        if sets
            .first()
            .is_some_and(|s| !s.iter().any(|k| matches!(k, Key::Regex(_))))
        {
            sets.remove(0);
        }
        sets.iter()
            .filter_map(|keys| self.word_bits(keys))
            .collect()
    }

    /// Moves the children of an `any` list that are not plain terms but
    /// need some word to be true into one [`Expr::Keyed`], when there are
    /// enough of them: a rule's list of `near`s is then tested only at the
    /// ones whose words the text has. `any` is true when one child is,
    /// whatever their order.
    fn key_children(&self, children: Vec<Expr>) -> Vec<Expr> {
        let words = |c: &Expr| -> Option<Vec<u32>> {
            if matches!(c, Expr::Term(_) | Expr::Terms(_)) {
                return None;
            }
            self.trigger(c)?
                .into_iter()
                .map(|k| match k {
                    Key::Word(w) => Some(w),
                    Key::Regex(_) => None,
                })
                .collect()
        };
        let keys: Vec<Option<Vec<u32>>> = children.iter().map(words).collect();
        if keys.iter().flatten().count() < KEYED_MIN {
            return children;
        }
        let mut by_word = Vec::new();
        let mut keyed = Vec::new();
        let mut rest = Vec::new();
        for (c, ws) in children.into_iter().zip(keys) {
            match ws {
                Some(ws) => {
                    let i = keyed.len() as u32;
                    by_word.extend(ws.into_iter().map(|w| (w, i)));
                    keyed.push(c);
                }
                None => rest.push(c),
            }
        }
        let list = self.keyed_list(by_word);
        rest.push(Expr::Keyed(list, keyed));
        rest
    }

    /// Moves the plain terms of an `any` list into one [`Expr::Terms`]
    /// (first), when there are enough of them; `any` is true when one
    /// child is, whatever their order.
    fn group_terms(&self, children: Vec<Expr>) -> Vec<Expr> {
        let n = children
            .iter()
            .filter(|c| matches!(c, Expr::Term(_)))
            .count();
        if n < TERMS_MIN {
            return children;
        }
        let (terms, rest): (Vec<Expr>, Vec<Expr>) = children
            .into_iter()
            .partition(|c| matches!(c, Expr::Term(_)));
        let ids: Vec<u32> = terms
            .iter()
            .map(|c| match c {
                Expr::Term(t) => *t,
                _ => unreachable!("partitioned"),
            })
            .collect();
        std::iter::once(Expr::Terms(self.term_list(&ids)))
            .chain(rest)
            .collect()
    }

    /// The word of a term to index it by: its anchor, the only one of its
    /// words that the automaton reports.
    /// Estimated frequency of a key in news: a word's, as the terms
    /// anchored on it use it (a stem costs all the words it starts).
    fn key_cost(&self, k: Key) -> u64 {
        match k {
            Key::Word(w) => self.word_cost[w as usize],
            Key::Regex(_) => 0,
        }
    }

    fn term_key(&self, t: u32) -> Key {
        Key::Word(self.terms[t as usize].anchor_pat())
    }
}
