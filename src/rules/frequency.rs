//! How common a word is in news text, to choose which word of a phrase is
//! looked up (its anchor) and which part of an `all` wakes a rule.
//!
//! Neither choice changes what matches; both decide how much work ordinary
//! text causes. Word length was the proxy for rarity, and it failed on
//! exactly the words news is made of: "hackers published" was found
//! through `published`, and a rule whose shortest required list held
//! `website` was woken by every item that cited a ministry's website.
//!
//! The figures (`common-words.txt`, occurrences per million words of the
//! word's language) come from `scripts/common_words.py` over the real feed
//! corpus and the tuning sets; a word not listed is taken to be rare.

use std::collections::HashMap;
use std::sync::LazyLock;

struct Table {
    exact: HashMap<&'static str, u64>,
    /// Listed words in byte order with the running sum of their figures,
    /// for the total of all words that start with a stem.
    sorted: Vec<(&'static str, u64)>,
    /// Listed words, most frequent first.
    by_count: Vec<&'static str>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut sorted: Vec<(&'static str, u64)> = include_str!("common-words.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (word, n) = l.split_once('\t')?;
            Some((word, n.parse().ok()?))
        })
        .collect();
    let exact = sorted.iter().copied().collect();
    let mut by_count = sorted.clone();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let by_count = by_count.into_iter().map(|(w, _)| w).collect();
    sorted.sort_unstable();
    let mut sum = 0;
    for entry in &mut sorted {
        sum += entry.1;
        entry.1 = sum;
    }
    Table {
        exact,
        sorted,
        by_count,
    }
});

/// Occurrences per million words of `word` (folded), 0 if not listed.
pub fn of_word(word: &str) -> u64 {
    TABLE.exact.get(word).copied().unwrap_or(0)
}

/// Every listed word, most frequent first: the words ordinary news text is
/// mostly made of.
pub fn listed() -> impl Iterator<Item = &'static str> {
    TABLE.by_count.iter().copied()
}

/// Occurrences per million words of all listed words that start with
/// `stem` (a `stem*` term matches every one of them).
pub fn of_stem(stem: &str) -> u64 {
    let sorted = &TABLE.sorted;
    let from = sorted.partition_point(|(w, _)| *w < stem);
    let to = from + sorted[from..].partition_point(|(w, _)| w.starts_with(stem));
    let before = if from == 0 { 0 } else { sorted[from - 1].1 };
    if to == from {
        0
    } else {
        sorted[to - 1].1 - before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_news_words_cost_more_than_rare_ones() {
        assert!(of_word("published") > of_word("hackers"));
        assert!(of_word("the") > 10_000);
        assert_eq!(of_word("no-such-word"), 0);
        // A stem covers every listed word it starts.
        assert!(of_stem("sever") >= of_word("several"));
        assert_eq!(of_stem("zzzz"), 0);
        let all: u64 = TABLE.exact.values().sum();
        assert_eq!(of_stem(""), all);
    }
}
