//! Character-set detection and decoding of fetched documents.
//!
//! Russian outlets still serve windows-1251 and KOI8-R. The charset is taken,
//! in order, from a byte-order mark, the HTTP `Content-Type` header, the XML
//! declaration, or an HTML `<meta charset>`; UTF-8 is the fallback. Documents
//! are decoded to UTF-8 once here, and the XML declaration is rewritten so the
//! feed parser does not try to decode them a second time.

use encoding_rs::{Encoding, UTF_8};
use std::borrow::Cow;

/// Decodes `bytes` to UTF-8 text using the best charset evidence available.
pub fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let (encoding, bom_len) = match Encoding::for_bom(bytes) {
        Some((enc, len)) => (enc, len),
        None => (
            utf16_without_bom(bytes)
                .or_else(|| detect(bytes, content_type))
                .unwrap_or(UTF_8),
            0,
        ),
    };
    let body = &bytes[bom_len..];
    if encoding == UTF_8 {
        // `from_utf8` is the fast validator; the lossy one walks the bytes
        // in chunks and is only needed for invalid input.
        return match std::str::from_utf8(body) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(body),
        };
    }
    let (text, _) = encoding.decode_without_bom_handling(body);
    Cow::Owned(rewrite_xml_declaration(&text))
}

/// XML's autodetection of UTF-16 without a byte-order mark: `<?` encoded
/// as 16-bit units (XML 1.0 appendix F). Such a document must be decoded
/// here; handed on as bytes it would crash or confuse the XML reader.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes.get(..4)? {
        [0, b'<', 0, b'?'] => Some(encoding_rs::UTF_16BE),
        [b'<', 0, b'?', 0] => Some(encoding_rs::UTF_16LE),
        _ => None,
    }
}

/// Names the charset a document declares, without decoding it.
pub fn detect(bytes: &[u8], content_type: Option<&str>) -> Option<&'static Encoding> {
    content_type
        .and_then(charset_param)
        .or_else(|| declared_in_document(bytes))
}

fn charset_param(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// Looks for `encoding="..."` in an XML declaration or `charset=` in an HTML
/// meta tag within the first kilobyte (both are ASCII-compatible there).
fn declared_in_document(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let value_after = |key: &str| -> Option<&'static Encoding> {
        let start = head.find(key)? + key.len();
        let rest = head[start..].trim_start_matches(['=', ' ', '"', '\'']);
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))?;
        Encoding::for_label(&rest.as_bytes()[..end])
    };
    if head.trim_start().starts_with("<?xml") {
        let decl_end = head.find("?>")?;
        let decl = &head[..decl_end];
        if decl.contains("encoding") {
            return value_after("encoding");
        }
        return None;
    }
    value_after("charset")
}

/// Replaces the declared encoding of an already-decoded XML document with
/// UTF-8, so a parser that honours the declaration reads the text as it is.
fn rewrite_xml_declaration(text: &str) -> String {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("<?xml") {
        return text.to_owned();
    }
    let Some(end) = trimmed.find("?>") else {
        return text.to_owned();
    };
    let decl = &trimmed[..end];
    let Some(enc_at) = decl.find("encoding") else {
        return text.to_owned();
    };
    let after = &decl[enc_at + "encoding".len()..];
    let Some(q1) = after.find(['"', '\'']) else {
        return text.to_owned();
    };
    let quote = after.as_bytes()[q1] as char;
    let Some(q2) = after[q1 + 1..].find(quote) else {
        return text.to_owned();
    };
    let value_start = enc_at + "encoding".len() + q1 + 1;
    let value_end = value_start + q2;
    let mut out = String::with_capacity(trimmed.len());
    out.push_str(&trimmed[..value_start]);
    out.push_str("utf-8");
    out.push_str(&trimmed[value_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1251_from_xml_declaration() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Азербайджан");
        let mut doc = br#"<?xml version="1.0" encoding="windows-1251"?><t>"#.to_vec();
        doc.extend_from_slice(&bytes);
        doc.extend_from_slice(b"</t>");
        let text = decode(&doc, None);
        assert_eq!(
            text,
            r#"<?xml version="1.0" encoding="utf-8"?><t>Азербайджан</t>"#
        );
    }

    #[test]
    fn koi8r_from_http_header_wins() {
        let (bytes, _, _) = encoding_rs::KOI8_R.encode("Баку");
        let text = decode(&bytes, Some("text/xml; charset=\"KOI8-R\""));
        assert_eq!(text, "Баку");
    }

    #[test]
    fn utf16_without_bom_is_detected() {
        let doc: Vec<u8> = "<?xml version=\"1.0\" encoding=\"utf-16\"?><t>Бакı</t>"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(
            decode(&doc, None),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><t>Бакı</t>"
        );
    }

    #[test]
    fn utf8_by_default() {
        assert_eq!(decode("Bakı".as_bytes(), None), "Bakı");
    }
}
