//! Validation and compilation: raw rule files become a [`Program`] plus rule
//! and indicator metadata, or a list of every problem found.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use regex::{Regex, RegexSet};
use toml::Spanned;

use super::error::{ErrorKind, RuleError, Source};
use super::exprs::ExprCompiler;
use super::program::{Program, SUMMARY, TITLE, Term, TermWord};
use super::raw::{RawContext, RawFile, RawRule};
use super::term::{TermError, parse_term};
use super::{Indicator, Mode, Rule, Scope};
use crate::model::Severity;

/// Output of a successful compilation.
pub struct Compiled {
    pub indicators: Vec<Indicator>,
    pub rules: Vec<Rule>,
    pub context_names: Vec<String>,
    pub program: Program,
}

/// Shared state while compiling: interned words, terms and regexes, and the
/// errors found so far.
pub struct Compiler<'a> {
    pub files: &'a [(PathBuf, String)],
    pub errors: Vec<RuleError>,
    words: HashMap<String, u32>,
    pub word_texts: Vec<String>,
    term_ids: HashMap<String, u32>,
    pub terms: Vec<Term>,
    regex_ids: HashMap<String, u32>,
    pub regexes: Vec<Regex>,
    pub context_ids: HashMap<String, u32>,
}

impl<'a> Compiler<'a> {
    fn new(files: &'a [(PathBuf, String)]) -> Self {
        Compiler {
            files,
            errors: Vec::new(),
            words: HashMap::new(),
            word_texts: Vec::new(),
            term_ids: HashMap::new(),
            terms: Vec::new(),
            regex_ids: HashMap::new(),
            regexes: Vec::new(),
            context_ids: HashMap::new(),
        }
    }

    /// Records an error at `span` of file `file`.
    pub fn err(&mut self, file: usize, span: Range<usize>, kind: ErrorKind, message: String) {
        let (path, text) = &self.files[file];
        let e = Source { path, text }.error(span, kind, message);
        self.errors.push(e);
    }

    /// Interns a term; reports and returns `None` when it is invalid.
    pub fn term(&mut self, file: usize, raw: &Spanned<String>) -> Option<u32> {
        let spec = match parse_term(raw.get_ref()) {
            Ok(spec) => spec,
            Err(e) => {
                let (kind, msg) = match e {
                    TermError::Empty => (
                        ErrorKind::EmptyExpression,
                        format!("term `{}` folds to nothing", raw.get_ref()),
                    ),
                    TermError::BadWildcard => (
                        ErrorKind::BadWildcard,
                        format!(
                            "`*` is only allowed at the end of a word, in term `{}`",
                            raw.get_ref()
                        ),
                    ),
                    TermError::ShortStem(stem) => (
                        ErrorKind::ShortStem,
                        format!(
                            "wildcard stem `{stem}` in term `{}` is shorter than 3 characters",
                            raw.get_ref()
                        ),
                    ),
                };
                self.err(file, raw.span(), kind, msg);
                return None;
            }
        };
        if let Some(&id) = self.term_ids.get(&spec.key) {
            return Some(id);
        }
        let words: Vec<TermWord> = spec
            .words
            .iter()
            .map(|w| TermWord {
                pat: self.word(&w.text),
                prefix: w.prefix,
            })
            .collect();
        let anchor = Term::pick_anchor(&words, &self.word_texts);
        let id = self.terms.len() as u32;
        self.terms.push(Term {
            words,
            gaps: spec.gaps,
            anchor,
        });
        self.term_ids.insert(spec.key, id);
        Some(id)
    }

    fn word(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.words.get(text) {
            return id;
        }
        let id = self.word_texts.len() as u32;
        self.word_texts.push(text.to_owned());
        self.words.insert(text.to_owned(), id);
        id
    }

    /// Compiles and interns a regex; reports and returns `None` when invalid.
    pub fn regex(&mut self, file: usize, raw: &Spanned<String>) -> Option<u32> {
        if let Some(&id) = self.regex_ids.get(raw.get_ref()) {
            return Some(id);
        }
        match Regex::new(raw.get_ref()) {
            Ok(re) => {
                let id = self.regexes.len() as u32;
                self.regexes.push(re);
                self.regex_ids.insert(raw.get_ref().clone(), id);
                Some(id)
            }
            Err(e) => {
                // The regex crate's message is multi-line with a caret
                // diagram; its last line is the reason.
                let last = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_lowercase();
                let reason = last.strip_prefix("error: ").unwrap_or(&last).to_owned();
                let msg = format!("invalid regex `{}`: {reason}", raw.get_ref());
                self.err(file, raw.span(), ErrorKind::InvalidRegex, msg);
                None
            }
        }
    }
}

