//! Output: results on stdout as text, JSON or YAML. Nothing else writes to stdout.

use serde::Serialize;

/// The `-o` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Human-readable tables and lines.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
}

/// Print a result: `text` renders the human form, `value` the machine forms.
pub fn print<T: Serialize>(format: Format, value: &T, text: impl FnOnce(&T) -> String) {
    let out = match format {
        Format::Text => text(value),
        Format::Json => serde_json::to_string_pretty(value).expect("results always serialize"),
        Format::Yaml => serde_saphyr::to_string(value).expect("results always serialize"),
    };
    if out.ends_with('\n') { print!("{out}") } else { println!("{out}") }
}

/// A plain text table with aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_aligns() {
        let t = super::table(&["A", "LONGER"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    LONGER\nxyz  1");
    }
}
