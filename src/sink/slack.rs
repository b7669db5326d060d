//! Slack incoming webhooks: one Block Kit message per alert.
//!
//! Every feed-derived string goes through [`escape`] (Slack's `&`, `<`, `>`
//! control sequences), so an item titled `<!channel>` or
//! `<https://evil|click>` is shown as text and cannot ping or forge a link;
//! link targets are only http(s) and cannot close the `<url|text>` form.
//! Texts are cut to Slack's limits on character boundaries.

use crate::alert::AlertDoc;
use crate::model::Severity;
use serde_json::{Value, json};

/// Slack's limits (https://api.slack.com/reference/block-kit/blocks).
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const CONTEXT_MAX: usize = 2000;
/// Sources listed by name before "and N more".
const SOURCES_SHOWN: usize = 20;

/// Escapes text for Slack's mrkdwn and plain text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    // Never leave half an escape sequence such as `&am` behind.
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
    {
        out.truncate(amp);
    }
    out.push('…');
    out
}

/// A link `<url|text>` when `url` is http(s), else just the text. The URL's
/// `|`, `<` and `>` are percent-encoded so it cannot end the link early.
fn link(url: Option<&str>, text: &str) -> String {
    match url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        Some(u) => {
            let u = u
                .replace('|', "%7C")
                .replace('<', "%3C")
                .replace('>', "%3E")
                .replace(' ', "%20");
            format!("<{u}|{text}>")
        }
        None => text.to_owned(),
    }
}

fn badge(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => ":red_circle: CRITICAL",
        Severity::Warning => ":large_orange_circle: WARNING",
        Severity::Info => ":large_blue_circle: INFO",
    }
}

/// The message body for `alert`.
pub fn message(alert: &AlertDoc) -> Value {
    let title = escape(&alert.title);
    let headline = format!(
        "{} · {}",
        badge(alert.severity),
        escape(&alert.indicator_title)
    );
    let heading = format!(
        "*{}*\nLevel *{}* · activity {:.1} (baseline {:.1}) · theatre index {:.0}",
        link(alert.link.as_deref(), &truncate(&title, 500)),
        alert.level.as_str(),
        alert.score.activity,
        alert.score.baseline,
        alert.score.theatre_index,
    );
    let terms: Vec<String> = alert
        .terms()
        .iter()
        .map(|t| format!("`{}`", escape(t).replace('`', "'")))
        .collect();
    let words = if terms.is_empty() {
        "—".to_owned()
    } else {
        terms.join(", ")
    };
    let mut sources: Vec<String> = alert
        .sources
        .iter()
        .take(SOURCES_SHOWN)
        .map(|s| escape(s))
        .collect();
    if alert.sources.len() > SOURCES_SHOWN {
        sources.push(format!("and {} more", alert.sources.len() - SOURCES_SHOWN));
    }
    let sources = if sources.is_empty() {
        "—".to_owned()
    } else {
        sources.join(", ")
    };
    let published = alert.published.map_or_else(
        || "undated".to_owned(),
        |p| p.format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    let context = format!(
        "Published {published} · rules: {} · alert {}",
        escape(&alert.rules.join(", ")),
        alert.id
    );
    json!({
        // The notification text (and what clients without blocks show).
        "text": truncate(&format!("[{}] {}: {}", alert.severity.as_str().to_uppercase(), escape(&alert.indicator_title), title), SECTION_MAX),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&headline, HEADER_MAX), "emoji": true}},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&heading, SECTION_MAX)}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": truncate(&format!("*Matched words*\n{words}"), FIELD_MAX)},
                {"type": "mrkdwn", "text": truncate(&format!("*Sources ({})*\n{sources}", alert.sources.len()), FIELD_MAX)},
            ]},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": truncate(&context, CONTEXT_MAX)},
            ]},
        ],
        // Links in the text are ours; Slack must not unfurl article pages.
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_sequences_and_keeps_links_closed() {
        assert_eq!(
            escape("<!channel> & <https://evil|click>"),
            "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"
        );
        assert_eq!(
            link(Some("https://x.org/a|b>c"), "t"),
            "<https://x.org/a%7Cb%3Ec|t>"
        );
        assert_eq!(link(Some("javascript:alert(1)"), "t"), "t");
    }

    #[test]
    fn truncation_respects_chars_and_escapes() {
        assert_eq!(truncate("абвгд", 3), "аб…");
        assert_eq!(truncate("ab&amp;", 5), "ab…");
        assert_eq!(truncate("short", 10), "short");
    }
}
