//! Runs a [`Program`] over folded text.
//!
//! One pass over the words of the title and the summary (see `scan`)
//! finds every word of every term that starts at a word boundary. Phrases
//! are hits at consecutive word positions; only the rules indexed under a
//! hit word (or, for rules that need one to wake, a matching regex) are
//! woken, and only those whose necessary sets of words were all hit are
//! evaluated, so text with no hits costs one pass over its words no matter
//! how many rules there are.

use std::cell::{Cell, RefCell};

use regex::SetMatches;

use super::program::{Expr, Program, SUMMARY, TITLE, Term};
use super::term::{Gap, is_word_char};
use crate::model::{Field, Span};

/// One word hit: pattern `pat` at `start..end` of a field; the left word
/// boundary holds, `right_ok` says whether the right one does too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Hit {
    pub pat: u32,
    pub field: u8,
    pub start: u32,
    pub end: u32,
    pub right_ok: bool,
}

/// Per-call view of the scan: the texts, the hit table (in text order) and
/// regex results.
struct Scan<'a> {
    texts: [&'a str; 2],
    /// Word texts by pattern id.
    program_words: &'a [String],
    hits: &'a [Hit],
    /// Per pattern, the index in `hits` of its first hit (valid only for
    /// patterns in `seen`), and per hit the index of the next hit of the
    /// same pattern: the hits of one pattern without scanning them all.
    first: &'a [u32],
    next: &'a [u32],
    regex: [Option<SetMatches>; 2],
    /// Bitset of the patterns hit, to reject most terms without a search.
    seen: &'a [u64],
    /// Context results by `context * 4 + mask`: 0 unknown, 1 false, 2 true.
    /// Many rules share a context, so each is evaluated once per item.
    contexts: &'a [Cell<u8>],
    /// Regex results by `regex * 2 + field`, as for `contexts`.
    regex_memo: &'a [Cell<u8>],
}

impl Scan<'_> {
    fn words(&self, pat: u32) -> &str {
        &self.program_words[pat as usize]
    }

    fn seen(&self, pat: u32) -> bool {
        has_bit(self.seen, pat)
    }

    /// Hits of pattern `pat` in `field`, in text order.
    fn hits_of(&self, pat: u32, field: u8) -> impl Iterator<Item = &Hit> {
        let mut i = self.first[pat as usize];
        std::iter::from_fn(move || {
            if i == NO_HIT {
                return None;
            }
            let h = &self.hits[i as usize];
            i = self.next[i as usize];
            Some(h)
        })
        .filter(move |h| h.field == field)
    }
}

/// End of a list of hits in `Scan::next`.
const NO_HIT: u32 = u32::MAX;

