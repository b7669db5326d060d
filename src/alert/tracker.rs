//! Live stories: the clustering index (`score::story`) plus, per story, its
//! matched items and the state of its latest alert. Restored from the store
//! on start, so a restart neither forgets a story nor pages it again.

use crate::model::{Item, Match, Severity};
use crate::score::story::{Assigned, Signature, Stories};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;

/// One matched item of a story.
#[derive(Debug, Clone)]
pub struct StoryItem {
    pub source: String,
    pub item_id: String,
    pub title: String,
    /// Folded title, for silences that match text.
    pub norm_title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub dated: bool,
    /// When tocsin saw it (the story window runs on this clock).
    pub added_at: DateTime<Utc>,
    pub signature: Signature,
    /// Its non-shadow matches.
    pub matches: Vec<Match>,
}

impl StoryItem {
    /// An item and its alerting (non-shadow) matches.
    pub fn new(item: &Item, matches: &[Match], now: DateTime<Utc>) -> StoryItem {
        StoryItem {
            source: item.source.clone(),
            item_id: item.id.clone(),
            title: item.title.clone(),
            norm_title: item.norm_title.clone(),
            link: item.link.clone(),
            published: item.published,
            dated: item.dated,
            added_at: now,
            signature: Signature::of(&item.norm_title, &item.norm_summary),
            matches: matches.iter().filter(|m| !m.shadow).cloned().collect(),
        }
    }

    pub fn severity(&self) -> Option<Severity> {
        self.matches.iter().map(|m| m.severity).max()
    }
}

/// The latest alert raised for a story.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertState {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub severity: Severity,
    /// Sinks it was routed to (delivered or still pending).
    pub sinks: Vec<String>,
    /// The silence that held it back, if one did.
    pub silenced_by: Option<i64>,
}

/// A story in the window.
#[derive(Debug, Clone)]
pub struct LiveStory {
    pub id: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub items: Vec<StoryItem>,
    pub alert: Option<AlertState>,
}

impl LiveStory {
    /// Distinct sources, in order of first report.
    pub fn sources(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for i in &self.items {
            if !out.contains(&i.source.as_str()) {
                out.push(&i.source);
            }
        }
        out
    }
}

/// The live stories.
#[derive(Debug)]
pub struct Tracker {
    index: Stories,
    window: Duration,
    live: HashMap<u64, LiveStory>,
}

impl Tracker {
    pub fn new(window: Duration, similarity: f64) -> Tracker {
        Tracker {
            index: Stories::new(window, similarity),
            window,
            live: HashMap::new(),
        }
    }

    /// Puts back a stored story (call `ids_after` with the highest id ever
    /// stored too, so ids of stories past the window are not reused).
    pub fn restore(&mut self, story: LiveStory) {
        self.index.restore(
            story.id,
            story.first_seen,
            story.last_seen,
            story.items.iter().map(|i| i.signature.clone()).collect(),
            story.sources().into_iter().map(str::to_owned).collect(),
        );
        self.live.insert(story.id, story);
    }

    /// Sets the id floor when no story is live.
    pub fn ids_after(&mut self, max_id: u64) {
        self.index.ids_after(max_id);
    }

    /// Adds an item to its story (starting one if none is similar) and
    /// returns the story with the item in it, and whether it is new.
    pub fn add(&mut self, item: StoryItem) -> (&mut LiveStory, bool) {
        let at = item.added_at;
        let horizon = at - chrono::Duration::from_std(self.window).unwrap_or_default();
        self.live.retain(|_, s| s.last_seen >= horizon);
        let (id, new) = match self.index.assign(&item.source, item.signature.clone(), at) {
            Assigned::New(id) => (id, true),
            Assigned::Joined(id) => (id, false),
        };
        let story = self.live.entry(id).or_insert_with(|| LiveStory {
            id,
            first_seen: at,
            last_seen: at,
            items: Vec::new(),
            alert: None,
        });
        story.last_seen = story.last_seen.max(at);
        // An item re-seen under the same id (a feed re-publishing it) replaces
        // its earlier copy instead of counting twice.
        story
            .items
            .retain(|i| !(i.source == item.source && i.item_id == item.item_id));
        story.items.push(item);
        (story, new)
    }

    pub fn get(&self, id: u64) -> Option<&LiveStory> {
        self.live.get(&id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut LiveStory> {
        self.live.get_mut(&id)
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}