/// Parses and compiles all files; returns every error found.
pub fn compile(files: &[(PathBuf, String)]) -> Result<Compiled, Vec<RuleError>> {
    let mut c = Compiler::new(files);
    let raws = parse_files(&mut c);
    let indicators = collect_indicators(&mut c, &raws);
    let contexts = collect_contexts(&mut c, &raws);
    let context_names: Vec<String> = contexts.iter().map(|x| x.0.clone()).collect();
    let flat = super::contexts::flatten(&mut c, &contexts);
    let mut rules = Vec::new();
    let mut exprs = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for (file, raw) in raws.iter().enumerate() {
        let Some(raw) = raw else { continue };
        for r in &raw.rule {
            if seen.insert(r.id.get_ref().clone(), ()).is_some() {
                let msg = format!("duplicate rule id `{}`", r.id.get_ref());
                c.err(file, r.id.span(), ErrorKind::DuplicateId, msg);
            }
            if let Some((rule, expr)) = compile_rule(&mut c, file, r, &indicators) {
                rules.push(rule);
                exprs.push(expr);
            }
        }
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let program = build_program(c, flat, exprs);
    Ok(Compiled {
        indicators,
        rules,
        context_names,
        program,
    })
}

fn parse_files(c: &mut Compiler) -> Vec<Option<RawFile>> {
    let mut out = Vec::new();
    for (i, (_, text)) in c.files.iter().enumerate() {
        match toml::from_str::<RawFile>(text) {
            Ok(raw) => out.push(Some(raw)),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let msg = e.message().trim().replace('\n', " ");
                let kind = if msg.starts_with("unknown field") {
                    ErrorKind::UnknownKey
                } else {
                    ErrorKind::Syntax
                };
                c.err(i, span, kind, msg);
                out.push(None);
            }
        }
    }
    out
}

fn collect_indicators(c: &mut Compiler, raws: &[Option<RawFile>]) -> Vec<Indicator> {
    let mut out: Vec<Indicator> = Vec::new();
    for (file, raw) in raws.iter().enumerate() {
        for ind in raw.iter().flat_map(|r| &r.indicator) {
            let id = ind.id.get_ref();
            if out.iter().any(|o| &o.id == id) {
                c.err(
                    file,
                    ind.id.span(),
                    ErrorKind::DuplicateId,
                    format!("duplicate indicator id `{id}`"),
                );
                continue;
            }
            let mut labels = std::collections::BTreeMap::new();
            if !ind.cameo.is_empty() {
                labels.insert("cameo".to_owned(), ind.cameo.clone());
            }
            if !ind.acled.is_empty() {
                labels.insert("acled".to_owned(), ind.acled.clone());
            }
            out.push(Indicator {
                id: id.clone(),
                title: ind.title.clone(),
                description: ind.description.clone(),
                labels,
            });
        }
    }
    out
}

/// Context groups in declaration order: (name, file, raw).
pub type ContextDecl<'r> = (String, usize, &'r Spanned<String>, &'r RawContext);

fn collect_contexts<'r>(c: &mut Compiler, raws: &'r [Option<RawFile>]) -> Vec<ContextDecl<'r>> {
    let mut out: Vec<ContextDecl> = Vec::new();
    for (file, raw) in raws.iter().enumerate() {
        for (name, ctx) in raw.iter().flat_map(|r| &r.context) {
            if c.context_ids.contains_key(name.get_ref()) {
                let msg = format!("duplicate context group `{}`", name.get_ref());
                c.err(file, name.span(), ErrorKind::DuplicateId, msg);
                continue;
            }
            c.context_ids
                .insert(name.get_ref().clone(), out.len() as u32);
            out.push((name.get_ref().clone(), file, name, ctx));
        }
    }
    out
}

fn compile_rule(
    c: &mut Compiler,
    file: usize,
    r: &RawRule,
    indicators: &[Indicator],
) -> Option<(Rule, (super::program::Expr, u8))> {
    let indicator = r.indicator.get_ref();
    if !indicators.iter().any(|i| &i.id == indicator) {
        let msg = format!(
            "unknown indicator `{indicator}` in rule `{}`",
            r.id.get_ref()
        );
        c.err(file, r.indicator.span(), ErrorKind::UnknownIndicator, msg);
    }
    let severity = r.severity.get_ref().parse::<Severity>();
    if let Err(e) = &severity {
        c.err(file, r.severity.span(), ErrorKind::BadValue, e.to_string());
    }
    let mode = choice(
        c,
        file,
        r.mode.as_ref(),
        "mode",
        &[("active", Mode::Active), ("shadow", Mode::Shadow)],
    );
    let scope = choice(
        c,
        file,
        r.scope.as_ref(),
        "scope",
        &[("all", Scope::All), ("title", Scope::Title)],
    );
    let expr = ExprCompiler { c, file }.expr(&r.expr);
    let (severity, mode, scope, expr) = (severity.ok()?, mode?, scope?, expr?);
    let mask = if scope == Scope::Title {
        TITLE
    } else {
        TITLE | SUMMARY
    };
    let rule = Rule {
        id: r.id.get_ref().clone(),
        indicator: indicator.clone(),
        severity,
        mode,
        scope,
        description: r.description.clone(),
        tags: r.tags.clone(),
        references: r.references.clone(),
        file: c.files[file].0.clone(),
        examples_match: r.examples.matches.clone(),
        examples_no_match: r.examples.no_match.clone(),
    };
    Some((rule, (expr, mask)))
}

