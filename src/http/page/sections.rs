//! The sections of the status page, each a function of [`PageData`]. A new
//! section is one more function here and one line in `render`.

use super::PageData;
use super::highlight::highlight;
use super::sparkline::{level_class, sparkline};
use crate::http::api::items::ItemView;
use crate::model::Severity;
use crate::score::Level;
use crate::source::health::Status;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

/// Characters of an item's summary shown under its title.
const SNIPPET_CHARS: usize = 280;

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "42 s ago", "5 min ago", "3 h ago", "2 d ago"; "in 4 min" for the future.
fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let n = secs.unsigned_abs();
    let span = match n {
        0..60 => format!("{n} s"),
        60..3600 => format!("{} min", n / 60),
        3600..86400 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86400),
    };
    if secs < 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// A time as "5 min ago", with the exact time on hover.
fn when(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => html! { time datetime=(t.to_rfc3339()) title=(utc(t)) { (ago(now, t)) } },
        None => html! { span.muted { "never" } },
    }
}

/// The link of an item, if it is one a browser may follow: only absolute
/// `http(s)` URLs, so a feed's `javascript:` or `data:` link stays text.
pub fn safe_link(link: Option<&str>) -> Option<String> {
    let url = url::Url::parse(link?.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// `text` with the matched `terms` in `<mark>`.
fn marked(text: &str, terms: &[String]) -> Markup {
    html! {
        @for (run, hit) in highlight(text, terms) {
            @if hit { mark { (run) } } @else { (run) }
        }
    }
}

fn snippet(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The title bar: when, and the theatre index with its week.
pub fn header(data: &PageData) -> Markup {
    let board = &data.board;
    let week: Vec<f64> = board.theatre_history.iter().map(|p| p.index).collect();
    html! {
        header.top {
            div {
                h1 { "tocsin" }
                p.muted {
                    "Risk indicators as of "
                    time datetime=(data.now.to_rfc3339()) { (utc(data.now)) }
                }
            }
            div.theatre {
                div.label { "Theatre index" }
                div.value { (format!("{:.0}", board.theatre_index)) span.of { " / 100" } }
                (sparkline(&week, None, Some(100.0), "Theatre index over the last 7 days"))
            }
        }
    }
}

/// Every indicator as a card: level, activity, baseline and its week;
/// the most alarming first.
pub fn indicators(data: &PageData) -> Markup {
    let mut cards: Vec<_> = data.board.indicators.iter().collect();
    cards.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.activity.total_cmp(&a.activity))
    });
    html! {
        section #indicators {
            h2 { "Indicators" }
            div.grid {
                @for ind in cards {
                    @let week: Vec<f64> = ind.history.iter().map(|p| p.activity).collect();
                    @let levels: Vec<Level> = ind.history.iter().map(|p| p.level).collect();
                    article class={ "card " (level_class(ind.level)) } {
                        div.card-head {
                            span class={ "badge " (level_class(ind.level)) } { (ind.level.as_str()) }
                            h3 title=(ind.description) { (ind.title) }
                        }
                        p.id { code { (ind.id) } }
                        dl.nums {
                            div { dt { "activity" } dd { (format!("{:.1}", ind.activity)) } }
                            div { dt { "baseline" } dd { (format!("{:.1}", ind.baseline)) } }
                            div { dt { "matches 7 d" } dd { (ind.matches_7d) } }
                        }
                        (sparkline(&week, Some(&levels), None, &format!("{}: activity over the last 7 days", ind.title)))
                    }
                }
            }
        }
    }
}