/// Buffers reused between calls on one thread, so matching does not
/// allocate unless something matches.
#[derive(Default)]
struct Scratch {
    /// The words of the field being scanned, as byte ranges.
    words: Vec<(u32, u32)>,
    hits: Vec<Hit>,
    first: Vec<u32>,
    next: Vec<u32>,
    seen: Vec<u64>,
    rules: Vec<u64>,
    contexts: Vec<Cell<u8>>,
    regexes: Vec<Cell<u8>>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fn set_bit(bits: &mut [u64], i: u32) {
    bits[(i / 64) as usize] |= 1 << (i % 64);
}

fn has_bit(bits: &[u64], i: u32) -> bool {
    bits[(i / 64) as usize] & (1 << (i % 64)) != 0
}

/// Zeroes the `seen` blocks of the item's hits (cheaper than clearing the
/// whole bitset, which has a block per 64 patterns of the pack).
fn clear_seen(sc: &mut Scratch) {
    for h in &sc.hits {
        sc.seen[(h.pat / 64) as usize] = 0;
    }
}

/// A rule that matched, with the spans of the terms that made it match.
pub struct RuleHit {
    pub rule: u32,
    pub spans: Vec<Span>,
}

fn field_of(f: u8) -> Field {
    if f == 0 { Field::Title } else { Field::Summary }
}

/// Extends `at` over word characters: the end of the word a prefix starts.
fn word_end(text: &str, at: usize) -> usize {
    let rest = &text[at..];
    rest.char_indices()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(text.len(), |(i, _)| at + i)
}

impl Program {
    /// Returns every rule of the program that matches, with spans.
    pub fn run(&self, title: &str, summary: &str) -> Vec<RuleHit> {
        SCRATCH.with_borrow_mut(|sc| {
            let sc = &mut *sc;
            sc.hits.clear();
            if let Some(ac) = &self.ac {
                for (f, text) in [title, summary].into_iter().enumerate() {
                    ac.collect_hits(text, f as u8, &mut sc.words, &mut sc.hits);
                }
            }
            // The set runs up front only if some rule can only be woken by a
            // regex; otherwise regexes run lazily, for woken rules only.
            let regex = match &self.regex_set {
                Some(set) if self.regex_wakes => {
                    [Some(set.matches(title)), Some(set.matches(summary))]
                }
                _ => [None, None],
            };
            if sc.hits.is_empty()
                && self.always.is_empty()
                && regex.iter().flatten().all(|m| !m.matched_any())
            {
                return Vec::new();
            }
            sc.seen.resize(self.words.len().div_ceil(64), 0);
            self.wake(sc, &regex);
            // Most items wake a rule only to fail one of its word tests:
            // those need no more than the bits, so the lists of hits by
            // pattern are only built when some rule passes them.
            if !self.keep_needed(&mut sc.rules, &sc.seen) {
                clear_seen(sc);
                return Vec::new();
            }
            sc.first.resize(self.words.len(), NO_HIT);
            sc.next.clear();
            sc.next.resize(sc.hits.len(), NO_HIT);
            // Backwards, so that each pattern's list is in text order.
            for h in &sc.hits {
                sc.first[h.pat as usize] = NO_HIT;
            }
            for (i, h) in sc.hits.iter().enumerate().rev() {
                sc.next[i] = sc.first[h.pat as usize];
                sc.first[h.pat as usize] = i as u32;
            }
            sc.contexts.clear();
            sc.contexts.resize(self.contexts.len() * 4, Cell::new(0));
            sc.regexes.clear();
            sc.regexes.resize(self.regexes.len() * 2, Cell::new(0));
            let scan = Scan {
                texts: [title, summary],
                program_words: &self.words,
                hits: &sc.hits,
                first: &sc.first,
                next: &sc.next,
                regex,
                seen: &sc.seen,
                contexts: &sc.contexts,
                regex_memo: &sc.regexes,
            };
            let out = self.eval_woken(&mut sc.rules, &scan);
            clear_seen(sc);
            out
        })
    }

    /// Sets the bit of every rule woken by a hit, a regex match, or always,
    /// and the `seen` bit of every pattern hit.
    #[inline(never)]
    fn wake(&self, sc: &mut Scratch, regex: &[Option<SetMatches>; 2]) {
        sc.rules.clear();
        sc.rules.resize(self.exprs.len().div_ceil(64), 0);
        for &r in &self.always {
            set_bit(&mut sc.rules, r);
        }
        for h in &sc.hits {
            set_bit(&mut sc.seen, h.pat);
            if has_bit(&self.wakes, h.pat) {
                for &r in &self.by_word[h.pat as usize] {
                    set_bit(&mut sc.rules, r);
                }
            }
        }
        for m in regex.iter().flatten() {
            for i in m.iter() {
                for &r in &self.by_regex[i] {
                    set_bit(&mut sc.rules, r);
                }
            }
        }
    }

    /// Clears the bit of every woken rule that misses one of its necessary
    /// sets of words (see `Program::needs`); true if any rule is left.
    #[inline(never)]
    fn keep_needed(&self, rules: &mut [u64], seen: &[u64]) -> bool {
        let mut left = false;
        for (block, bits) in rules.iter_mut().enumerate() {
            let mut todo = *bits;
            while todo != 0 {
                let r = block as u32 * 64 + todo.trailing_zeros();
                todo &= todo - 1;
                if !self.needs[r as usize]
                    .iter()
                    .all(|set| set.intersects(seen))
                {
                    *bits &= !(1 << (r % 64));
                }
            }
            left |= *bits != 0;
        }
        left
    }

