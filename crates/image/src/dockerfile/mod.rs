//! Dockerfile syntax shared by `--change` handling and, later, the builder: line parsing, word processing and typed instructions.

pub mod instructions;
pub mod parser;
pub mod shell;

use std::fmt;

pub use instructions::{CommandLine, Instruction, KeyValue, parse_instruction};
pub use parser::{Dockerfile, Node, parse};
pub use shell::{Env, Lex};

/// A parse error with the line(s) it concerns, worded as Docker words it:
/// `dockerfile parse error on line 1: unknown instruction: FOO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileError {
    pub start_line: usize,
    pub end_line: usize,
    pub message: String,
}

impl DockerfileError {
    pub fn at(line: usize, message: impl Into<String>) -> Self {
        Self::range(line, line, message)
    }

    pub fn range(start_line: usize, end_line: usize, message: impl Into<String>) -> Self {
        DockerfileError {
            start_line,
            end_line,
            message: message.into(),
        }
    }
}

impl fmt::Display for DockerfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dockerfile parse error on line {}: {}",
            self.start_line, self.message
        )
    }
}

impl std::error::Error for DockerfileError {}

impl From<DockerfileError> for crate::ImageError {
    fn from(e: DockerfileError) -> Self {
        crate::ImageError::InvalidParameter(e.to_string())
    }
}
