//! Compiles one raw match expression, reporting every problem in it.

use toml::Spanned;

use super::compile::Compiler;
use super::error::ErrorKind;
use super::program::Expr;
use super::raw::{RawExpr, RawOp};

/// Default `within` for `near`, in words.
pub const DEFAULT_WITHIN: i64 = 8;

/// Compiles the expressions of one file.
pub struct ExprCompiler<'c, 'a> {
    pub c: &'c mut Compiler<'a>,
    pub file: usize,
}

impl ExprCompiler<'_, '_> {
    /// Compiles `raw`; returns `None` (with errors recorded) when invalid.
    pub fn expr(&mut self, raw: &Spanned<RawExpr>) -> Option<Expr> {
        match raw.get_ref() {
            RawExpr::Term(s) => {
                let spanned = Spanned::new(raw.span(), s.clone());
                self.c.term(self.file, &spanned).map(Expr::Term)
            }
            RawExpr::Op(op) => self.op(op, raw.span()),
        }
    }

    fn err(&mut self, span: std::ops::Range<usize>, kind: ErrorKind, msg: String) {
        self.c.err(self.file, span, kind, msg);
    }

    fn op(&mut self, op: &RawOp, span: std::ops::Range<usize>) -> Option<Expr> {
        let mut ok = true;
        for k in &op.unknown {
            let msg = format!("unknown key `{}` in match expression", k.get_ref());
            self.err(k.span(), ErrorKind::UnknownKey, msg);
            ok = false;
        }
        ok &= self.check_modifiers(op);
        let ops = op.operators();
        if ops.len() != 1 {
            let msg = if ops.is_empty() {
                "empty expression: expected one of `any`, `all`, `none`, `near`, `regex`, `context`, `title`, `weighted`".to_owned()
            } else {
                format!(
                    "expression has several operators (`{}`), expected exactly one",
                    ops.join("`, `")
                )
            };
            self.err(span, ErrorKind::EmptyExpression, msg);
            return None;
        }
        let e = match ops[0] {
            "any" => self.list(op.any.as_deref(), "any", &span).map(Expr::Any),
            "all" => self.list(op.all.as_deref(), "all", &span).map(Expr::All),
            "none" => self.list(op.none.as_deref(), "none", &span).map(Expr::None),
            "near" => self.near(op, &span),
            "regex" => op
                .regex
                .as_ref()
                .and_then(|r| self.c.regex(self.file, r))
                .map(Expr::Regex),
            "context" => self.context(op.context.as_ref()?),
            "title" => self
                .expr(op.title.as_ref()?)
                .map(|e| Expr::Title(Box::new(e))),
            _ => self.weighted(op, &span),
        };
        if ok { e } else { None }
    }

    /// `within` goes with `near`, `threshold` with `weighted`.
    fn check_modifiers(&mut self, op: &RawOp) -> bool {
        let mut ok = true;
        if let (Some(w), None) = (&op.within, &op.near) {
            self.err(
                w.span(),
                ErrorKind::UnknownKey,
                "`within` is only allowed with `near`".to_owned(),
            );
            ok = false;
        }
        if let (Some(t), None) = (&op.threshold, &op.weighted) {
            self.err(
                t.span(),
                ErrorKind::UnknownKey,
                "`threshold` is only allowed with `weighted`".to_owned(),
            );
            ok = false;
        }
        ok
    }

    fn list(
        &mut self,
        items: Option<&[Spanned<RawExpr>]>,
        name: &str,
        span: &std::ops::Range<usize>,
    ) -> Option<Vec<Expr>> {
        let items = items?;
        if items.is_empty() {
            self.err(
                span.clone(),
                ErrorKind::EmptyExpression,
                format!("empty expression: `{name} = []`"),
            );
            return None;
        }
        // Compile every child (even after a failure) so all errors are reported.
        let out: Vec<Option<Expr>> = items.iter().map(|i| self.expr(i)).collect();
        out.into_iter().collect()
    }

    fn near(&mut self, op: &RawOp, span: &std::ops::Range<usize>) -> Option<Expr> {
        let terms = op.near.as_ref()?;
        let within = op.within.as_ref().map_or(DEFAULT_WITHIN, |w| *w.get_ref());
        let mut ok = true;
        if terms.len() < 2 {
            let msg = "`near` needs at least two terms".to_owned();
            self.err(span.clone(), ErrorKind::EmptyExpression, msg);
            ok = false;
        }
        if !(1..=1000).contains(&within) {
            let w_span = op.within.as_ref().map_or(span.clone(), |w| w.span());
            self.err(
                w_span,
                ErrorKind::BadValue,
                format!("`within = {within}` must be between 1 and 1000"),
            );
            ok = false;
        }
        let ids: Vec<Option<u32>> = terms.iter().map(|t| self.c.term(self.file, t)).collect();
        let ids: Option<Vec<u32>> = ids.into_iter().collect();
        if ok {
            ids.map(|terms| Expr::Near {
                terms,
                within: within as u32,
            })
        } else {
            None
        }
    }

    fn context(&mut self, name: &Spanned<String>) -> Option<Expr> {
        match self.c.context_ids.get(name.get_ref()) {
            Some(&id) => Some(Expr::Context(id)),
            None => {
                let msg = format!("unknown context group `{}`", name.get_ref());
                self.err(name.span(), ErrorKind::UnknownContext, msg);
                None
            }
        }
    }

    fn weighted(&mut self, op: &RawOp, span: &std::ops::Range<usize>) -> Option<Expr> {
        let table = op.weighted.as_ref()?;
        let mut ok = true;
        if table.is_empty() {
            self.err(
                span.clone(),
                ErrorKind::EmptyExpression,
                "empty expression: `weighted = {}`".to_owned(),
            );
            ok = false;
        }
        let threshold = match &op.threshold {
            Some(t) if *t.get_ref() > 0.0 && t.get_ref().is_finite() => *t.get_ref(),
            Some(t) => {
                let msg = format!("`threshold = {}` must be a positive number", t.get_ref());
                self.err(t.span(), ErrorKind::BadValue, msg);
                ok = false;
                0.0
            }
            None => {
                self.err(
                    span.clone(),
                    ErrorKind::BadValue,
                    "`weighted` needs a `threshold`".to_owned(),
                );
                ok = false;
                0.0
            }
        };
        let mut terms = Vec::new();
        for (term, weight) in table {
            if !weight.get_ref().is_finite() {
                let msg = format!(
                    "weight `{}` of term `{}` is not a number",
                    weight.get_ref(),
                    term.get_ref()
                );
                self.err(weight.span(), ErrorKind::BadValue, msg);
                ok = false;
            }
            match self.c.term(self.file, term) {
                // The same folded term written twice counts once: weights are
                // summed over distinct terms found.
                Some(id) if !terms.iter().any(|(t, _)| *t == id) => {
                    terms.push((id, *weight.get_ref()))
                }
                Some(_) => {}
                None => ok = false,
            }
        }
        if ok {
            Some(Expr::Weighted { terms, threshold })
        } else {
            None
        }
    }
}
