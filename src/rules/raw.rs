//! Serde structs that mirror a rule file exactly, spans included.
//!
//! Nothing here is checked beyond TOML types and known keys: `compile`
//! validates the raw tree and reports every problem with its position.
//! Match expressions use a hand-written visitor so that a bad operator table
//! becomes a collected error instead of aborting the whole file.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use toml::Spanned;

/// One rule file: any mix of indicators, context groups and rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub indicator: Vec<RawIndicator>,
    #[serde(default)]
    pub context: BTreeMap<Spanned<String>, RawContext>,
    #[serde(default)]
    pub rule: Vec<RawRule>,
}

/// `[[indicator]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndicator {
    pub id: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub cameo: Vec<String>,
    #[serde(default)]
    pub acled: Vec<String>,
}

/// `[context.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContext {
    #[serde(default)]
    #[allow(dead_code)] // documentation for authors; kept so the key is known
    pub description: String,
    #[serde(default)]
    pub terms: Vec<Spanned<String>>,
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
}

/// `[[rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: Spanned<String>,
    pub indicator: Spanned<String>,
    pub severity: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
    pub mode: Option<Spanned<String>>,
    pub scope: Option<Spanned<String>>,
    #[serde(rename = "match")]
    pub expr: Spanned<RawExpr>,
    #[serde(default)]
    pub examples: RawExamples,
}

/// `[rule.examples]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExamples {
    #[serde(default, rename = "match")]
    pub matches: Vec<String>,
    #[serde(default)]
    pub no_match: Vec<String>,
}

/// A match expression: a term string or an operator table.
#[derive(Debug)]
pub enum RawExpr {
    Term(String),
    Op(Box<RawOp>),
}

/// Every key an operator table may hold; `compile` checks that exactly one
/// operator is present and that modifiers go with their operator.
#[derive(Debug, Default)]
pub struct RawOp {
    pub any: Option<Vec<Spanned<RawExpr>>>,
    pub all: Option<Vec<Spanned<RawExpr>>>,
    pub none: Option<Vec<Spanned<RawExpr>>>,
    pub near: Option<Vec<Spanned<String>>>,
    pub within: Option<Spanned<i64>>,
    pub regex: Option<Spanned<String>>,
    pub context: Option<Spanned<String>>,
    pub title: Option<Spanned<RawExpr>>,
    pub weighted: Option<Vec<(Spanned<String>, Spanned<f64>)>>,
    pub threshold: Option<Spanned<f64>>,
    /// Keys that are not part of the format, with their positions.
    pub unknown: Vec<Spanned<String>>,
}

impl RawOp {
    /// Names of the operator keys present (not modifiers).
    pub fn operators(&self) -> Vec<&'static str> {
        let present = [
            ("any", self.any.is_some()),
            ("all", self.all.is_some()),
            ("none", self.none.is_some()),
            ("near", self.near.is_some()),
            ("regex", self.regex.is_some()),
            ("context", self.context.is_some()),
            ("title", self.title.is_some()),
            ("weighted", self.weighted.is_some()),
        ];
        present.iter().filter(|p| p.1).map(|p| p.0).collect()
    }
}

impl<'de> Deserialize<'de> for RawExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExprVisitor)
    }
}

struct ExprVisitor;

impl<'de> Visitor<'de> for ExprVisitor {
    type Value = RawExpr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a term string or an operator table such as `{ any = [...] }`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawExpr, E> {
        Ok(RawExpr::Term(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawExpr, A::Error> {
        let mut op = RawOp::default();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            match key.get_ref().as_str() {
                "any" => op.any = Some(map.next_value()?),
                "all" => op.all = Some(map.next_value()?),
                "none" => op.none = Some(map.next_value()?),
                "near" => op.near = Some(map.next_value()?),
                "within" => op.within = Some(map.next_value()?),
                "regex" => op.regex = Some(map.next_value()?),
                "context" => op.context = Some(map.next_value()?),
                "title" => op.title = Some(map.next_value()?),
                "threshold" => op.threshold = Some(map.next_value()?),
                "weighted" => {
                    let w: WeightTable = map.next_value()?;
                    op.weighted = Some(w.0);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    op.unknown.push(key);
                }
            }
        }
        Ok(RawExpr::Op(Box::new(op)))
    }
}

/// `weighted = { "term" = 2.0, ... }`, keeping the file order and spans.
struct WeightTable(Vec<(Spanned<String>, Spanned<f64>)>);

impl<'de> Deserialize<'de> for WeightTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WeightTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of term = weight")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WeightTable, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(WeightTable(out))
            }
        }
        d.deserialize_map(V)
    }
}
