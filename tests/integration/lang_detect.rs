//! A detector of tplab's own sentences in the wrong language (issue 14, item 4): the
//! function words and tplab's labels of each language, looked for in what tplab
//! composed — not in the lab's text, commands, their output, interface names,
//! addresses, JSON keys or kernel output, which the helpers here strip first.

use std::collections::BTreeSet;

/// Words only English sentences use (function words, and tplab's verbs and labels).
const ENGLISH: &[&str] = &[
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "not",
    "of",
    "to",
    "in",
    "with",
    "and",
    "or",
    "but",
    "for",
    "from",
    "by",
    "this",
    "that",
    "these",
    "it",
    "its",
    "has",
    "have",
    "does",
    "did",
    "can",
    "cannot",
    "could",
    "should",
    "would",
    "will",
    "after",
    "before",
    "than",
    "then",
    "into",
    "at",
    "as",
    "which",
    "what",
    "when",
    "where",
    "there",
    "every",
    "each",
    "any",
    "none",
    "no",
    "an",
    "expected",
    "found",
    "seen",
    "never",
    "exits",
    "exited",
    "status",
    "missing",
    "matches",
    "contains",
    "passes",
    "fails",
    "failed",
    "passed",
    "step",
    "steps",
    "checked",
    "check",
    "checks",
    "lines",
    "left",
    "attempt",
    "attempts",
    "more",
    "unset",
    "named",
    "within",
    "leaving",
    "entering",
    "closest",
    "output",
    "killed",
    "signal",
    "problem",
    "warning",
    "error",
    "hint",
    "skipped",
    "pending",
    "only",
    "also",
    "while",
    "because",
    "written",
    "report",
    "proven",
    "solvable",
    "entry",
    "entries",
    "neighbour",
    "program",
    "programs",
    "attached",
    "rule",
    "rules",
    "address",
    "addresses",
    "set",
    "matching",
    "labelled",
    "exists",
    "objects",
];

/// Words only French sentences use.
const FRENCH: &[&str] = &[
    "le",
    "la",
    "les",
    "des",
    "du",
    "une",
    "est",
    "sont",
    "pas",
    "avec",
    "dans",
    "pour",
    "sur",
    "aucun",
    "aucune",
    "été",
    "où",
    "mais",
    "et",
    "vérification",
    "vérifications",
    "étape",
    "étapes",
    "attendu",
    "trouvé",
    "essai",
    "essais",
    "réussi",
    "réussie",
    "échoué",
    "échouée",
    "indice",
    "sortie",
    "passée",
    "cette",
    "ces",
    "votre",
    "vous",
    "rapport",
    "écrit",
    "problème",
    "attention",
    "erreur",
    "puis",
    "jamais",
    "vu",
];

/// Labels tplab writes before a colon (`warning: …`, `attendu : …`).
const ENGLISH_LABELS: &[&str] = &["warning", "error", "problem", "expected", "found", "hint"];
const FRENCH_LABELS: &[&str] = &[
    "attention",
    "erreur",
    "problème",
    "attendu",
    "trouvé",
    "indice",
];

/// What to look for: the other language's words, minus those the lab itself uses in its
/// own text (they are the author's, not tplab's).
pub struct Detector {
    words: BTreeSet<String>,
    /// How many words the list has before the lab's are taken away.
    pub total: usize,
    labels: &'static [&'static str],
    pub language: &'static str,
}

impl Detector {
    /// Finds English in a French lab's run (`english: true`), or French in an English one.
    pub fn new(english: bool, lab_text: &str) -> Detector {
        let lab: BTreeSet<String> = words(&strip_technical(lab_text)).into_iter().collect();
        let (list, labels, language) = if english {
            (ENGLISH, ENGLISH_LABELS, "English")
        } else {
            (FRENCH, FRENCH_LABELS, "French")
        };
        let words = list
            .iter()
            .map(|w| (*w).to_string())
            .filter(|w| !lab.contains(w))
            .collect();
        Detector {
            words,
            total: list.len(),
            labels,
            language,
        }
    }

    /// How many words are looked for once the lab's own are taken away.
    pub fn size(&self) -> usize {
        self.words.len()
    }

