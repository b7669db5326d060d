//! The downstream half of the pipeline, behind the scheduler's channel:
//! match → score → story → alert → outbox.
//!
//! Each batch of new items is matched against the rules in use at that
//! moment; matches are stored, indicators re-scored, every matched item is
//! put in its story, and the alert policy decides. What it decides is
//! written with the story in one transaction (alert and pending deliveries
//! included), then the delivery workers are woken. Scores are recomputed
//! every minute even without matches, so levels decay and level alerts
//! can fire from the clock alone.

use super::reload::LiveRules;
use crate::alert::silence::silenced_by;
use crate::alert::{AlertDoc, AlertState, LevelAction, Policy, StoryAction, StoryItem, Tracker};
use crate::config::{AlertSettings, Config, SinkConfig};
use crate::metrics::Metrics;
use crate::model::{Item, Match};
use crate::rules::RuleSet;
use crate::score::{Event, Level, ScoreModel, Summary};
use crate::sink::deliver::Wake;
use crate::store::{AlertWrite, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How often indicator scores are recomputed when no match arrives, so
/// activity decays on `/metrics` (and levels fall back) between matches.
const RESCORE_EVERY: Duration = Duration::from_secs(60);

/// What the pipeline needs from the config, fixed at start.
pub struct Pipeline {
    pub store: Arc<Store>,
    pub rules: Arc<LiveRules>,
    pub metrics: Arc<Metrics>,
    pub model: ScoreModel,
    pub weights: HashMap<String, f64>,
    pub settings: AlertSettings,
    pub sinks: Vec<SinkConfig>,
    pub source_tags: HashMap<String, Vec<String>>,
    /// Live stories and the last level seen per indicator.
    pub state: Mutex<AlertingState>,
}

/// In-memory alerting state, restored from the store on start.
pub struct AlertingState {
    pub tracker: Tracker,
    pub levels: HashMap<String, Level>,
}

/// Scores every declared indicator from the matches in the store.
pub fn indicator_summary(
    store: &Store,
    rules: &RuleSet,
    model: &ScoreModel,
    weights: &HashMap<String, f64>,
    now: DateTime<Utc>,
) -> Result<Summary, StoreError> {
    let since = now - chrono::Duration::from_std(model.baseline_window).unwrap_or_default();
    let events = store.match_events(since)?;
    // Shadow rules are counted where they are stored, never scored.
    let pairs: Vec<(&str, Event)> = events
        .iter()
        .filter(|e| !e.shadow)
        .map(|e| {
            let weight = weights.get(&e.source).copied().unwrap_or(1.0);
            (
                e.indicator.as_str(),
                Event::new(e.matched_at, e.severity, weight),
            )
        })
        .collect();
    let ids = rules.indicators().iter().map(|i| i.id.as_str());
    Ok(model.summarise(ids, &pairs, now))
}

impl Pipeline {
    pub fn new(
        config: &Config,
        store: Arc<Store>,
        rules: Arc<LiveRules>,
        metrics: Arc<Metrics>,
    ) -> Result<Pipeline, StoreError> {
        let settings = config.alerts.clone();
        let mut tracker = Tracker::new(settings.story_window, settings.story_similarity);
        let since =
            Utc::now() - chrono::Duration::from_std(settings.story_window).unwrap_or_default();
        let (stories, max_id) = store.live_stories(since)?;
        tracker.ids_after(max_id);
        for story in stories {
            tracker.restore(story);
        }
        Ok(Pipeline {
            store,
            rules,
            metrics,
            model: config.scoring.clone(),
            weights: config.source_weights(),
            settings,
            sinks: config.sinks.clone(),
            source_tags: config
                .sources
                .iter()
                .map(|s| (s.id.clone(), s.tags.clone()))
                .collect(),
            state: Mutex::new(AlertingState {
                tracker,
                levels: HashMap::new(),
            }),
        })
    }

    fn policy(&self) -> Policy<'_> {
        Policy {
            settings: &self.settings,
            sinks: &self.sinks,
            source_tags: &self.source_tags,
        }
    }

    /// Records a batch of matched items and everything that follows from
    /// them; returns the new summary and whether deliveries were queued.
    /// Blocking (SQLite): run it on a blocking thread.
    pub fn process(
        &self,
        rules: &RuleSet,
        matched: &[(Item, Vec<Match>)],
        now: DateTime<Utc>,
    ) -> Result<(Summary, bool), StoreError> {
        for (item, matches) in matched {
            self.store.record_matches(item, matches, now)?;
        }
        let summary = indicator_summary(&self.store, rules, &self.model, &self.weights, now)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut queued = false;
        for (item, matches) in matched {
            if matches.iter().all(|m| m.shadow) {
                continue;
            }
            match self.story_step(&mut state.tracker, rules, &summary, item, matches, now) {
                Ok(q) => queued |= q,
                Err(e) => {
                    tracing::error!(source.id = %item.source, item.id = %item.id, error = %e, "cannot record story")
                }
            }
        }
        queued |= self.level_step(&mut state.levels, rules, &summary, now)?;
        Ok((summary, queued))
    }

    fn story_step(
        &self,
        tracker: &mut Tracker,
        rules: &RuleSet,
        summary: &Summary,
        item: &Item,
        matches: &[Match],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let policy = self.policy();
        let (story, new) = tracker.add(StoryItem::new(item, matches, now));
        if new && let Some(m) = story.items[0].matches.iter().max_by_key(|m| m.severity) {
            self.metrics.observe_story(&m.indicator);
        }
        let action = policy.story_action(story, now);
        let title_of = |id: &str| indicator_title(rules, id);
        let score_of = |id: &str| {
            summary
                .indicators
                .iter()
                .find(|s| s.indicator == id)
                .cloned()
        };
        let last = story.items.last().expect("the item was just added");
        match action {
            StoryAction::Record => {
                self.store
                    .record_story(story, last, AlertWrite::None, now)?;
                Ok(false)
            }
            StoryAction::Raise { severity, repeat } => {
                let mut doc = AlertDoc::for_story(
                    story,
                    severity,
                    &title_of,
                    &score_of,
                    summary.theatre_index,
                    now,
                );
                let silences = self.store.silences(now, false)?;
                doc.silenced_by = silenced_by(&silences, &doc, Some(story), now);
                let sinks = policy.route(&doc);
                self.store.record_story(
                    story,
                    last,
                    AlertWrite::Raise {
                        doc: &mut doc,
                        sinks: &sinks,
                    },
                    now,
                )?;
                self.metrics.observe_alert(&doc);
                tracing::warn!(
                    alert.id = doc.id,
                    story.id = story.id,
                    indicator = %doc.indicator,
                    severity = %doc.severity,
                    sources = doc.sources.len(),
                    repeat,
                    silenced_by = ?doc.silenced_by,
                    sinks = ?sinks,
                    title = %doc.title,
                    "alert raised"
                );
                let routed = if doc.silenced_by.is_some() {
                    Vec::new()
                } else {
                    sinks
                };
                let queued = !routed.is_empty();
                story.alert = Some(AlertState {
                    id: doc.id,
                    created_at: now,
                    severity,
                    sinks: routed,
                    silenced_by: doc.silenced_by,
                });
                Ok(queued)
            }
            StoryAction::Update {
                alert_id,
                severity,
                new_sinks,
            } => {
                // The policy only updates a story that has an alert.
                let Some(before) = story.alert.clone() else {
                    self.store
                        .record_story(story, last, AlertWrite::None, now)?;
                    return Ok(false);
                };
                let mut doc = AlertDoc::for_story(
                    story,
                    severity,
                    &title_of,
                    &score_of,
                    summary.theatre_index,
                    now,
                );
                doc.id = alert_id;
                doc.created_at = before.created_at;
                doc.silenced_by = before.silenced_by;
                let routed = policy.route(&doc);
                let new_sinks: Vec<String> = new_sinks
                    .into_iter()
                    .filter(|s| routed.contains(s))
                    .collect();
                self.store.record_story(
                    story,
                    last,
                    AlertWrite::Update {
                        doc: &doc,
                        new_sinks: &new_sinks,
                    },
                    now,
                )?;
                tracing::info!(
                    alert.id = alert_id,
                    story.id = story.id,
                    source.id = %item.source,
                    sources = doc.sources.len(),
                    severity = %severity,
                    new_sinks = ?new_sinks,
                    "alert updated: story has a new item"
                );
                let queued = !new_sinks.is_empty() && doc.silenced_by.is_none();
                if let Some(a) = &mut story.alert {
                    a.severity = severity;
                    if doc.silenced_by.is_none() {
                        a.sinks.extend(new_sinks);
                    }
                }
                Ok(queued)
            }
        }
    }

    fn level_step(
        &self,
        levels: &mut HashMap<String, Level>,
        rules: &RuleSet,
        summary: &Summary,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let policy = self.policy();
        let mut queued = false;
        for s in &summary.indicators {
            let after = s.score.level;
            let before = levels
                .insert(s.indicator.clone(), after)
                .unwrap_or(Level::Normal);
            if after != before {
                tracing::warn!(
                    indicator = %s.indicator,
                    level = after.as_str(),
                    previous = before.as_str(),
                    activity = s.score.activity,
                    baseline = s.score.baseline,
                    theatre_index = summary.theatre_index,
                    "indicator level changed"
                );
            }
            if after <= before {
                continue;
            }
            let last = self.store.last_level_alert(&s.indicator, after.as_str())?;
            let LevelAction::Raise { severity } = policy.level_action(before, after, last, now)
            else {
                continue;
            };
            let mut doc = AlertDoc::for_level(
                s,
                indicator_title(rules, &s.indicator),
                severity,
                summary.theatre_index,
                now,
            );
            let silences = self.store.silences(now, false)?;
            doc.silenced_by = silenced_by(&silences, &doc, None, now);
            let sinks = policy.route(&doc);
            self.store.record_level_alert(&mut doc, &sinks, now)?;
            self.metrics.observe_alert(&doc);
            tracing::warn!(
                alert.id = doc.id,
                indicator = %doc.indicator,
                level = after.as_str(),
                severity = %severity,
                silenced_by = ?doc.silenced_by,
                sinks = ?sinks,
                "alert raised: indicator level rose"
            );
            queued |= doc.silenced_by.is_none() && !sinks.is_empty();
        }
        Ok(queued)
    }
}

