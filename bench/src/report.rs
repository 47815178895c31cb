//! The result table: plain text for the terminal, markdown for RESULTS.md and the README.

use std::fmt::Write as _;

/// Which direction is better for a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Times, memory.
    Lower,
    /// Rates.
    Higher,
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// Unit of the three figures.
    pub unit: &'static str,
    /// Our figure (median of the rounds).
    pub ours: Option<f64>,
    /// jsonrpsee's figure (median of the rounds).
    pub theirs: Option<f64>,
    /// The raw TCP echo floor, where it applies.
    pub floor: Option<f64>,
    /// Direction.
    pub better: Better,
    /// The target for ours/jsonrpsee, if the row has one.
    pub target: Option<f64>,
}

impl Row {
    /// A row without floor or target.
    pub fn new(name: impl Into<String>, unit: &'static str, better: Better) -> Self {
        Row {
            name: name.into(),
            unit,
            ours: None,
            theirs: None,
            floor: None,
            better,
            target: None,
        }
    }

    /// ours / jsonrpsee.
    pub fn ratio(&self) -> Option<f64> {
        match (self.ours, self.theirs) {
            (Some(o), Some(t)) if t > 0.0 && o.is_finite() && t.is_finite() => Some(o / t),
            _ => None,
        }
    }

    /// Whether the target is met (None: no target or no ratio).
    pub fn met(&self) -> Option<bool> {
        let (r, t) = (self.ratio()?, self.target?);
        Some(match self.better {
            Better::Lower => r <= t,
            Better::Higher => r >= t,
        })
    }

    fn target_text(&self) -> String {
        match (self.target, self.better) {
            (Some(t), Better::Lower) => format!("<= {t}x"),
            (Some(t), Better::Higher) => format!(">= {t}x"),
            (None, _) => String::new(),
        }
    }
}

/// A figure with a sensible number of digits.
pub fn num(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if !v.is_finite() => "-".into(),
        Some(v) if v.abs() >= 1000.0 => {
            let s = format!("{:.0}", v);
            // thousands separators for readability
            let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            format!("{sign}{out}")
        }
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// Counts (crates) print as whole numbers.
fn count_or_num(unit: &str, v: Option<f64>) -> String {
    match v {
        Some(v) if unit == "crates" && v.is_finite() => format!("{v:.0}"),
        other => num(other),
    }
}

fn cells(r: &Row) -> [String; 8] {
    [
        r.name.clone(),
        r.unit.to_string(),
        count_or_num(r.unit, r.ours),
        count_or_num(r.unit, r.theirs),
        r.ratio().map_or("-".into(), |x| format!("{x:.2}x")),
        num(r.floor),
        r.target_text(),
        match r.met() {
            Some(true) => "yes".into(),
            Some(false) => "NO".into(),
            None => String::new(),
        },
    ]
}

const HEADER: [&str; 8] = [
    "workload",
    "unit",
    "ours",
    "jsonrpsee",
    "ratio",
    "TCP floor",
    "target",
    "met",
];

/// The table as aligned plain text.
pub fn text(rows: &[Row]) -> String {
    let all: Vec<[String; 8]> = std::iter::once(HEADER.map(String::from))
        .chain(rows.iter().map(cells))
        .collect();
    let mut w = [0usize; 8];
    for r in &all {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (n, r) in all.iter().enumerate() {
        for (i, c) in r.iter().enumerate() {
            let pad = w[i] - c.chars().count();
            if i == 0 || i == 1 {
                let _ = write!(out, "{c}{} ", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{c} ", " ".repeat(pad));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        if n == 0 {
            out.push_str(&"-".repeat(w.iter().sum::<usize>() + 7));
            out.push('\n');
        }
    }
    out
}

/// The table as markdown (ratio = ours / jsonrpsee).
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |");
    for r in rows {
        let _ = writeln!(out, "| {} |", cells(r).join(" | "));
    }
    out
}

/// First line of the server-only block in RESULTS.md and README.md (a full run keeps the
/// block; the server-only run replaces only the block).
pub const BLOCK_BEGIN: &str = "<!-- server-only: begin (written by compare --only server) -->";
/// Last line of the server-only block.
pub const BLOCK_END: &str = "<!-- server-only: end -->";

/// The server-only block of `doc` (markers included), if it has one.
pub fn extract_block(doc: &str) -> Option<&str> {
    let a = doc.find(BLOCK_BEGIN)?;
    let b = doc[a..].find(BLOCK_END)? + a + BLOCK_END.len();
    Some(&doc[a..b])
}

/// `doc` with its server-only block replaced by `block` (which includes the markers). Without
/// a block, `block` goes before the first `## ` heading after the heading `after` (so inside
/// that section), or at the end.
pub fn splice_block(doc: &str, block: &str, after: Option<&str>) -> String {
    let block = block.trim_end();
    if let Some(old) = extract_block(doc) {
        let a = doc.find(old).unwrap_or(0);
        return format!("{}{block}{}", &doc[..a], &doc[a + old.len()..]);
    }
    let at = after
        .and_then(|h| doc.find(h).map(|i| i + h.len()))
        .and_then(|i| doc[i..].find("\n## ").map(|j| i + j + 1));
    match at {
        Some(i) => format!("{}{block}\n\n{}", &doc[..i], &doc[i..]),
        None => format!("{}\n\n{block}\n", doc.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_only_block_is_replaced_kept_or_placed() {
        let block = format!("{BLOCK_BEGIN}\nnew\n{BLOCK_END}\n");
        let doc = "# T\n\ntext\n";
        let once = splice_block(doc, &block, None);
        assert_eq!(
            once,
            format!("# T\n\ntext\n\n{BLOCK_BEGIN}\nnew\n{BLOCK_END}\n")
        );
        let newer = format!("{BLOCK_BEGIN}\nnewer\n{BLOCK_END}");
        let twice = splice_block(&once, &newer, None);
        assert_eq!(twice, once.replace("\nnew\n", "\nnewer\n"));
        assert_eq!(extract_block(&twice), Some(newer.as_str()));
        let readme = "# R\n## Benchmarks\nbody\n## Next\nmore\n";
        let placed = splice_block(readme, &block, Some("## Benchmarks"));
        assert_eq!(
            placed,
            format!("# R\n## Benchmarks\nbody\n{BLOCK_BEGIN}\nnew\n{BLOCK_END}\n\n## Next\nmore\n")
        );
        assert_eq!(extract_block("no block"), None);
    }
}