    /// The words of this language in `segment` when it reads as a sentence of it: two
    /// of its words, or one of its labels followed by a colon at the start.
    pub fn foreign(&self, segment: &str) -> Option<Vec<String>> {
        let clean = strip_technical(segment);
        let ws = words(&clean);
        let hits: Vec<String> = ws
            .iter()
            .filter(|w| self.words.contains(*w))
            .cloned()
            .collect();
        let first = clean.trim_start().to_lowercase();
        let label = self.labels.iter().any(|l| {
            first.strip_prefix(l).is_some_and(|rest| {
                rest.trim_start_matches([' ', '\u{202f}', '\u{a0}'])
                    .starts_with(':')
            })
        });
        (hits.len() >= 2 || label).then_some(hits)
    }

    /// Every segment of `text` that reads as this language, with why.
    pub fn scan<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        segments
            .into_iter()
            .filter_map(|s| self.foreign(s).map(|w| format!("{s:?} ({})", w.join(", "))))
            .collect()
    }
}

/// Lowercase words of letters (apostrophes split: `l’adresse` gives `adresse`).
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Removes what is not prose: code spans, quotes (answers, lab values), URLs, paths,
/// addresses, `role:iface`, `key=value`, identifiers with digits, `_`, `-`, `.` or `@`.
pub fn strip_technical(s: &str) -> String {
    let mut out = String::new();
    let mut skip: Option<char> = None;
    for c in s.chars() {
        match (skip, c) {
            (None, '`') => skip = Some('`'),
            (None, '«') => skip = Some('»'),
            (None, '“') => skip = Some('”'),
            (None, '"') => skip = Some('"'),
            (Some(end), c) if c == end => {
                skip = None;
                out.push(' ');
            }
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out.split_whitespace()
        .filter(|t| {
            let t = t.trim_matches(|c: char| ",;()[]{}!?…".contains(c));
            let t = t.trim_end_matches([':', '.']);
            !t.chars()
                .any(|c| c.is_ascii_digit() || "/_:=@.<>-$#*|\\".contains(c))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lines tplab composed in a run's terminal output: verdicts and their details,
/// step headers, warnings, errors, proofs, the summary. Dropped: the lab's prose (shown
/// between headers) and what commands printed (after each `[role]$` line).
pub fn tplab_lines(output: &str) -> Vec<&str> {
    const MARKS: &[&str] = &["✔", "✘", "⚠", "?", "»", "·", "──"];
    let mut own = Vec::new();
    let mut in_output = false;
    // Before the first step header: the lab's title and introduction, and tplab's
    // `tplab:`-prefixed notes and warnings.
    let mut intro = output.contains("──");
    for line in output.lines() {
        let t = line.trim_start();
        if intro && !t.starts_with("──") {
            let ours = ["tplab:", "warning", "error", "attention", "erreur"]
                .iter()
                .any(|p| t.starts_with(p));
            if ours {
                own.push(line);
            }
            continue;
        }
        intro = false;
        if t.starts_with('[') && t.contains("]$") {
            in_output = true;
            continue;
        }
        let marked = MARKS.iter().any(|m| t.starts_with(m));
        if marked {
            in_output = false;
        }
        // Verdict details are indented under their mark; command output is not tplab's.
        if in_output {
            continue;
        }
        let detail = line.starts_with("  ") && !marked;
        let top = !line.starts_with(' ') && !t.is_empty();
        if marked || detail || top {
            own.push(line);
        }
    }
    own
}

/// Segments of tplab's lines: a line, or its parts around ` — ` (a grade line joins a
/// check's name and what was typically found). The lab's own text in them (check names,
/// questions, titles) stays: the detector's word list is already without the lab's words.
pub fn segments(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|l| l.split(" — ").map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Markdown without fenced blocks (command output, JSON), one segment per table cell
/// or line.
pub fn markdown_segments(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.starts_with("    ") {
            continue;
        }
        out.extend(
            line.split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
        );
    }
    out
}

/// The text nodes of an HTML page outside `<pre>`, `<code>`, `<script>` and `<style>`.
pub fn html_segments(html: &str) -> Vec<String> {
    let mut html = html.to_string();
    for tag in ["pre", "code", "script", "style"] {
        while let Some(start) = html.find(&format!("<{tag}")) {
            let close = format!("</{tag}>");
            let Some(end) = html[start..].find(&close) else {
                break;
            };
            html.replace_range(start..start + end + close.len(), " ");
        }
    }
    html.split(['<', '>'])
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, t)| {
            t.replace("&#x27;", "'")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
                .replace("&gt;", ">")
                .replace("&lt;", "<")
                .replace("&nbsp;", " ")
                .trim()
                .to_owned()
        })
        .filter(|t| !t.is_empty())
        .collect()
}