fn indicator_title(rules: &RuleSet, id: &str) -> String {
    rules
        .indicators()
        .iter()
        .find(|i| i.id == id)
        .map_or_else(|| id.to_owned(), |i| i.title.clone())
}

/// Matches each batch, then hands it to `Pipeline::process` on a blocking
/// thread; re-scores on a timer between batches.
pub async fn consume(mut rx: mpsc::Receiver<Vec<Item>>, pipeline: Arc<Pipeline>, wake: Wake) {
    // The first tick fires at once: scores start from the stored matches,
    // so a restart does not reset them.
    let mut rescore = tokio::time::interval(RESCORE_EVERY);
    rescore.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (batch, tick) = tokio::select! {
            batch = rx.recv() => match batch {
                Some(batch) => (batch, false),
                None => return,
            },
            _ = rescore.tick() => (Vec::new(), true),
        };
        let rules = pipeline.rules.current();
        let mut matched = Vec::new();
        for item in batch {
            tracing::debug!(source.id = %item.source, item.id = %item.id, title = %item.title, "new item");
            let matches = rules.match_item(&item);
            pipeline.metrics.observe_matches(&matches);
            for m in &matches {
                tracing::info!(
                    source.id = %item.source,
                    item.id = %item.id,
                    rule.id = %m.rule,
                    indicator = %m.indicator,
                    severity = ?m.severity,
                    shadow = m.shadow,
                    terms = ?m.terms,
                    title = %item.title,
                    "indicator matched"
                );
            }
            if !matches.is_empty() {
                matched.push((item, matches));
            }
        }
        if matched.is_empty() && !tick {
            continue;
        }
        let p = pipeline.clone();
        let done =
            tokio::task::spawn_blocking(move || p.process(&rules, &matched, Utc::now())).await;
        match done {
            Ok(Ok((summary, queued))) => {
                pipeline.metrics.observe_summary(&summary);
                if queued {
                    wake.wake();
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot record or score matches"),
            Err(e) => tracing::error!(error = %e, "scoring task failed"),
        }
        rescore.reset();
    }
}