    /// Evaluates the woken rules in rule order, consuming the bits.
    fn eval_woken(&self, rules: &mut [u64], scan: &Scan) -> Vec<RuleHit> {
        let mut out = Vec::new();
        for (block, bits) in rules.iter_mut().enumerate() {
            while *bits != 0 {
                let r = block as u32 * 64 + bits.trailing_zeros();
                *bits &= *bits - 1;
                let (expr, mask) = &self.exprs[r as usize];
                if self.eval(expr, *mask, scan) {
                    let mut spans = Vec::new();
                    self.collect(expr, *mask, scan, &mut spans);
                    spans.sort_unstable();
                    spans.dedup();
                    out.push(RuleHit { rule: r, spans });
                }
            }
        }
        out
    }

    fn eval(&self, e: &Expr, mask: u8, s: &Scan) -> bool {
        match e {
            Expr::Term(t) => self.term_in(*t, mask, s),
            Expr::Any(v) => v.iter().any(|c| self.eval(c, mask, s)),
            Expr::All(v) => v.iter().all(|c| self.eval(c, mask, s)),
            Expr::None(v) => !v.iter().any(|c| self.eval(c, mask, s)),
            Expr::Regex(r) => fields(mask).any(|f| self.regex_in(*r, f, s)),
            Expr::Context(c) => self.context_in(*c, mask, s),
            Expr::Title(inner) => self.eval(inner, mask & TITLE, s),
            Expr::Gate(bits, inner) => bits.intersects(s.seen) && self.eval(inner, mask, s),
            Expr::Terms(list) => list.any_candidate(s.seen, |t| self.term_in(t, mask, s)),
            Expr::Keyed(list, children) => {
                list.any_candidate(s.seen, |i| self.eval(&children[i as usize], mask, s))
            }
            Expr::Near { terms, within } => {
                fields(mask).any(|f| self.near_in(terms, *within, f, s))
            }
            Expr::Weighted { terms, threshold } => {
                let sum: f64 = terms
                    .iter()
                    .filter(|(t, _)| self.term_in(*t, mask, s))
                    .map(|(_, w)| w)
                    .sum();
                sum >= *threshold
            }
        }
    }

    /// Records the spans of the terms that make `e`, which is true, true:
    /// those of every child of an `all`, of the children of an `any` that
    /// are true, and none under `none` (their absence is what matched). A
    /// word of a branch that failed (`killed` of an `all` whose other part
    /// is missing) is not what the rule matched on, so it is not reported.
    fn collect(&self, e: &Expr, mask: u8, s: &Scan, out: &mut Vec<Span>) {
        match e {
            Expr::Term(t) => self.term_spans(*t, mask, s, out),
            Expr::All(v) => v.iter().for_each(|c| self.collect(c, mask, s, out)),
            Expr::Any(v) => v.iter().for_each(|c| self.collect_if_true(c, mask, s, out)),
            Expr::Keyed(list, v) => {
                list.any_candidate(s.seen, |i| {
                    self.collect_if_true(&v[i as usize], mask, s, out);
                    false
                });
            }
            Expr::None(_) => {}
            Expr::Regex(r) => {
                for f in fields(mask) {
                    let text = s.texts[f as usize];
                    for m in self.regexes[*r as usize].find_iter(text) {
                        out.push(Span {
                            field: field_of(f),
                            start: m.start(),
                            end: m.end(),
                        });
                    }
                }
            }
            Expr::Context(c) => {
                self.context_index[*c as usize].any_candidate(s.seen, |t| {
                    self.term_spans(t, mask, s, out);
                    false
                });
            }
            Expr::Title(inner) => self.collect(inner, mask & TITLE, s, out),
            Expr::Gate(_, inner) => self.collect(inner, mask, s, out),
            Expr::Terms(list) => {
                list.any_candidate(s.seen, |t| {
                    self.term_spans(t, mask, s, out);
                    false
                });
            }
            Expr::Near { terms, .. } => {
                terms.iter().for_each(|t| self.term_spans(*t, mask, s, out))
            }
            Expr::Weighted { terms, .. } => terms
                .iter()
                .for_each(|(t, _)| self.term_spans(*t, mask, s, out)),
        }
    }