/// Parses an optional enumerated string, defaulting to the first choice.
fn choice<T: Copy>(
    c: &mut Compiler,
    file: usize,
    raw: Option<&Spanned<String>>,
    what: &str,
    choices: &[(&str, T)],
) -> Option<T> {
    let Some(raw) = raw else {
        return Some(choices[0].1);
    };
    if let Some((_, v)) = choices.iter().find(|(n, _)| n == raw.get_ref()) {
        return Some(*v);
    }
    let names: Vec<String> = choices.iter().map(|(n, _)| format!("`{n}`")).collect();
    let msg = format!(
        "unknown {what} `{}`, expected one of {}",
        raw.get_ref(),
        names.join(", ")
    );
    c.err(file, raw.span(), ErrorKind::BadValue, msg);
    None
}

/// Words of a phrase other than its anchor that are at most this common
/// (per million words of news) are indexed too; commoner ones (`of`,
/// `the`) would be hit in every text and tell nothing.
const TRACK_MAX: u64 = 300;

/// The least cost (per million words) of a context group's word when
/// choosing which of a rule's necessary words wake it: as common as the
/// commonest verbs of news.
const CONTEXT_WORD_COST: u64 = 1000;

fn build_program(
    mut c: Compiler,
    contexts: Vec<Vec<u32>>,
    exprs: Vec<(super::program::Expr, u8)>,
) -> Program {
    renumber_words(&mut c, &contexts, &exprs);
    build_numbered(c, contexts, exprs)
}

/// Numbers the words so that the words of each necessary set are
/// neighbours: a set is stored as the 64-bit blocks that hold its words,
/// and a woken rule's sets are tested block by block. Numbered in the
/// order the rules first named them, a set of 40 words spread over 14 of
/// ~140 blocks, and testing the sets of the rules that an ordinary item
/// wakes cost more than finding its words. The sets that are tested (all
/// but each rule's first, which wakes it) are placed first.
fn renumber_words(c: &mut Compiler, contexts: &[Vec<u32>], exprs: &[(super::program::Expr, u8)]) {
    use super::program::Key;
    let p = program_shape(c.word_texts.clone(), c.terms.clone(), contexts.to_vec());
    let necessary: Vec<Vec<Vec<Key>>> = exprs.iter().map(|(e, _)| p.necessary(e)).collect();
    let tested = necessary.iter().flat_map(|sets| sets.iter().skip(1));
    let waking = necessary.iter().flat_map(|sets| sets.first());
    let words = tested.chain(waking).flatten().filter_map(|k| match k {
        Key::Word(w) => Some(*w),
        Key::Regex(_) => None,
    });
    let mut new_id = vec![u32::MAX; p.words.len()];
    let mut next = 0;
    for w in words.chain(0..p.words.len() as u32) {
        if new_id[w as usize] == u32::MAX {
            new_id[w as usize] = next;
            next += 1;
        }
    }
    let mut texts = vec![String::new(); new_id.len()];
    for (old, text) in c.word_texts.drain(..).enumerate() {
        texts[new_id[old] as usize] = text;
    }
    c.word_texts = texts;
    for id in c.words.values_mut() {
        *id = new_id[*id as usize];
    }
    for t in &mut c.terms {
        for w in &mut t.words {
            w.pat = new_id[w.pat as usize];
        }
    }
}

