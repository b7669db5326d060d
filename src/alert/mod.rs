//! Stage 5, pure: matched items grouped into stories become alerts.
//!
//! - `tracker` keeps the live stories (the last `story_window`) with their
//!   items and the state of their alert, so a decision needs no query.
//! - `policy` decides: a new story pages once, when fresh and severe
//!   enough (after corroboration); more sources update it; it may page again
//!   only after the repeat interval. Level rises page the same way.
//! - `doc` is the alert document: what the store keeps, what the API shows
//!   and what the generic webhook sends (its schema is documented there).
//! - `silence` says which silences hold an alert back.
//!
//! Nothing here does IO: `app` feeds it and `store` writes what it decides,
//! alert and outbox in one transaction.

pub mod doc;
pub mod policy;
pub mod silence;
pub mod tracker;

pub use doc::{AlertDoc, AlertKind};
pub use policy::{LevelAction, Policy, StoryAction};
pub use silence::Silence;
pub use tracker::{AlertState, LiveStory, StoryItem, Tracker};