    /// `collect` for a child of an `any`, which may be false. A term, a
    /// list of terms, a context or a regex has spans only where it is true;
    /// anything else is evaluated first.
    fn collect_if_true(&self, e: &Expr, mask: u8, s: &Scan, out: &mut Vec<Span>) {
        let plain = matches!(
            e,
            Expr::Term(_) | Expr::Terms(_) | Expr::Context(_) | Expr::Regex(_)
        );
        if plain || self.eval(e, mask, s) {
            self.collect(e, mask, s, out);
        }
    }

    fn context_in(&self, c: u32, mask: u8, s: &Scan) -> bool {
        let memo = &s.contexts[c as usize * 4 + mask as usize];
        if memo.get() == 0 {
            let found =
                self.context_index[c as usize].any_candidate(s.seen, |t| self.term_in(t, mask, s));
            memo.set(1 + found as u8);
        }
        memo.get() == 2
    }

    /// Whether regex `r` matches field `f`: from the up-front set if it ran,
    /// else computed once per item.
    fn regex_in(&self, r: u32, f: u8, s: &Scan) -> bool {
        if let Some(m) = &s.regex[f as usize] {
            return m.matched(r as usize);
        }
        let memo = &s.regex_memo[r as usize * 2 + f as usize];
        if memo.get() == 0 {
            let found = self.regexes[r as usize].is_match(s.texts[f as usize]);
            memo.set(1 + found as u8);
        }
        memo.get() == 2
    }

    fn term_in(&self, t: u32, mask: u8, s: &Scan) -> bool {
        // Most terms' anchors were not hit at all: one bit test each.
        if !s.seen(self.term_anchor[t as usize]) {
            return false;
        }
        let term = &self.terms[t as usize];
        fields(mask).any(|f| {
            let mut found = false;
            occurrences(term, f, s, |_, _| {
                found = true;
                true
            });
            found
        })
    }

    fn term_spans(&self, t: u32, mask: u8, s: &Scan, out: &mut Vec<Span>) {
        // As in `term_in`: a matched rule's other terms were mostly not hit,
        // and a bit test is cheaper than a call to `occurrences` per field.
        if !s.seen(self.term_anchor[t as usize]) {
            return;
        }
        let term = &self.terms[t as usize];
        for f in fields(mask) {
            occurrences(term, f, s, |start, end| {
                out.push(Span {
                    field: field_of(f),
                    start,
                    end,
                });
                false
            });
        }
    }

