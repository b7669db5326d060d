//! Finding matched words in display text, for `<mark>` on the status page.
//!
//! The store keeps the matched terms in folded form (`shot down`,
//! `мигрантов`, `baki`), not their positions, so the display text is folded
//! here character by character, keeping where each folded byte came from,
//! and the terms are searched at word boundaries in the folded copy.

use crate::parse::normalise::fold;

/// Splits `text` into runs, `true` for the runs that are matched terms.
pub fn highlight<'a>(text: &'a str, terms: &[String]) -> Vec<(&'a str, bool)> {
    let (folded, origin) = fold_with_origin(text);
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for term in terms {
        find_term(&folded, &origin, term, &mut ranges);
    }
    runs(text, ranges)
}

/// The folded text, and for each of its bytes the byte range of the
/// display character it came from.
fn fold_with_origin(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut folded = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for (start, c) in text.char_indices() {
        let piece = fold(c.encode_utf8(&mut buf));
        let end = start + c.len_utf8();
        origin.extend(std::iter::repeat_n((start, end), piece.len()));
        folded.push_str(&piece);
    }
    (folded, origin)
}

fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// What may stand between the words of a phrase, as in the rules: any
/// non-empty run of whitespace and hyphens (`air defence`, `air-defence`).
fn is_gap(c: char) -> bool {
    c.is_whitespace() || c == '-'
}

/// Adds the display ranges of every whole-word occurrence of `term`.
fn find_term(folded: &str, origin: &[(usize, usize)], term: &str, out: &mut Vec<(usize, usize)>) {
    let words: Vec<&str> = term.split(is_gap).filter(|w| !w.is_empty()).collect();
    let Some((first, rest)) = words.split_first() else {
        return;
    };
    'found: for (at, _) in folded.match_indices(first) {
        if is_word_char(folded[..at].chars().next_back()) {
            continue;
        }
        let mut end = at + first.len();
        for word in rest {
            let after_gap = folded[end..].trim_start_matches(is_gap);
            let gap = folded.len() - end - after_gap.len();
            if gap == 0 || !after_gap.starts_with(word) {
                continue 'found;
            }
            end += gap + word.len();
        }
        if !is_word_char(folded[end..].chars().next()) {
            out.push((origin[at].0, origin[end - 1].1));
        }
    }
}

/// Cuts `text` at the (merged) ranges.
fn runs(text: &str, mut ranges: Vec<(usize, usize)>) -> Vec<(&str, bool)> {
    ranges.sort_unstable();
    let mut out = Vec::new();
    let mut pos = 0;
    for (start, end) in ranges {
        if end <= pos {
            continue;
        }
        let start = start.max(pos);
        if start > pos {
            out.push((&text[pos..start], false));
        }
        // Overlapping ranges extend the previous mark.
        match out.last_mut() {
            Some((run, true)) if start == pos => {
                let run_start = pos - run.len();
                *run = &text[run_start..end];
            }
            _ => out.push((&text[start..end], true)),
        }
        pos = end;
    }
    if pos < text.len() || out.is_empty() {
        out.push((&text[pos..], false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(text: &str, terms: &[&str]) -> String {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        highlight(text, &terms)
            .into_iter()
            .map(|(run, hit)| {
                if hit {
                    format!("[{run}]")
                } else {
                    run.to_owned()
                }
            })
            .collect()
    }

    #[test]
    fn marks_whole_words_in_the_display_text() {
        assert_eq!(
            marked(
                "Russian Missile Shot Down Azerbaijani Passenger Plane",
                &["missile", "shot down", "plane"]
            ),
            "Russian [Missile] [Shot Down] Azerbaijani Passenger [Plane]"
        );
        assert_eq!(
            marked("Warning: war drums", &["war"]),
            "Warning: [war] drums",
            "not inside a longer word"
        );
        assert_eq!(marked("nothing here", &["missile"]), "nothing here");
        assert_eq!(marked("", &["x"]), "");
    }

    #[test]
    fn folding_maps_back_to_the_original_letters() {
        assert_eq!(marked("ЁЛКИ в БАКЫ", &["елки"]), "[ЁЛКИ] в БАКЫ");
        assert_eq!(marked("İRƏVAN və BAKI", &["baki"]), "İRƏVAN və [BAKI]");
        assert_eq!(
            marked("Задержаны сотни мигрантов", &["мигрантов"]),
            "Задержаны сотни [мигрантов]"
        );
        assert_eq!(marked("Putin’s plane", &["putin's"]), "[Putin’s] plane");
    }

    #[test]
    fn phrases_across_gaps_and_overlaps() {
        assert_eq!(
            marked(
                "Air-defence and air  defence, not air, defence",
                &["air defence"]
            ),
            "[Air-defence] and [air  defence], not air, defence"
        );
        assert_eq!(
            marked(
                "Azerbaijani President and Russian",
                &["azerbaijani and russian"]
            ),
            "Azerbaijani President and Russian",
            "a phrase is marked whole or not at all"
        );
        assert_eq!(
            marked("shot down plane", &["shot down", "down plane"]),
            "[shot down plane]"
        );
    }
}
