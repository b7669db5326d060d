//! Stories: the same event reported by many outlets, or re-published with an
//! edited title, is one story.
//!
//! Each matched item gets a MinHash signature over word 3-shingles of its
//! folded title and lede (the first words of the summary). Two items whose
//! signatures agree on at least `threshold` of their positions (an estimate
//! of the Jaccard similarity of their shingle sets) within `window` of each
//! other belong to the same story. Titles that are translations of each
//! other are not matched: shingles compare words, not meanings.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// Number of hash functions in a signature.
const SIGNATURE: usize = 64;
/// Words of the summary that count as the lede.
const LEDE_WORDS: usize = 30;

/// A MinHash signature of one item's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature([u64; SIGNATURE]);

/// splitmix64: a fast, well-mixed, deterministic 64-bit hash step, so
/// signatures are stable across processes and restarts.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn hash_words(words: &[&str]) -> u64 {
    words.iter().fold(0xCBF2_9CE4_8422_2325, |h, w| {
        w.bytes().fold(mix(h), |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        })
    })
}

impl Signature {
    /// Signs folded title and summary text (see `parse::normalise::fold`).
    pub fn of(folded_title: &str, folded_summary: &str) -> Signature {
        let words: Vec<&str> = folded_title
            .split(|c: char| !c.is_alphanumeric())
            .chain(
                folded_summary
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .take(LEDE_WORDS),
            )
            .filter(|w| !w.is_empty())
            .collect();
        let mut sig = [u64::MAX; SIGNATURE];
        let shingles: Vec<u64> = if words.len() < 3 {
            vec![hash_words(&words)]
        } else {
            words.windows(3).map(hash_words).collect()
        };
        for shingle in shingles {
            for (i, slot) in sig.iter_mut().enumerate() {
                *slot = (*slot).min(mix(shingle ^ mix(i as u64)));
            }
        }
        Signature(sig)
    }

    /// The signature as bytes, for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|h| h.to_le_bytes()).collect()
    }

    /// A signature read back from the store; `None` if it is not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Signature> {
        if bytes.len() != SIGNATURE * 8 {
            return None;
        }
        let mut sig = [0u64; SIGNATURE];
        for (slot, chunk) in sig.iter_mut().zip(bytes.chunks_exact(8)) {
            *slot = u64::from_le_bytes(chunk.try_into().ok()?);
        }
        Some(Signature(sig))
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a == b)
            .count();
        same as f64 / SIGNATURE as f64
    }
}

/// A story being tracked.
#[derive(Debug, Clone)]
pub struct Story {
    pub id: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Signatures of the items in the story (each new item is compared with
    /// all, so a story can drift as titles are edited).
    signatures: Vec<Signature>,
    /// Sources that reported it, in order of first report.
    pub sources: Vec<String>,
}

/// Whether an item started a story or joined one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assigned {
    New(u64),
    Joined(u64),
}

/// Recent stories within a window; items are assigned in time order.
#[derive(Debug, Clone)]
pub struct Stories {
    window: Duration,
    threshold: f64,
    next_id: u64,
    stories: Vec<Story>,
}

impl Stories {
    /// Default: a 48 h window and a similarity of 0.5.
    pub fn new(window: Duration, threshold: f64) -> Stories {
        Stories {
            window,
            threshold,
            next_id: 1,
            stories: Vec::new(),
        }
    }

    /// Assigns an item to the most similar live story, or starts one.
    pub fn assign(&mut self, source: &str, signature: Signature, at: DateTime<Utc>) -> Assigned {
        let horizon = at - chrono::Duration::from_std(self.window).unwrap_or_default();
        self.stories.retain(|s| s.last_seen >= horizon);
        let best = self
            .stories
            .iter_mut()
            .map(|s| {
                let sim = s
                    .signatures
                    .iter()
                    .map(|g| g.similarity(&signature))
                    .fold(0.0, f64::max);
                (sim, s)
            })
            .filter(|(sim, _)| *sim >= self.threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, story)) = best {
            story.last_seen = story.last_seen.max(at);
            story.signatures.push(signature);
            if !story.sources.iter().any(|s| s == source) {
                story.sources.push(source.to_owned());
            }
            return Assigned::Joined(story.id);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.stories.push(Story {
            id,
            first_seen: at,
            last_seen: at,
            signatures: vec![signature],
            sources: vec![source.to_owned()],
        });
        Assigned::New(id)
    }

