//! RSS, Atom and JSON Feed documents, read with `feed-rs`.

use super::{ParseError, RawEntry, SourceCtx, build_item};
use crate::model::Item;
use chrono::{DateTime, Utc};

/// Parses a UTF-8 feed document into items.
pub fn parse(bytes: &[u8], ctx: &SourceCtx, now: DateTime<Utc>) -> Result<Vec<Item>, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        // feed-rs would otherwise invent an id for entries without one; an
        // empty id tells us the publisher gave none, and identity falls back
        // to the link or a content hash instead.
        .id_generator(|_, _, _| String::new())
        // Markup is stripped to plain text later; sanitising HTML first
        // would be wasted work on every summary.
        .sanitize_content(false)
        .build();
    // feed-rs and quick-xml have panicked on hostile input before; a panic
    // in a third-party parser must fail this document, not the poller.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|_| ParseError::Feed("the feed parser panicked on this document".into()))?;
    let mut feed = parsed.map_err(|e| ParseError::Feed(e.to_string()))?;
    if feed.entries.is_empty()
        && let Some(plain) = without_userland_namespace(bytes)
        && let Ok(Ok(retry)) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(&plain[..])))
    {
        feed = retry;
    }
    let feed_lang = feed.language.as_deref();
    let items = feed
        .entries
        .iter()
        .filter_map(|entry| {
            let body = entry
                .summary
                .as_ref()
                .map(|t| t.content.as_str())
                .filter(|s| !s.trim().is_empty())
                .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()));
            let link = entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .or_else(|| entry.links.first())
                .map(|l| l.href.as_str());
            let raw = RawEntry {
                guid: Some(entry.id.as_str()),
                title: entry.title.as_ref().map(|t| t.content.as_str()),
                body,
                link,
                published: entry.published.or(entry.updated),
                lang: entry.language.as_deref().or(feed_lang),
            };
            build_item(raw, ctx, now)
        })
        .collect();
    Ok(items)
}

/// Some RSS 2.0 feeds put every element in UserLand's default namespace
/// (`<rss xmlns="http://backend.userland.com/rss2">`), which namespace-aware
/// parsers do not recognise as RSS, so they find no items. Dropping that
/// one declaration turns such a feed back into plain RSS 2.0.
fn without_userland_namespace(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    for scheme in ["http", "https"] {
        let decl = format!(" xmlns=\"{scheme}://backend.userland.com/rss2\"");
        if text.contains(&decl) {
            return Some(text.replacen(&decl, "", 1).into_bytes());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SourceCtx {
        SourceCtx {
            id: "t".into(),
            ..Default::default()
        }
    }

    #[test]
    fn rss_without_guid_gets_a_stable_id() {
        let xml = br#"<rss version="2.0"><channel><title>x</title>
            <item><title>Raid in Yekaterinburg</title><description>&lt;p&gt;Two &amp;amp; three&lt;/p&gt;</description></item>
            </channel></rss>"#;
        let now = Utc::now();
        let a = parse(xml, &ctx(), now).unwrap();
        let b = parse(xml, &ctx(), now).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].id, b[0].id);
        assert!(a[0].id.starts_with("sha256:"));
        assert_eq!(a[0].summary, "Two & three");
        assert!(!a[0].dated);
    }

    #[test]
    fn rss_in_userland_default_namespace_has_items() {
        let xml = br#"<rss version="2.0" xmlns="https://backend.userland.com/rss2"><channel><title>x</title>
            <item><title>One</title><guid>1</guid></item></channel></rss>"#;
        assert_eq!(parse(xml, &ctx(), Utc::now()).unwrap().len(), 1);
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(parse(b"<rss><channel><item>", &ctx(), Utc::now()).is_err());
    }
}
