//! Markup to plain display text, and language guessing.

use super::normalise::collapse_whitespace;
use std::borrow::Cow;

/// Turns an HTML (or plain) fragment into plain text: tags removed,
/// `<script>`/`<style>` bodies dropped, entities decoded, whitespace collapsed.
///
/// This is a linear scanner rather than a DOM parse: feed summaries are
/// small fragments, often truncated mid-tag, and a full HTML5 parse per item
/// would cost more than parsing the whole feed. Pages read with selectors
/// (`html` sources) go through `scraper` instead.
pub fn html_to_text(input: &str) -> String {
    if !input.contains(['<', '&']) {
        return collapse_whitespace(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tag = &rest[lt..];
        let Some(gt) = tag.find('>') else {
            // An unterminated tag at the end (a truncated summary): drop it.
            rest = "";
            break;
        };
        let name = tag_name(&tag[1..gt]);
        rest = &tag[gt + 1..];
        if name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style") {
            let name = name.to_ascii_lowercase();
            let close = format!("</{name}");
            rest = match find_ascii_ci(rest, &close) {
                Some(at) => rest[at..].find('>').map_or("", |e| &rest[at + e + 1..]),
                None => "",
            };
        }
        // Block-level tags separate words ("<p>a</p><p>b</p>" is "a b").
        out.push(' ');
    }
    out.push_str(rest);
    if !out.contains('&') {
        // Nothing to decode (the common case of markup without entities).
        return collapse_whitespace(&out);
    }
    let decoded: Cow<str> = html_escape::decode_html_entities(&out);
    collapse_whitespace(&decoded)
}

fn tag_name(tag: &str) -> &str {
    tag.trim_start_matches('/')
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or("")
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Normalises a language tag to its primary subtag (`ru-RU` → `ru`).
pub fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (primary.len() >= 2 && primary.len() <= 3 && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then_some(primary)
}

/// Guesses the language of a text. The three languages of the first theatre
/// are told apart by script, which is cheap and reliable for headlines:
/// Azerbaijani Latin letters (`ə`), Cyrillic (Russian, or Azerbaijani Cyrillic
/// with `ә`/`ғ`/`ҹ`); other text is left to `whatlang`.
pub fn detect_language(text: &str) -> Option<String> {
    let mut cyrillic = 0usize;
    let mut latin = 0usize;
    for c in text.chars() {
        match c {
            'ə' | 'Ə' | 'ә' | 'Ә' | 'ҹ' | 'Ҹ' | 'ғ' | 'Ғ' => return Some("az".into()),
            '\u{0400}'..='\u{04FF}' => cyrillic += 1,
            c if c.is_ascii_alphabetic() => latin += 1,
            _ => {}
        }
    }
    if cyrillic > latin {
        return Some("ru".into());
    }
    let info = whatlang::detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    let code = info.lang().code();
    // whatlang speaks ISO 639-3; feeds and source hints use ISO 639-1.
    let short = match code {
        "eng" => "en",
        "rus" => "ru",
        "aze" => "az",
        "ukr" => "uk",
        "tur" => "tr",
        "kat" => "ka",
        "hye" => "hy",
        "pol" => "pl",
        "deu" => "de",
        "fra" => "fr",
        "spa" => "es",
        other => other,
    };
    Some(short.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_scripts_and_entities() {
        let html =
            "<p>Baku &amp; Moscow</p><script>alert(1)</script><p>talks&nbsp;stall</p><img src=x";
        assert_eq!(html_to_text(html), "Baku & Moscow talks stall");
    }

    #[test]
    fn plain_text_passes_through() {
        assert_eq!(html_to_text("  plain\n text "), "plain text");
    }

    #[test]
    fn languages_by_script() {
        assert_eq!(
            detect_language("Bakıda yeni park istifadəyə verilib").as_deref(),
            Some("az")
        );
        assert_eq!(
            detect_language("В Баку открылась выставка").as_deref(),
            Some("ru")
        );
        assert_eq!(primary_language("ru-RU").as_deref(), Some("ru"));
    }
}
