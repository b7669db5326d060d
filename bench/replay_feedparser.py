#!/usr/bin/env python3
"""Baseline for `tocsin replay`: the same job with feedparser and `re`.

Reads feed files (RSS/Atom/JSON Feed via feedparser; JSON Lines of items)
from the given paths (directories recursively), applies the TOML rule pack
(same format and semantics as tocsin, simplified: phrases are regexes with
`[\\s-]+` between words, `near` is checked on word positions), and writes one
JSON object per matched item to stdout, a summary to stderr.

    replay_feedparser.py --rules DIR [--all] PATH...
"""
import argparse
import json
import os
import re
import sys
import time
import tomllib
import unicodedata

import feedparser

TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"\w+")


def fold(text):
    text = unicodedata.normalize("NFKC", text)
    for a, b in (("İ", "i"), ("ı", "i"), ("I", "i"), ("ё", "е"), ("Ё", "е"), ("\u0307", ""),
                 ("\u2019", "'"), ("\u2018", "'"), ("\u02bc", "'"), ("`", "'")):
        text = text.replace(a, b)
    text = re.sub("[\u2010-\u2015\u2212]", "-", text)
    return text.lower()


def term_regex(term):
    return re.compile(r"(?<!\w)(?:" + term_pattern(term) + r")(?!\w)")


def terms_regex(terms):
    """One alternation for a list of terms: one search instead of many."""
    return re.compile(r"(?<!\w)(?:" + "|".join(term_pattern(t) for t in terms) + r")(?!\w)")


def term_pattern(term):
    parts = []
    for word in fold(term).split():
        pieces = re.split(r"(\w+\*?)", word)
        out = ""
        for p in pieces:
            if not p:
                continue
            if p.endswith("*"):
                out += re.escape(p[:-1]) + r"\w*"
            elif WORD.fullmatch(p):
                out += re.escape(p)
            else:
                out += r"[\s-]*" if p == "-" else re.escape(p)
        parts.append(out)
    return r"[\s-]+".join(parts)


class Rules:
    def __init__(self, directory):
        self.rules, self.contexts, raw_contexts = [], {}, {}
        for name in sorted(os.listdir(directory)):
            if name.endswith(".toml"):
                with open(os.path.join(directory, name), "rb") as f:
                    doc = tomllib.load(f)
                raw_contexts.update(doc.get("context", {}))
                self.rules.extend(doc.get("rule", []))
        for name in raw_contexts:
            terms, stack, seen = [], [name], set()
            while stack:
                n = stack.pop()
                if n in seen:
                    continue
                seen.add(n)
                terms += raw_contexts[n].get("terms", [])
                stack += raw_contexts[n].get("include", [])
            self.contexts[name] = terms_regex(terms)
        self.cache = {}
        for r in self.rules:
            r["_fields"] = ("title",) if r.get("scope") == "title" else ("title", "summary")

    def rx(self, term):
        if term not in self.cache:
            self.cache[term] = term_regex(term)
        return self.cache[term]

    def ev(self, e, texts, found):
        if isinstance(e, str):
            return self.term(e, texts, found)
        if "any" in e and all(isinstance(x, str) for x in e["any"]):
            key = ("any",) + tuple(e["any"])
            if key not in self.cache:
                self.cache[key] = terms_regex(e["any"])
            return self.search(self.cache[key], texts, found)
        if "any" in e:
            return any(self.ev(x, texts, found) for x in e["any"])
        if "all" in e:
            return all(self.ev(x, texts, found) for x in e["all"])
        if "none" in e:
            return not any(self.ev(x, texts, []) for x in e["none"])
        if "context" in e:
            return self.search(self.contexts[e["context"]], texts, found)
        if "title" in e:
            return self.ev(e["title"], texts[:1], found)
        if "regex" in e:
            key = ("re", e["regex"])
            if key not in self.cache:
                self.cache[key] = re.compile(e["regex"])
            return self.search(self.cache[key], texts, found)
        if "weighted" in e:
            total = sum(w for t, w in e["weighted"].items() if self.term(t, texts, found))
            return total >= e["threshold"]
        if "near" in e:
            return any(self.near(e["near"], e.get("within", 8), t) for t in texts)
        raise ValueError(f"unknown expression {e!r}")

    def term(self, t, texts, found):
        return self.search(self.rx(t), texts, found)

    @staticmethod
    def search(rx, texts, found):
        for t in texts:
            m = rx.search(t)
            if m:
                found.append(m.group(0))
                return True
        return False

    def near(self, terms, within, text):
        words = [m.start() for m in WORD.finditer(text)]
        pos = []
        for t in terms:
            starts = [sum(1 for w in words if w < m.start()) for m in self.rx(t).finditer(text)]
            if not starts:
                return False
            pos.append(starts)
        return any(max(min((p for p in ps if p >= left), default=10**9) for ps in pos) - left < within
                   for ps0 in pos for left in ps0)

    def match(self, title, summary):
        texts_all = (fold(title), fold(summary))
        out = []
        for r in self.rules:
            if r.get("mode") == "shadow":
                continue
            texts = texts_all[:len(r["_fields"])]
            found = []
            rx = r["match"] if isinstance(r["match"], dict) else r["match"]
            if self.ev(rx, texts, found):
                terms = list(dict.fromkeys(found))
                out.append({"rule": r["id"], "indicator": r["indicator"], "severity": r["severity"],
                            "terms": terms})
        return out


