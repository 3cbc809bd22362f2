//! A fenced block's body as pulldown-cmark gives it (one piece per line, without the
//! indentation of a list item or the `> ` of a block quote) and where each piece sits
//! in the file, so positions found in the body map back to the file.

use std::ops::Range;

#[derive(Debug, Default)]
pub struct Body {
    pub text: String,
    /// (offset in `text`, range in the file) of each piece, in order.
    pieces: Vec<(usize, Range<usize>)>,
    /// Where the body would start when it has no piece (an empty block).
    empty_at: usize,
}

impl Body {
    pub fn new(empty_at: usize) -> Self {
        Self {
            empty_at,
            ..Self::default()
        }
    }

    pub fn push(&mut self, piece: &str, range: Range<usize>) {
        self.pieces.push((self.text.len(), range));
        self.text.push_str(piece);
    }

    /// File offset of the body's first byte.
    pub fn start(&self) -> usize {
        self.pieces.first().map_or(self.empty_at, |(_, r)| r.start)
    }

    /// File offset of a byte offset in the body. A piece that is not a verbatim copy
    /// of the file (a tab expanded to spaces) maps inside its own range, clamped.
    pub fn offset(&self, at: usize) -> usize {
        let i = self.pieces.partition_point(|(start, _)| *start <= at);
        let Some((start, range)) = i.checked_sub(1).map(|i| &self.pieces[i]) else {
            return self.start();
        };
        (range.start + (at - start)).min(range.end)
    }

    /// File range of a range in the body.
    pub fn span(&self, r: &Range<usize>) -> Range<usize> {
        let start = self.offset(r.start);
        let end = if r.end > r.start {
            self.offset(r.end - 1) + 1
        } else {
            start
        };
        start..end.max(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pieces_back_to_the_file() {
        // "- item\n  ```check\n  - run: x\n    y: z\n  ```"
        let mut body = Body::new(0);
        body.push("- run: x\n", 20..29);
        body.push("  y: z\n", 31..38);
        assert_eq!(body.text, "- run: x\n  y: z\n");
        assert_eq!(body.start(), 20);
        assert_eq!(body.offset(0), 20);
        assert_eq!(body.offset(11), 33);
        assert_eq!(body.span(&(9..16)), 31..38);
        assert_eq!(Body::new(7).offset(3), 7);
    }
}
