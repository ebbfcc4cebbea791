//! The CLI's tables: a header row and columns aligned to their widest cell (counted in
//! characters, so Cyrillic lines up), two spaces apart; the last column is not padded.

/// A table being filled.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self { rows: vec![headers.iter().map(|h| h.to_string()).collect()] }
    }

    /// Adds a row (as many cells as headers).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, a line per row.
    pub fn render(&self) -> String {
        let columns = self.rows[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows.iter().map(|r| r.get(c).map_or(0, |cell| cell.chars().count())).max().unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < columns {
                    line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_under_their_headers() {
        let mut table = Table::new(&["ID", "СТАТУС", "TEXT"]);
        table.row(vec!["01A".into(), "routed".into(), "Где заказ?".into()]);
        table.row(vec!["01BBBB".into(), "новое".into(), "x".into()]);
        assert_eq!(table.render(), "ID      СТАТУС  TEXT\n01A     routed  Где заказ?\n01BBBB  новое   x\n");
    }
}
