//! Where each value of a JSON text is: its JSON pointer, line and byte range. The
//! functions' checks name entries by pointer; people read line numbers. Only called on
//! text serde_json has read or is about to refuse: a text it cannot scan yields the
//! spans found so far.

use std::collections::BTreeMap;

/// A value's place in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 1-based line of the value's first character.
    pub line: usize,
    /// Byte range of the value.
    pub start: usize,
    pub end: usize,
}

/// Every value of `text`, by JSON pointer (`""` is the whole document).
pub fn spans(text: &str) -> BTreeMap<String, Span> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
        line: 1,
        found: BTreeMap::new(),
    };
    scanner.value(String::new());
    scanner.found
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
    found: BTreeMap<String, Span>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.at += 1;
    }

    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.bump();
        }
    }

    /// Scans one value at `pointer`; `None` when the text stops making sense.
    fn value(&mut self, pointer: String) -> Option<()> {
        self.blank();
        let (start, line) = (self.at, self.line);
        match self.peek()? {
            b'{' => self.object(&pointer)?,
            b'[' => self.array(&pointer)?,
            b'"' => {
                self.string()?;
            }
            _ => {
                while matches!(self.peek(), Some(c) if !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                {
                    self.bump();
                }
            }
        }
        let end = self.at;
        self.found.insert(pointer, Span { line, start, end });
        Some(())
    }

    /// A string's raw text (escapes decoded by serde_json).
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        self.bump();
        loop {
            match self.peek()? {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'"' => {
                    self.bump();
                    break;
                }
                _ => self.bump(),
            }
        }
        let raw = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        serde_json::from_str(raw).ok()
    }

    fn object(&mut self, pointer: &str) -> Option<()> {
        self.bump();
        loop {
            self.blank();
            match self.peek()? {
                b'}' => {
                    self.bump();
                    return Some(());
                }
                b',' => self.bump(),
                b'"' => {
                    let key = self.string()?;
                    self.blank();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.bump();
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    self.value(format!("{pointer}/{escaped}"))?;
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, pointer: &str) -> Option<()> {
        self.bump();
        let mut index = 0;
        loop {
            self.blank();
            match self.peek()? {
                b']' => {
                    self.bump();
                    return Some(());
                }
                b',' => self.bump(),
                _ => {
                    self.value(format!("{pointer}/{index}"))?;
                    index += 1;
                }
            }
        }
    }
}
