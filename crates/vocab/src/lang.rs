//! The languages tplab speaks (its own words; a lab's text is its author's): one enum
//! for the terminal UI, the checkers' sentences and the reports. A lab's front matter
//! `lang` picks it (`--lang` overrides it for the UI).
//!
//! French follows French typography: a narrow no-break space (U+202F) before `:` `;`
//! `!` `?` and inside « »; [`Lang::typo`] applies it to a whole sentence.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Fr,
}

/// The narrow no-break space French puts before `: ; ! ?` and inside « ».
pub const NNBSP: char = '\u{202f}';

impl Lang {
    /// `fr`, `fr-FR`, `FR`... are French; anything else (and nothing) English.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code {
            Some(c) if c.to_ascii_lowercase().starts_with("fr") => Lang::Fr,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The colon as this language writes it after a word (`Score:` / `Score :`).
    pub fn colon(self) -> &'static str {
        match self {
            Lang::En => ":",
            Lang::Fr => "\u{202f}:",
        }
    }

    /// The separator between clauses (`; ` / ` ; `).
    pub fn semicolon(self) -> &'static str {
        match self {
            Lang::En => "; ",
            Lang::Fr => "\u{202f}; ",
        }
    }

    /// `en` or `fr`, by language.
    pub fn pick<T>(self, en: T, fr: T) -> T {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }

    /// Quoted text: “x” / « x ».
    pub fn quote(self, s: &str) -> String {
        match self {
            Lang::En => format!("“{s}”"),
            Lang::Fr => format!("«\u{202f}{s}\u{202f}»"),
        }
    }

    /// `n` and its counted word: English singular for 1 only, French for 0 and 1
    /// (`1 attempt`, `0 attempts`; `0 essai`, `2 essais`).
    pub fn count(self, n: u64, one: &str, many: &str) -> String {
        let singular = match self {
            Lang::En => n == 1,
            Lang::Fr => n < 2,
        };
        format!("{n} {}", if singular { one } else { many })
    }

    /// French typography for a sentence tplab composed: a narrow no-break space before
    /// `: ; ! ?` that follow a word (a plain space there becomes one). Leaves alone what
    /// is not prose: `://`, `::`, `a:b` (MACs, IPv6, `role:iface`), text in backticks.
    /// English is returned as is.
    pub fn typo(self, s: &str) -> String {
        if self == Lang::En {
            return s.to_string();
        }
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len() + 8);
        let mut code = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == '`' {
                code = !code;
            }
            let next = chars.get(i + 1).copied();
            let punct = matches!(c, ':' | ';' | '!' | '?');
            // Punctuation ends a clause when followed by a space, a closing mark or the
            // end, and follows a word (`(?` in a pattern does not).
            let ends_clause = next.is_none_or(|n| n.is_whitespace() || ")]»,.".contains(n));
            let after_word = i > 0 && !"([/{".contains(chars[i - 1]);
            if !code && punct && ends_clause && after_word {
                match chars[i - 1] {
                    NNBSP | '\u{a0}' => {}
                    ' ' => {
                        out.pop();
                        out.push(NNBSP);
                    }
                    _ => out.push(NNBSP),
                }
            }
            out.push(c);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(Lang::from_code(Some("fr-FR")), Lang::Fr);
        assert_eq!(Lang::from_code(Some("en")), Lang::En);
        assert_eq!(Lang::from_code(None), Lang::En);
    }

    #[test]
    fn french_typography() {
        assert_eq!(
            Lang::Fr.typo("attendu: une route; ok! vu?"),
            "attendu\u{202f}: une route\u{202f}; ok\u{202f}! vu\u{202f}?"
        );
        // MACs, role:iface, URLs and code stay as they are.
        let s = "aa:bb:cc on node:eth0, http://x, `a: b`";
        assert_eq!(Lang::Fr.typo(s), s);
        assert_eq!(Lang::Fr.typo("déjà\u{202f}: là"), "déjà\u{202f}: là");
        assert_eq!(Lang::Fr.typo("(NAT ?)"), "(NAT\u{202f}?)");
        assert_eq!(Lang::Fr.typo("/(?i)x/"), "/(?i)x/");
        assert_eq!(Lang::En.typo("a: b"), "a: b");
    }

    #[test]
    fn plurals() {
        assert_eq!(Lang::En.count(1, "attempt", "attempts"), "1 attempt");
        assert_eq!(Lang::En.count(0, "attempt", "attempts"), "0 attempts");
        assert_eq!(Lang::Fr.count(0, "essai", "essais"), "0 essai");
        assert_eq!(Lang::Fr.count(2, "essai", "essais"), "2 essais");
    }
}