def items_of(path):
    with open(path, "rb") as f:
        data = f.read()
    head = data.lstrip()[:1]
    if head == b"{" and b"\n" in data.strip() and b'"version"' not in data.split(b"\n", 1)[0]:
        for line in data.decode("utf-8").splitlines():
            if line.strip():
                o = json.loads(line)
                yield o.get("id"), o.get("link"), o.get("title", ""), o.get("summary", ""), o.get("published")
        return
    if head == b"{":
        doc = json.loads(data)
        for e in doc.get("items", []):
            summary = TAG.sub(" ", e.get("content_html") or e.get("summary") or e.get("content_text") or "")
            yield e.get("id"), e.get("url"), e.get("title", ""), " ".join(summary.split()), e.get("date_published")
        return
    feed = feedparser.parse(data)
    if feed.bozo and not feed.entries:
        raise ValueError(str(feed.get("bozo_exception", "not a feed")))
    for e in feed.entries:
        summary = TAG.sub(" ", e.get("summary", ""))
        yield e.get("id"), e.get("link"), e.get("title", ""), " ".join(summary.split()), e.get("published")


def files_of(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in sorted(os.walk(p)):
                for n in sorted(names):
                    yield os.path.join(root, n)
        else:
            yield p


SEV = {"info": 0, "warning": 1, "critical": 2}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", default="rules")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    rules = Rules(args.rules)
    start = time.perf_counter()
    files = items = matched = 0
    out = sys.stdout
    for path in files_of(args.paths):
        files += 1
        try:
            entries = list(items_of(path))
        except Exception as exc:  # noqa: BLE001 - report and skip, like tocsin
            print(f"replay: skipping `{path}`: {exc}", file=sys.stderr)
            continue
        for ident, link, title, summary, published in entries:
            items += 1
            ms = rules.match(title, summary)
            if ms:
                matched += 1
            elif not args.all:
                continue
            out.write(json.dumps({
                "source": path, "id": ident, "link": link, "title": title, "published": published,
                "indicators": sorted({m["indicator"] for m in ms}),
                "severity": max((m["severity"] for m in ms), key=SEV.get, default=None),
                "matches": ms}, ensure_ascii=False) + "\n")
    secs = time.perf_counter() - start
    print(f"replay: {files} files, {items} items, {matched} matched, {secs:.3f} s, "
          f"{items / secs:.0f} items/s", file=sys.stderr)


if __name__ == "__main__":
    main()
