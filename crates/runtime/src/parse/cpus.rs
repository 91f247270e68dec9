//! `--cpus` (a decimal number of CPUs → nano-CPUs) and cpuset lists
//! (`--cpuset-cpus 0-2,4`).

use std::collections::BTreeSet;
use std::fmt;

use super::ParseError;

/// Parses `--cpus` like Docker (a rational number: `1.5`, `0.25`, `2`,
/// `1/2`, `1e-2`) into nano-CPUs (`1.5` → 1_500_000_000).
pub fn parse_nano_cpus(s: &str) -> Result<i64, ParseError> {
    let not_rational = || ParseError::new(format!("failed to parse {s} as a rational number"));
    let too_precise = || ParseError::new("value is too precise");
    let too_large = || ParseError::new(format!("value {s} is too large"));

    let (num, den): (i128, i128) = if let Some((a, b)) = s.split_once('/') {
        let a = parse_int(a).ok_or_else(not_rational)?;
        let b = parse_int(b).ok_or_else(not_rational)?;
        if b <= 0 {
            return Err(not_rational());
        }
        (a, b)
    } else {
        parse_decimal(s).ok_or_else(not_rational)?
    };
    let scaled = num.checked_mul(1_000_000_000).ok_or_else(too_large)?;
    if scaled % den != 0 {
        return Err(too_precise());
    }
    i64::try_from(scaled / den).map_err(|_| too_large())
}

fn parse_int(s: &str) -> Option<i128> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A decimal with optional sign, fraction and exponent, as an exact
/// fraction `num/den` with `den` a power of ten.
fn parse_decimal(s: &str) -> Option<(i128, i128)> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => {
            let e: i32 = parse_int(&rest[i + 1..])?.try_into().ok()?;
            (&rest[..i], e)
        }
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let digits = format!("{int_part}{frac_part}");
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 30 {
        return None;
    }
    let mut num: i128 = digits.parse().ok()?;
    if neg {
        num = -num;
    }
    let scale = exp - frac_part.len() as i32;
    if !(-30..=30).contains(&scale) {
        return None;
    }
    if scale >= 0 {
        Some((num.checked_mul(10i128.checked_pow(scale as u32)?)?, 1))
    } else {
        Some((num, 10i128.checked_pow((-scale) as u32)?))
    }
}

/// A set of CPU (or memory node) numbers, from a list like `0-2,4`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuSet(pub BTreeSet<u32>);

/// The largest CPU or node number accepted (a guard against `0-4294967295`).
const MAX_CPU: u32 = 65535;

impl CpuSet {
    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for CpuSet {
    /// The canonical list form (`0-2,4`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut iter = self.0.iter().copied().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&(end + 1)) {
                end += 1;
                iter.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

/// Parses a cpuset list (`0-2,4`, `1`, empty = none), as Docker's
/// `ParseUintList`.
pub fn parse_cpuset(s: &str) -> Result<CpuSet, ParseError> {
    let mut set = BTreeSet::new();
    if s.is_empty() {
        return Ok(CpuSet(set));
    }
    let number = |t: &str| -> Result<u32, ParseError> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(format!("invalid format: {s}")));
        }
        match t.parse::<u32>() {
            Ok(n) if n <= MAX_CPU => Ok(n),
            _ => Err(ParseError::new(format!(
                "value {t} out of range, maximum is {MAX_CPU}"
            ))),
        }
    };
    for part in s.split(',') {
        match part.split_once('-') {
            None => {
                set.insert(number(part)?);
            }
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if b < a {
                    return Err(ParseError::new(format!("invalid format: {s}")));
                }
                set.extend(a..=b);
            }
        }
    }
    Ok(CpuSet(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nano_cpus() {
        assert_eq!(parse_nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_nano_cpus("2"), Ok(2_000_000_000));
        assert_eq!(parse_nano_cpus("0.01"), Ok(10_000_000));
        assert_eq!(parse_nano_cpus(".5"), Ok(500_000_000));
        assert_eq!(parse_nano_cpus("1/4"), Ok(250_000_000));
        assert_eq!(parse_nano_cpus("1e-2"), Ok(10_000_000));
        assert_eq!(parse_nano_cpus("0.000000001"), Ok(1));
        assert_eq!(parse_nano_cpus("-1"), Ok(-1_000_000_000));
        assert_eq!(parse_nano_cpus("0"), Ok(0));
    }

    #[test]
    fn nano_cpu_errors() {
        assert_eq!(
            parse_nano_cpus("abc").unwrap_err().to_string(),
            "failed to parse abc as a rational number"
        );
        assert_eq!(
            parse_nano_cpus("0.0000000001").unwrap_err().to_string(),
            "value is too precise"
        );
        assert!(parse_nano_cpus("").is_err());
        assert!(parse_nano_cpus("1/0").is_err());
        assert!(parse_nano_cpus("1.5.2").is_err());
        assert!(parse_nano_cpus("99999999999999999999999").is_err());
    }

    #[test]
    fn cpusets() {
        let s = parse_cpuset("0-2,4").unwrap();
        assert_eq!(s.0.iter().copied().collect::<Vec<_>>(), vec![0, 1, 2, 4]);
        assert_eq!(s.to_string(), "0-2,4");
        assert_eq!(parse_cpuset("").unwrap(), CpuSet::default());
        assert_eq!(parse_cpuset("3").unwrap().to_string(), "3");
        assert_eq!(parse_cpuset("1,0,1").unwrap().to_string(), "0-1");
        for bad in ["0-", "-1", "a", "1,,2", "2-1", "0-99999999", " 1"] {
            assert!(parse_cpuset(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_cpuset("0-").unwrap_err().to_string(),
            "invalid format: 0-"
        );
        assert!(
            parse_cpuset("1")
                .unwrap()
                .is_subset(&parse_cpuset("0-1").unwrap())
        );
    }
}