    /// True if one occurrence of each term fits in `within` consecutive words
    /// of field `f`.
    fn near_in(&self, terms: &[u32], within: u32, f: u8, s: &Scan) -> bool {
        // Every term's anchor must have been hit: a bit test each, before any
        // occurrence is located and counted in words (`word_index` walks the
        // text from its start, so a common first term such as `sever*`, which
        // is in every "several", made `near` the costliest expression).
        if !terms.iter().all(|&t| s.seen(self.term_anchor[t as usize])) {
            return false;
        }
        let text = s.texts[f as usize];
        // (first word index, last word index, term number) of each occurrence.
        let mut occ: Vec<(usize, usize, usize)> = Vec::new();
        for (n, &t) in terms.iter().enumerate() {
            let term = &self.terms[t as usize];
            let before = occ.len();
            occurrences(term, f, s, |start, _| {
                let first = word_index(text, start);
                occ.push((first, first + term.words.len() - 1, n));
                false
            });
            if occ.len() == before {
                return false;
            }
        }
        occ.iter().any(|&(left, _, _)| {
            let mut right = left;
            for n in 0..terms.len() {
                let end = occ
                    .iter()
                    .filter(|o| o.2 == n && o.0 >= left)
                    .map(|o| o.1)
                    .min();
                match end {
                    Some(e) => right = right.max(e),
                    None => return false,
                }
            }
            right - left < within as usize
        })
    }
}

/// Field numbers selected by a mask.
fn fields(mask: u8) -> impl Iterator<Item = u8> {
    [(0u8, TITLE), (1u8, SUMMARY)]
        .into_iter()
        .filter(move |(_, b)| mask & b != 0)
        .map(|(f, _)| f)
}

/// Number of words that start before byte `at`.
fn word_index(text: &str, at: usize) -> usize {
    let mut n = 0;
    let mut in_word = false;
    for c in text[..at].chars() {
        let w = is_word_char(c);
        if w && !in_word {
            n += 1;
        }
        in_word = w;
    }
    n
}

/// Calls `f(start, end)` for each occurrence of `term` in field `field`,
/// until `f` returns true.
///
/// Only the term's anchor word is in the automaton; for each hit of it, the
/// words after it are checked forwards and the words before it backwards
/// against the text. This finds exactly the occurrences that matching every
/// word through the automaton did: a hit is a word that starts at a word
/// boundary, which is what `word_at` checks, and gaps hold no word
/// characters, so the word before a gap is the last word run before it.
fn occurrences(term: &Term, field: u8, s: &Scan, mut f: impl FnMut(usize, usize) -> bool) {
    let a = term.anchor;
    let anchor = term.words[a];
    // Most terms' anchors were not hit at all: one bit test each.
    if !s.seen(anchor.pat) {
        return;
    }
    let text = s.texts[field as usize];
    for h in s.hits_of(anchor.pat, field) {
        if !anchor.prefix && !h.right_ok {
            continue;
        }
        let mut end = if anchor.prefix {
            word_end(text, h.end as usize)
        } else {
            h.end as usize
        };
        let mut ok = true;
        for (w, gap) in term.words[a + 1..].iter().zip(&term.gaps[a..]) {
            match skip_gap(text, end, gap)
                .and_then(|next| word_at(text, next, s.words(w.pat), w.prefix))
            {
                Some(e) => end = e,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let mut start = h.start as usize;
        for i in (0..a).rev() {
            let w = term.words[i];
            match word_before(text, start, s.words(w.pat), w.prefix, &term.gaps[i]) {
                Some(b) => start = b,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && f(start, end) {
            return;
        }
    }
}

/// If `word` (a prefix, if `prefix`) is in `text` at `at` as a whole word,
/// returns where the match ends (for a prefix, where the word ends). `at`
/// must follow a non-word character.
fn word_at(text: &str, at: usize, word: &str, prefix: bool) -> Option<usize> {
    if !text[at..].starts_with(word) {
        return None;
    }
    let end = at + word.len();
    if prefix {
        Some(word_end(text, end))
    } else {
        let right_ok = text[end..].chars().next().is_none_or(|c| !is_word_char(c));
        right_ok.then_some(end)
    }
}

/// The start of the phrase word `word` that comes before the word starting
/// at `next`, separated from it by `gap`, if the text has one there.
fn word_before(text: &str, next: usize, word: &str, prefix: bool, gap: &Gap) -> Option<usize> {
    let before = &text[..next];
    // The end of the last word run before `next`, then its start.
    let end = before
        .char_indices()
        .rev()
        .find(|&(_, c)| is_word_char(c))
        .map(|(i, c)| i + c.len_utf8())?;
    let begin = before[..end]
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let run = &text[begin..end];
    let fits = if prefix {
        run.starts_with(word)
    } else {
        run == word
    };
    (fits && skip_gap(text, end, gap) == Some(next)).then_some(begin)
}

/// Returns where the next word starts if the text after `at` is a gap the
/// phrase allows.
fn skip_gap(text: &str, at: usize, gap: &Gap) -> Option<usize> {
    let rest = &text[at..];
    let len = match gap {
        Gap::Loose => rest
            .find(|c: char| !(c.is_whitespace() || c == '-'))
            .unwrap_or(rest.len()),
        Gap::Exact(sep) => {
            let trimmed = rest.trim_start();
            let lead = rest.len() - trimmed.len();
            let after = trimmed.strip_prefix(sep.as_str())?;
            let trail = after.len() - after.trim_start().len();
            lead + sep.len() + trail
        }
    };
    (len > 0).then_some(at + len)
}
