//! Fenced-block info strings: ```` ```lang {key=value flag key="quoted value"} ````.

use std::ops::Range;

/// One attribute; `value` is `None` for a bare flag such as `solution`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub key: String,
    pub value: Option<String>,
    /// Byte range of the attribute inside the info string.
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub lang: String,
    pub attrs: Vec<Attr>,
    /// True when the info string had a `{...}` attribute list (even empty).
    pub has_attrs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoError {
    pub message: String,
    pub span: Range<usize>,
}

impl Info {
    pub fn get(&self, key: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.key == key)
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|a| a.value.as_deref())
    }
}

/// Parses an info string. Offsets in errors and attrs are relative to `info`.
pub fn parse(info: &str) -> Result<Info, InfoError> {
    let lang_end = info
        .find(|c: char| c.is_whitespace() || c == '{')
        .unwrap_or(info.len());
    let lang = info[..lang_end].to_string();
    let rest = &info[lang_end..];
    let Some(open_rel) = rest.find('{') else {
        return Ok(Info {
            lang,
            attrs: Vec::new(),
            has_attrs: false,
        });
    };
    let open = lang_end + open_rel;
    let Some(close_rel) = info[open..].rfind('}') else {
        return Err(InfoError {
            message: "unclosed attribute list: expected `}`".into(),
            span: open..info.len(),
        });
    };
    let close = open + close_rel;
    if !info[close + 1..].trim().is_empty() {
        return Err(InfoError {
            message: "unexpected text after the attribute list".into(),
            span: close + 1..info.len(),
        });
    }
    let attrs = parse_attrs(info, open + 1, close)?;
    Ok(Info {
        lang,
        attrs,
        has_attrs: true,
    })
}

fn parse_attrs(info: &str, start: usize, end: usize) -> Result<Vec<Attr>, InfoError> {
    // Scanning by `char` (not byte) keeps every offset on a character boundary.
    let info = &info[..end];
    let mut attrs = Vec::new();
    let mut i = start;
    loop {
        i = skip(info, i, |c| c.is_whitespace() || c == ',');
        let Some(c) = info[i..].chars().next() else {
            break;
        };
        let key_start = i;
        i = skip(info, i, |c| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-'
        });
        if i == key_start {
            return Err(InfoError {
                message: format!("unexpected `{c}` in attributes: expected `key=value` or a flag"),
                span: i..i + c.len_utf8(),
            });
        }
        let key = info[key_start..i].to_string();
        let mut value = None;
        if let Some(rest) = info[i..].strip_prefix('=') {
            i += 1;
            if let Some(quoted) = rest.strip_prefix('"') {
                let Some(len) = quoted.find('"') else {
                    return Err(InfoError {
                        message: "unterminated quoted value: expected a closing `\"`".into(),
                        span: i..end,
                    });
                };
                value = Some(quoted[..len].to_string());
                i += len + 2;
            } else {
                let value_start = i;
                i = skip(info, i, |c| !c.is_whitespace());
                if i == value_start {
                    return Err(InfoError {
                        message: format!("missing value after `{key}=`"),
                        span: key_start..i,
                    });
                }
                value = Some(info[value_start..i].to_string());
            }
        }
        attrs.push(Attr {
            key,
            value,
            span: key_start..i,
        });
    }
    Ok(attrs)
}

/// The offset of the first character from `from` on that does not satisfy `pred`.
fn skip(s: &str, from: usize, pred: impl Fn(char) -> bool) -> usize {
    s[from..].find(|c| !pred(c)).map_or(s.len(), |o| from + o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lang_flags_and_values() {
        let info = parse(r#"sh {target=pod solution timeout="5 s"}"#).unwrap();
        assert_eq!(info.lang, "sh");
        assert_eq!(info.value("target"), Some("pod"));
        assert!(info.flag("solution"));
        assert_eq!(info.value("timeout"), Some("5 s"));
    }

    #[test]
    fn plain_lang_has_no_attrs() {
        let info = parse("bash").unwrap();
        assert!(!info.has_attrs);
        assert!(parse("").unwrap().lang.is_empty());
    }

    #[test]
    fn non_ascii_is_an_error_not_a_panic() {
        let err = parse("sh {é}").unwrap_err();
        assert!(err.message.contains("`é`"), "{}", err.message);
        assert_eq!(err.span, 4..6);
        assert_eq!(parse("sh {a=été}").unwrap().value("a"), Some("été"));
        assert_eq!(parse(r#"sh {a="é" b}"#).unwrap().value("a"), Some("é"));
        assert!(parse(r#"sh {a="é}"#).is_err());
        assert!(parse("sh {a b=é,ü}").is_ok());
    }

    #[test]
    fn reports_unclosed_list() {
        let err = parse("sh {target=pod").unwrap_err();
        assert!(err.message.contains("unclosed"));
        assert_eq!(err.span.start, 3);
    }
}
