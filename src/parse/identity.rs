//! Stable item identity and canonical links.
//!
//! Duplicate alerts are the most visible failure of a monitor, and their
//! classic cause is an unstable id: a parser that invents a random id for an
//! entry without a guid, or a link that changes from http to https or gains
//! tracking parameters. Identity here is derived only from what the publisher
//! gave, canonicalised, never from anything random.

use sha2::{Digest, Sha256};
use url::Url;

/// Query parameters that track clicks and never identify content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_openstat",
    "ref",
    "ref_src",
    "cmpid",
    "ito",
    "at_medium",
    "at_campaign",
    "spm",
    "from",
    "utm",
];

/// Canonical form of a link: scheme-less, lower-case host without `www.`,
/// no fragment, no tracking parameters, remaining parameters sorted, no
/// trailing slash. Two links that differ only in those respects name the
/// same article.
pub fn canonical_link(link: &str) -> Option<String> {
    let url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    let path = url.path().trim_end_matches('/');
    let mut out = format!("//{host}");
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(path);
    if !params.is_empty() {
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push('?');
        out.push_str(&query.join("&"));
    }
    Some(out)
}

fn is_tracking(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || TRACKING_PARAMS.contains(&key.as_str())
}

/// The stable id of an item: the publisher's guid (canonicalised when it is
/// a URL), else the canonical link, else a hash of the folded title and text.
pub fn stable_id(
    guid: Option<&str>,
    link: Option<&str>,
    folded_title: &str,
    folded_text: &str,
) -> String {
    if let Some(guid) = guid.map(str::trim).filter(|g| !g.is_empty()) {
        return match canonical_link(guid) {
            Some(canon) => format!("url:{canon}"),
            None => format!("guid:{guid}"),
        };
    }
    if let Some(canon) = link.and_then(canonical_link) {
        return format!("url:{canon}");
    }
    let mut hasher = Sha256::new();
    hasher.update(folded_title.as_bytes());
    hasher.update([0u8]);
    hasher.update(folded_text.as_bytes());
    format!("sha256:{}", hex::encode(&hasher.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_and_tracking_do_not_change_identity() {
        let a = canonical_link("http://www.Example.com/news/1/?utm_source=rss&id=7#top");
        let b = canonical_link("https://example.com/news/1?id=7&fbclid=xyz");
        assert_eq!(a, b);
        assert_eq!(a.as_deref(), Some("//example.com/news/1?id=7"));
    }

    #[test]
    fn guid_first_then_link_then_hash() {
        assert_eq!(
            stable_id(Some("abc-1"), Some("https://x.org/a"), "t", ""),
            "guid:abc-1"
        );
        assert_eq!(
            stable_id(None, Some("https://x.org/a?utm_medium=x"), "t", ""),
            "url://x.org/a"
        );
        let h1 = stable_id(None, None, "title", "text");
        assert_eq!(
            h1,
            stable_id(Some("  "), Some("not a url"), "title", "text")
        );
        assert_ne!(h1, stable_id(None, None, "title", "other"));
    }
}