/// The latest alerts: severity, indicator, the story's title linked to the
/// article with the matched words marked, its sources and where each
/// delivery stands (or the silence that held it back).
pub fn recent_alerts(data: &PageData) -> Markup {
    html! {
        section #alerts {
            h2 { "Recent alerts" }
            @if data.alerts.is_empty() {
                p.muted { "No alerts yet." }
            } @else {
                table {
                    thead { tr { th { "raised" } th { "alert" } th { "story" } th { "sources" } th { "delivery" } } }
                    tbody {
                        @for view in &data.alerts {
                            @let a = &view.alert;
                            @let terms: Vec<String> = a.terms().iter().map(|t| (*t).to_owned()).collect();
                            tr {
                                td.nowrap { (when(data.now, Some(a.created_at))) }
                                td {
                                    span class={ "sev sev-" (a.severity) } title=(a.severity) { (a.indicator) }
                                    " " span.muted { "#" (a.id) " " (a.kind.as_str()) }
                                }
                                td.item {
                                    @if let Some(href) = safe_link(a.link.as_deref()) {
                                        a.title href=(href) rel="noopener noreferrer nofollow" target="_blank" {
                                            (marked(&a.title, &terms))
                                        }
                                    } @else {
                                        span.title { (marked(&a.title, &terms)) }
                                    }
                                    @if !terms.is_empty() {
                                        p.summary { "matched: " @for (i, t) in terms.iter().enumerate() { @if i > 0 { ", " } mark { (t) } } }
                                    }
                                }
                                td { (a.sources.len()) @if !a.sources.is_empty() { " " span.muted title=(a.sources.join(", ")) { "(" (snippet(&a.sources.join(", "))) ")" } } }
                                td.nowrap {
                                    @if let Some(id) = a.silenced_by {
                                        span.muted { "silenced (" (id) ")" }
                                    } @else if view.deliveries.is_empty() {
                                        span.muted { "no sink" }
                                    } @else {
                                        @for d in &view.deliveries {
                                            span class={ "dlv dlv-" (d.state) } title=(d.last_error.as_deref().unwrap_or("")) { (d.sink) ": " (d.state) } " "
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The indicators an item matched, most severe match of each; an
/// indicator matched only by shadow rules is marked so.
fn item_badges(item: &ItemView) -> Vec<(&str, Severity, bool)> {
    let mut badges: Vec<(&str, Severity, bool)> = Vec::new();
    for m in &item.matches {
        match badges.iter_mut().find(|(i, _, _)| *i == m.indicator) {
            Some((_, severity, shadow)) => {
                *severity = (*severity).max(m.severity);
                *shadow &= m.shadow;
            }
            None => badges.push((&m.indicator, m.severity, m.shadow)),
        }
    }
    badges
}

/// The most recent matched items, matched words marked.
pub fn recent_items(data: &PageData) -> Markup {
    html! {
        section #items {
            h2 { "Recent matched items" }
            @if data.items.is_empty() {
                p.muted { "No matched items yet." }
            } @else {
                table {
                    thead { tr { th { "seen" } th { "source" } th { "indicators" } th { "item" } } }
                    tbody {
                        @for item in &data.items {
                            @let terms: Vec<String> = item.matches.iter().flat_map(|m| m.terms.iter().cloned()).collect();
                            tr {
                                td.nowrap { (when(data.now, Some(item.first_seen))) }
                                td { code { (item.source) } }
                                td {
                                    @for (indicator, severity, shadow) in item_badges(item) {
                                        span class={ "sev sev-" (severity) @if shadow { " shadow" } }
                                            title={ (severity) @if shadow { ", shadow rules only" } } {
                                            (indicator)
                                        }
                                    }
                                }
                                td.item {
                                    @if let Some(href) = safe_link(item.link.as_deref()) {
                                        a.title href=(href) rel="noopener noreferrer nofollow" target="_blank" {
                                            (marked(&item.title, &terms))
                                        }
                                    } @else {
                                        span.title { (marked(&item.title, &terms)) }
                                    }
                                    @if !item.summary.is_empty() {
                                        p.summary { (marked(&snippet(&item.summary), &terms)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Ok => "ok",
        Status::Failing => "failing",
        Status::Silent => "silent",
    }
}

/// Every source's health.
pub fn sources(data: &PageData) -> Markup {
    html! {
        section #sources {
            h2 { "Sources" }
            table {
                thead { tr {
                    th { "source" } th { "health" } th { "last success" } th { "last new item" }
                    th.num { "failures" } th { "next poll" } th { "note" }
                } }
                tbody {
                    @for s in &data.sources {
                        tr {
                            td { code { (s.id) } br; span.muted.small { (s.kind) " · " (s.location) } }
                            td { span class={ "health h-" (status_name(s.health)) } { (status_name(s.health)) } }
                            td.nowrap { (when(data.now, s.last_success)) }
                            td.nowrap { (when(data.now, s.last_new_item)) }
                            td.num { (s.consecutive_failures) }
                            td.nowrap { (when(data.now, s.next_due)) }
                            td.note { (s.silent_reason.as_deref().or(s.last_error.as_deref()).unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_links_are_followed() {
        for ok in ["https://a.example/x?y=1", " http://a.example/ "] {
            assert!(safe_link(Some(ok)).is_some(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//a.example/x",
            "/relative",
            "vbscript:x",
        ] {
            assert_eq!(safe_link(Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_link(None), None);
    }

    #[test]
    fn times_read_naturally() {
        let now = Utc::now();
        let s = |secs| ago(now, now - chrono::Duration::seconds(secs));
        assert_eq!(
            [s(5), s(300), s(7200), s(200_000), s(-120)],
            ["5 s ago", "5 min ago", "2 h ago", "2 d ago", "in 2 min"]
        );
        assert_eq!(snippet("abc"), "abc");
        assert_eq!(snippet(&"я".repeat(300)).chars().count(), SNIPPET_CHARS + 1);
    }
}
