//! Web pages without a feed, read with CSS selectors from config.

use super::{RawEntry, SourceCtx, build_item, jsonl::parse_date};
use crate::model::Item;
use chrono::{DateTime, Utc};
use scraper::{ElementRef, Html, Selector};
use url::Url;

/// Compiled CSS selectors of an `html` source.
#[derive(Debug, Clone)]
pub struct HtmlSpec {
    item: Selector,
    title: Option<Selector>,
    link: Option<Selector>,
    summary: Option<Selector>,
    date: Option<Selector>,
}

/// Selector strings as written in config.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlSelectors {
    pub item: String,
    pub title: Option<String>,
    pub link: Option<String>,
    pub summary: Option<String>,
    pub date: Option<String>,
}

impl HtmlSpec {
    /// Compiles the selectors; the error names the selector that is invalid.
    pub fn compile(s: &HtmlSelectors) -> Result<HtmlSpec, String> {
        let one = |name: &str, css: &str| {
            Selector::parse(css).map_err(|e| format!("{name}: invalid CSS selector {css:?}: {e}"))
        };
        let opt =
            |name: &str, css: &Option<String>| css.as_deref().map(|c| one(name, c)).transpose();
        Ok(HtmlSpec {
            item: one("item", &s.item)?,
            title: opt("title", &s.title)?,
            link: opt("link", &s.link)?,
            summary: opt("summary", &s.summary)?,
            date: opt("date", &s.date)?,
        })
    }
}

/// What a page gave: the items, and how many elements matched the item
/// selector (zero means the scraper is broken, which must be visible).
pub struct Page {
    pub items: Vec<Item>,
    pub matched: usize,
}

/// Extracts items from a page. Links are resolved against `base`.
pub fn parse_page(
    html: &str,
    base: &Url,
    spec: &HtmlSpec,
    ctx: &SourceCtx,
    now: DateTime<Utc>,
) -> Page {
    let doc = Html::parse_document(html);
    let lang = doc.root_element().value().attr("lang").map(str::to_owned);
    let mut items = Vec::new();
    let mut matched = 0;
    for element in doc.select(&spec.item) {
        matched += 1;
        let title = match &spec.title {
            Some(sel) => element.select(sel).next().map(text_of),
            None => Some(text_of(element)),
        };
        let link_el = match &spec.link {
            Some(sel) => element.select(sel).next(),
            None => first_anchor(element),
        };
        let link = link_el
            .and_then(|a| a.value().attr("href"))
            .and_then(|href| base.join(href).ok())
            .map(String::from);
        let summary = spec
            .summary
            .as_ref()
            .and_then(|sel| element.select(sel).next())
            .map(text_of);
        let published = spec
            .date
            .as_ref()
            .and_then(|sel| element.select(sel).next())
            .and_then(|d| {
                d.value()
                    .attr("datetime")
                    .and_then(parse_date)
                    .or_else(|| parse_date(&text_of(d)))
            });
        let raw = RawEntry {
            guid: None,
            title: title.as_deref(),
            body: summary.as_deref(),
            link: link.as_deref(),
            published,
            lang: lang.as_deref(),
        };
        items.extend(build_item(raw, ctx, now));
    }
    Page { items, matched }
}

fn text_of(element: ElementRef<'_>) -> String {
    element.text().collect::<Vec<_>>().join(" ")
}

fn first_anchor(element: ElementRef<'_>) -> Option<ElementRef<'_>> {
    if element.value().name() == "a" {
        return Some(element);
    }
    let anchor = Selector::parse("a[href]").expect("static selector");
    element.select(&anchor).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_items_with_selectors() {
        let html = r#"<html lang="en"><body>
          <article class="news"><h2><a href="/a/1">Border fire near Tovuz</a></h2><p class="lede">Shots exchanged.</p><time datetime="2025-07-01T10:00:00Z">1 July</time></article>
          <article class="news"><h2><a href="https://other.org/b">Second</a></h2></article>
        </body></html>"#;
        let spec = HtmlSpec::compile(&HtmlSelectors {
            item: "article.news".into(),
            title: Some("h2".into()),
            link: None,
            summary: Some("p.lede".into()),
            date: Some("time".into()),
        })
        .unwrap();
        let base = Url::parse("https://example.az/news/").unwrap();
        let page = parse_page(html, &base, &spec, &SourceCtx::default(), Utc::now());
        assert_eq!(page.matched, 2);
        assert_eq!(page.items[0].title, "Border fire near Tovuz");
        assert_eq!(
            page.items[0].link.as_deref(),
            Some("https://example.az/a/1")
        );
        assert!(page.items[0].dated);
        assert_eq!(page.items[0].lang.as_deref(), Some("en"));
        assert_eq!(page.items[1].link.as_deref(), Some("https://other.org/b"));
    }

    #[test]
    fn invalid_selector_is_named() {
        let err = HtmlSpec::compile(&HtmlSelectors {
            item: "div[".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("item: invalid CSS selector"), "{err}");
    }
}
