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
    let feed = parser
        .parse(bytes)
        .map_err(|e| ParseError::Feed(e.to_string()))?;
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
    fn malformed_xml_is_an_error() {
        assert!(parse(b"<rss><channel><item>", &ctx(), Utc::now()).is_err());
    }
}
