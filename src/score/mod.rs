//! Stage 4, pure: matches become indicator scores and levels (`level`), and
//! matched items are grouped into stories (`story`).

pub mod level;
pub mod story;

pub use level::{
    Event, HistoryPoint, IndicatorScore, Level, Score, ScoreModel, Summary, Threshold,
    severity_weight,
};
