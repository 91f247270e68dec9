//! Go's `text/tabwriter` (the elastic tabstops Docker's tables use):
//! tab-terminated cells are aligned per column block, the last cell of a
//! line is not, and a line without tabs ends the block.

/// A tab writer; feed text with [`TabWriter::write`], then
/// [`TabWriter::flush`].
pub struct TabWriter {
    minwidth: usize,
    padding: usize,
    /// Complete lines waiting for formatting.
    lines: Vec<Vec<Cell>>,
    line: Vec<Cell>,
    cell: String,
    out: String,
}

struct Cell {
    text: String,
    width: usize,
}

impl TabWriter {
    /// Go's `NewWriter(out, minwidth, tabwidth, padding, ' ', 0)`.
    pub fn new(minwidth: usize, padding: usize) -> Self {
        Self {
            minwidth,
            padding,
            lines: Vec::new(),
            line: Vec::new(),
            cell: String::new(),
            out: String::new(),
        }
    }

    /// Docker's table writer: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
    pub fn docker_table() -> Self {
        Self::new(10, 3)
    }

    pub fn write(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '\t' | '\x0b' => self.end_cell(),
                '\n' | '\x0c' => {
                    self.end_cell();
                    let cells = self.line.len();
                    self.lines.push(std::mem::take(&mut self.line));
                    // A line with one cell cannot affect later alignment:
                    // format what we have (Go flushes here too).
                    if c == '\x0c' || cells == 1 {
                        self.format_all(true);
                    }
                }
                c => self.cell.push(c),
            }
        }
    }

    fn end_cell(&mut self) {
        let text = std::mem::take(&mut self.cell);
        let width = display_width(&text);
        self.line.push(Cell { text, width });
    }

    /// Formats everything written and returns the output.
    pub fn flush(mut self) -> String {
        let partial = !self.cell.is_empty() || !self.line.is_empty();
        if partial {
            self.end_cell();
            self.lines.push(std::mem::take(&mut self.line));
        }
        self.format_all(!partial);
        self.out
    }

    /// `last_terminated`: the last line ended with a newline.
    fn format_all(&mut self, last_terminated: bool) {
        let lines = std::mem::take(&mut self.lines);
        let mut widths = Vec::new();
        let n = lines.len();
        self.format(&lines, &mut widths, 0, n, last_terminated);
    }

    fn format(
        &mut self,
        lines: &[Vec<Cell>],
        widths: &mut Vec<usize>,
        line0: usize,
        line1: usize,
        last_terminated: bool,
    ) {
        let column = widths.len();
        let mut line0 = line0;
        let mut this = line0;
        let has_column = |line: &Vec<Cell>| line.len() > column + 1;
        while this < line1 {
            if !has_column(&lines[this]) {
                this += 1;
                continue;
            }
            self.write_lines(lines, widths, line0, this, last_terminated);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && has_column(&lines[this]) {
                width = width.max(lines[this][column].width + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(lines, widths, line0, this, last_terminated);
            widths.pop();
            line0 = this;
        }
        self.write_lines(lines, widths, line0, line1, last_terminated);
    }

    fn write_lines(
        &mut self,
        lines: &[Vec<Cell>],
        widths: &[usize],
        line0: usize,
        line1: usize,
        last_terminated: bool,
    ) {
        for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
            for (j, cell) in line.iter().enumerate() {
                self.out.push_str(&cell.text);
                if let Some(w) = widths.get(j) {
                    for _ in cell.width..*w {
                        self.out.push(' ');
                    }
                }
            }
            if i + 1 < lines.len() || last_terminated {
                self.out.push('\n');
            }
        }
    }
}

/// Terminal columns of a string: East Asian wide characters take two.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            let wide = matches!(u,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
                | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> String {
        let mut tw = TabWriter::docker_table();
        tw.write(text);
        tw.flush()
    }

    #[test]
    fn docker_images_table() {
        let out = table(
            "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n\
             busybox\tlatest\t6fd955f66c23\t2 weeks ago\t4.26MB\n\
             <none>\t<none>\tabc\t3 years ago\t100kB\n",
        );
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
             busybox      latest    6fd955f66c23   2 weeks ago   4.26MB\n\
             <none>       <none>    abc            3 years ago   100kB\n"
        );
    }

    #[test]
    fn header_only() {
        assert_eq!(
            table("REPOSITORY\tTAG\tSIZE\n"),
            "REPOSITORY   TAG       SIZE\n"
        );
    }

    #[test]
    fn lines_without_tabs_break_blocks() {
        let out = table("a\tb\nlong-long-long\tc\nplain line\nx\ty\n");
        assert_eq!(
            out,
            "a                b\nlong-long-long   c\nplain line\nx         y\n"
        );
    }

    #[test]
    fn ragged_rows_and_unterminated_last_line() {
        let out = table("a\tb\tc\nd\te\nf");
        assert_eq!(out, "a         b         c\nd         e\nf");
    }

    #[test]
    fn version_style_writer() {
        let mut tw = TabWriter::new(20, 1);
        tw.write("Client:\n Version:\t1.0\n API version:\t1.47\n");
        assert_eq!(
            tw.flush(),
            "Client:\n Version:           1.0\n API version:       1.47\n"
        );
    }

    #[test]
    fn wide_characters() {
        assert_eq!(display_width("日本"), 4);
        assert_eq!(table("日本\tx\nab\ty\n"), "日本      x\nab        y\n");
    }
}
