//! Inline SVG sparklines: a week of activity in a few hundred bytes, with
//! no script and no external asset.

use crate::score::Level;
use maud::{Markup, html};
use std::fmt::Write;

const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 44.0;
/// The strip under the line that shows the level at each point.
const STRIP: f64 = 5.0;

/// The CSS class of a level (colours are in `style.css`).
pub fn level_class(level: Level) -> &'static str {
    match level {
        Level::Normal => "lv-normal",
        Level::Elevated => "lv-elevated",
        Level::High => "lv-high",
        Level::Critical => "lv-critical",
    }
}

/// A sparkline of `values` (oldest first). The line is scaled to `max`, or
/// to the largest value when `max` is `None`; `levels`, when given (one per
/// value), colour a strip under the line wherever the level was raised.
pub fn sparkline(
    values: &[f64],
    levels: Option<&[Level]>,
    max: Option<f64>,
    label: &str,
) -> Markup {
    let top = max
        .unwrap_or_else(|| values.iter().copied().fold(0.0, f64::max))
        .max(1e-9);
    let plot = HEIGHT - STRIP - 2.0;
    let step = if values.len() > 1 {
        WIDTH / (values.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| i as f64 * step;
    let y = |v: f64| 1.0 + plot * (1.0 - (v / top).clamp(0.0, 1.0));
    let mut line = String::new();
    for (i, v) in values.iter().enumerate() {
        let _ = write!(
            line,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { " L" },
            x(i),
            y(*v)
        );
    }
    let base = 1.0 + plot;
    let area = if values.is_empty() {
        String::new()
    } else {
        format!(
            "{line} L{:.1},{base:.1} L0,{base:.1} Z",
            x(values.len() - 1)
        )
    };
    let bands = levels.map(level_runs).unwrap_or_default();
    html! {
        svg.spark width=(WIDTH) height=(HEIGHT) viewBox={"0 0 " (WIDTH) " " (HEIGHT)}
            role="img" aria-label=(label) {
            title { (label) }
            path.area d=(area) {}
            path.line d=(line) {}
            @for (start, end, level) in bands {
                rect class=(level_class(level)) x=(format!("{:.1}", x(start)))
                    y=(HEIGHT - STRIP) width=(format!("{:.1}", (x(end) - x(start)).max(2.0)))
                    height=(STRIP) {}
            }
        }
    }
}

/// Runs of raised levels: `(first index, last index, level)`.
fn level_runs(levels: &[Level]) -> Vec<(usize, usize, Level)> {
    let mut runs: Vec<(usize, usize, Level)> = Vec::new();
    for (i, &level) in levels.iter().enumerate() {
        match runs.last_mut() {
            Some((_, end, l)) if *l == level && *end + 1 == i => *end = i,
            _ if level > Level::Normal => runs.push((i, i, level)),
            _ => {}
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_raised_levels() {
        use Level::*;
        let levels = [Normal, Elevated, Elevated, High, Normal, Critical];
        assert_eq!(
            level_runs(&levels),
            [(1, 2, Elevated), (3, 3, High), (5, 5, Critical)]
        );
    }

    #[test]
    fn draws_a_path_per_point_and_escapes_the_label() {
        let svg = sparkline(&[0.0, 2.0, 1.0], None, None, "a <b>").into_string();
        assert!(
            svg.contains(r#"d="M0.0,38.0 L120.0,1.0 L240.0,19.5""#),
            "{svg}"
        );
        assert!(svg.contains("a &lt;b&gt;"), "{svg}");
        let empty = sparkline(&[], None, None, "none").into_string();
        assert!(empty.contains("<svg"), "{empty}");
    }
}