/// A [`Program`] with the fields that depend on its words and terms only
/// (what `Program::necessary` reads): word costs, term anchors, context
/// keys and indexes. `renumber_words` reads it to number the words;
/// `build_numbered` completes it.
fn program_shape(words: Vec<String>, terms: Vec<Term>, contexts: Vec<Vec<u32>>) -> Program {
    let mut p = Program {
        ac: None,
        by_word: Vec::new(),
        wakes: Vec::new(),
        by_regex: Vec::new(),
        words,
        terms,
        contexts,
        regexes: Vec::new(),
        regex_set: None,
        exprs: Vec::new(),
        always: Vec::new(),
        context_index: Vec::new(),
        context_keys: Vec::new(),
        regex_wakes: false,
        term_anchor: Vec::new(),
        needs: Vec::new(),
        indexed: Vec::new(),
        stem_hits: Vec::new(),
        word_cost: Vec::new(),
    };
    let (indexed, stem) = indexed_words(&p.words, &p.terms);
    p.indexed = indexed;
    p.stem_hits = stem;
    p.word_cost = vec![0; p.words.len()];
    for t in &p.terms {
        for w in &t.words {
            let cost = super::program::word_cost(&p.words[w.pat as usize], w.prefix);
            let slot = &mut p.word_cost[w.pat as usize];
            *slot = (*slot).max(cost);
        }
    }
    p.term_anchor = p.terms.iter().map(Term::anchor_pat).collect();
    // A context group's words (places, actors, the language's function
    // words) are in most items of the theatre, however rare they are in
    // news at large: never prefer them as the words that wake a rule.
    for terms in &p.contexts {
        for &t in terms {
            let slot = &mut p.word_cost[p.term_anchor[t as usize] as usize];
            *slot = (*slot).max(CONTEXT_WORD_COST);
        }
    }
    p.context_keys = p
        .contexts
        .iter()
        .map(|terms| {
            let mut keys: Vec<super::program::Key> = terms
                .iter()
                .map(|&t| super::program::Key::Word(p.term_anchor[t as usize]))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        })
        .collect();
    p.context_index = (0..p.contexts.len())
        .map(|c| p.term_list(&p.contexts[c]))
        .collect();
    p
}

/// Which words go into the index, and which of those some term uses as a
/// `word*` stem.
///
/// Anchor words go into the index; the other words of a phrase are
/// checked against the text next to an anchor hit (see `matcher`). The
/// less common of those other words go in too: their hits wake nothing,
/// but a rule woken through `website` in "fake website" is then left
/// alone unless `fake` was hit as well (see `Program::necessary`). Only
/// stems need hits that end inside a word.
fn indexed_words(words: &[String], terms: &[Term]) -> (Vec<bool>, Vec<bool>) {
    let mut indexed = vec![false; words.len()];
    let mut stem = vec![false; words.len()];
    for t in terms {
        for (i, w) in t.words.iter().enumerate() {
            let text = &words[w.pat as usize];
            if i == t.anchor || super::program::word_cost(text, w.prefix) <= TRACK_MAX {
                indexed[w.pat as usize] = true;
                stem[w.pat as usize] |= w.prefix;
            }
        }
    }
    (indexed, stem)
}

fn build_numbered(
    c: Compiler,
    contexts: Vec<Vec<u32>>,
    exprs: Vec<(super::program::Expr, u8)>,
) -> Program {
    let mut p = program_shape(c.word_texts, c.terms, contexts);
    let anchors: Vec<u32> = (0..p.words.len() as u32)
        .filter(|&w| p.indexed[w as usize])
        .collect();
    let stem_of_anchor: Vec<bool> = anchors.iter().map(|&w| p.stem_hits[w as usize]).collect();
    // The common words of news text are known in advance: one probe finds
    // all their hits (see `scan::WordIndex`).
    p.ac = super::scan::WordIndex::new(
        &p.words,
        &anchors,
        &stem_of_anchor,
        super::frequency::listed(),
    );
    p.regex_set = (!c.regexes.is_empty()).then(|| {
        RegexSet::new(c.regexes.iter().map(Regex::as_str)).expect("each regex compiled alone")
    });
    p.regexes = c.regexes;
    p.by_word = vec![Vec::new(); p.words.len()];
    p.by_regex = vec![Vec::new(); p.regexes.len()];
    p.exprs = exprs
        .into_iter()
        .map(|(e, mask)| (p.add_gates(e), mask))
        .collect();
    let necessary: Vec<_> = p.exprs.iter().map(|(e, _)| p.necessary(e)).collect();
    for (r, sets) in necessary.iter().enumerate() {
        match sets.first().cloned() {
            None => p.always.push(r as u32),
            Some(keys) => {
                for k in keys {
                    let list = match k {
                        super::program::Key::Word(w) => &mut p.by_word[w as usize],
                        super::program::Key::Regex(x) => &mut p.by_regex[x as usize],
                    };
                    if list.last() != Some(&(r as u32)) {
                        list.push(r as u32);
                    }
                }
            }
        }
    }
    p.needs = necessary.into_iter().map(|sets| p.needs_of(sets)).collect();
    p.wakes = vec![0; p.words.len().div_ceil(64)];
    for (w, rules) in p.by_word.iter().enumerate() {
        if !rules.is_empty() {
            p.wakes[w / 64] |= 1 << (w % 64);
        }
    }
    p.regex_wakes = p.by_regex.iter().any(|rules| !rules.is_empty());
    p
}
