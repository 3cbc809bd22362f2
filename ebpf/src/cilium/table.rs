//! Column alignment as Go's `text/tabwriter` does it for Cilium's tables
//! (`tabwriter.NewWriter(w, 5, 0, 3, ' ', 0)`: min width 5, padding 3): every
//! tab-terminated cell is padded to its column's width; the last cell of a line is not.

/// Renders rows of cells; every row but its last cell is aligned.
pub fn render(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            let w = (cell.chars().count() + 3).max(5);
            if widths.len() <= i {
                widths.push(w);
            } else if widths[i] < w {
                widths[i] = w;
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_like_tabwriter() {
        let rows = vec![
            vec!["ID".to_string(), "Frontend".into(), "Backend".into()],
            vec!["1".into(), "10.96.0.1:443/TCP".into(), "x".into()],
        ];
        assert_eq!(
            super::render(&rows),
            "ID   Frontend            Backend\n1    10.96.0.1:443/TCP   x\n"
        );
    }
}