    /// Puts back a story read from the store (after a restart), and makes
    /// sure new ids are never below `id + 1`.
    pub fn restore(
        &mut self,
        id: u64,
        first_seen: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        signatures: Vec<Signature>,
        sources: Vec<String>,
    ) {
        self.next_id = self.next_id.max(id + 1);
        self.stories.push(Story {
            id,
            first_seen,
            last_seen,
            signatures,
            sources,
        });
    }

    /// New stories get ids above `max_id` (the highest id ever stored, so
    /// ids are not reused after old stories leave the window).
    pub fn ids_after(&mut self, max_id: u64) {
        self.next_id = self.next_id.max(max_id + 1);
    }

    /// A live story by id.
    pub fn get(&self, id: u64) -> Option<&Story> {
        self.stories.iter().find(|s| s.id == id)
    }
}

impl Default for Stories {
    fn default() -> Self {
        Stories::new(Duration::from_secs(48 * 3600), 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::normalise::fold;

    fn sig(title: &str, summary: &str) -> Signature {
        Signature::of(&fold(title), &fold(summary))
    }

    #[test]
    fn twenty_outlets_one_story() {
        let now = Utc::now();
        let mut stories = Stories::default();
        let base = "Russian missile shot down Azerbaijani passenger plane near Aktau, sources say";
        let lede = "The Azerbaijan Airlines Embraer was hit by a Pantsir air defence missile over Grozny before it crashed in Kazakhstan.";
        let variants = [
            base.to_owned(),
            format!("{base} – reports"),
            format!("UPDATE: {base}"),
            base.replace("sources say", "four sources say"),
            base.to_uppercase(),
        ];
        let mut ids = Vec::new();
        for i in 0..20 {
            let title = &variants[i % variants.len()];
            let at = now + chrono::Duration::minutes(i as i64 * 30);
            ids.push(stories.assign(&format!("outlet-{i}"), sig(title, lede), at));
        }
        let first = match ids[0] {
            Assigned::New(id) => id,
            other => panic!("{other:?}"),
        };
        assert!(
            ids[1..].iter().all(|a| *a == Assigned::Joined(first)),
            "{ids:?}"
        );
        assert_eq!(stories.get(first).unwrap().sources.len(), 20);
    }

    #[test]
    fn different_events_stay_apart_and_old_stories_expire() {
        let now = Utc::now();
        let mut stories = Stories::default();
        let a = stories.assign(
            "x",
            sig(
                "Azerbaijan closes Russian House in Baku",
                "The cultural centre was shut.",
            ),
            now,
        );
        let b = stories.assign(
            "y",
            sig(
                "Exchange of fire on Armenia-Azerbaijan border near Tovuz",
                "Two soldiers were wounded.",
            ),
            now,
        );
        assert_ne!(a, b);
        assert!(matches!(b, Assigned::New(_)));
        let later = now + chrono::Duration::hours(49);
        let again = stories.assign(
            "z",
            sig(
                "Azerbaijan closes Russian House in Baku",
                "The cultural centre was shut.",
            ),
            later,
        );
        assert!(
            matches!(again, Assigned::New(_)),
            "outside the 48 h window it is a new story"
        );
    }

    #[test]
    fn signature_bytes_round_trip_and_restored_ids_are_not_reused() {
        let s = sig("Azerbaijan closes Russian House", "in Baku");
        assert_eq!(Signature::from_bytes(&s.to_bytes()), Some(s.clone()));
        assert_eq!(Signature::from_bytes(&[1, 2, 3]), None);
        let now = Utc::now();
        let mut stories = Stories::default();
        stories.restore(7, now, now, vec![s.clone()], vec!["a".into()]);
        stories.ids_after(9);
        assert_eq!(stories.assign("b", s, now), Assigned::Joined(7));
        let other = sig("Exchange of fire on the border near Tovuz", "");
        assert_eq!(stories.assign("c", other, now), Assigned::New(10));
    }

    #[test]
    fn signatures_are_deterministic() {
        assert_eq!(sig("same words here", ""), sig("same words here", ""));
        assert!(sig("one two three four", "").similarity(&sig("five six seven eight", "")) < 0.2);
    }
}
