//! Go's `fmt` conventions for the values templates print: `%v` of JSON
//! values (`[a b]`, `map[k:v]`, `<nil>`), `%g` of floats, and a `printf`
//! covering the common verbs.

use serde_json::Value;

/// Go's `%v` of a decoded JSON value.
pub fn value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(item) = map.get(*k) {
                    write_value(out, item);
                }
            }
            out.push(']');
        }
    }
}

/// Integers as integers, floats as Go's `%v` (shortest `%g`).
pub fn number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        float_v(n.as_f64().unwrap_or(0.0))
    }
}

/// Go's `%v` for a float64: the shortest representation, `%e` style when
/// the exponent is below -4 or at least 6 (`1e+06`).
pub fn float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Shortest digits, and like strconv: precision 6 decides the layout.
    let (digits, exp) = shortest_digits(f);
    format_g_digits(f.is_sign_negative() && f != 0.0, &digits, exp, 6)
}

/// Go's `%.{prec}g`.
pub fn float_g(f: f64, prec: usize) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let prec = prec.max(1);
    // Rust rounds to `prec` significant digits exactly (half to even on
    // exact ties), as Go's strconv does.
    let s = format!("{:.*e}", prec - 1, f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    format_g_digits(f.is_sign_negative() && f != 0.0, digits, exp, prec as i32)
}

/// Shortest round-trip decimal digits of |f| and the decimal exponent of
/// the first digit.
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (digits, exp)
}

/// Lays out significant `digits` (first digit at 10^exp) the way `%g`
/// does: scientific when `exp < -4 || exp >= eprec`.
fn format_g_digits(neg: bool, digits: &str, exp: i32, eprec: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// The Go type name of a decoded JSON value, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %q %t %x
/// %X %f %e %g %c %%`, with flags `-+0 #`, width and precision.
pub fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut minus = false;
        let mut plus = false;
        let mut zero = false;
        let mut space = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p * 10 + d as usize;
                chars.next();
            }
            precision = Some(p);
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let text = match format_verb(verb, arg, precision, plus, space) {
            Some(t) => t,
            None => format!("%!{verb}({}={})", type_name(arg), value(arg)),
        };
        out.push_str(&pad(&text, width, minus, zero && !minus && verb != 's'));
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", type_name(a), value(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn format_verb(
    verb: char,
    arg: &Value,
    precision: Option<usize>,
    plus: bool,
    space: bool,
) -> Option<String> {
    let sign = |s: String, nonneg: bool| {
        if nonneg && plus {
            format!("+{s}")
        } else if nonneg && space {
            format!(" {s}")
        } else {
            s
        }
    };
    Some(match (verb, arg) {
        ('v', _) => value(arg),
        ('s', Value::String(s)) => match precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('s', Value::Array(_) | Value::Object(_)) => value(arg),
        ('q', Value::String(s)) => serde_json::to_string(s).unwrap_or_default(),
        ('t', Value::Bool(b)) => b.to_string(),
        ('d', Value::Number(n)) if !n.is_f64() => {
            let s = number(n);
            let nonneg = !s.starts_with('-');
            sign(s, nonneg)
        }
        ('x' | 'X', Value::Number(n)) if !n.is_f64() => {
            let s = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) if i < 0 => format!("-{:x}", i.unsigned_abs()),
                (_, Some(u)) => format!("{u:x}"),
                _ => return None,
            };
            if verb == 'X' { s.to_uppercase() } else { s }
        }
        ('x' | 'X', Value::String(s)) => {
            let h: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            if verb == 'X' { h.to_uppercase() } else { h }
        }
        ('c', Value::Number(n)) => char::from_u32(n.as_u64()? as u32)?.to_string(),
        ('f' | 'F' | 'e' | 'g', Value::Number(n)) => {
            let f = n.as_f64()?;
            let s = match verb {
                'e' => {
                    let s = format!("{:.*e}", precision.unwrap_or(6), f);
                    // Rust writes e5, Go e+05.
                    match s.split_once('e') {
                        Some((m, e)) => {
                            let (sgn, digits) = match e.strip_prefix('-') {
                                Some(d) => ('-', d),
                                None => ('+', e),
                            };
                            format!("{m}e{sgn}{digits:0>2}")
                        }
                        None => s,
                    }
                }
                'g' => match precision {
                    Some(p) => float_g(f, p),
                    None => float_v(f),
                },
                _ => format!("{:.*}", precision.unwrap_or(6), f),
            };
            sign(s, f >= 0.0)
        }
        _ => return None,
    })
}

fn pad(text: &str, width: Option<usize>, left: bool, zero: bool) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let len = text.chars().count();
    if len >= width {
        return text.to_string();
    }
    let fill = width - len;
    if left {
        format!("{text}{}", " ".repeat(fill))
    } else if zero {
        let (sign, rest) = match text.strip_prefix('-') {
            Some(r) => ("-", r),
            None => ("", text),
        };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_like_go() {
        assert_eq!(value(&json!(["a", "b"])), "[a b]");
        assert_eq!(value(&json!([])), "[]");
        assert_eq!(value(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
        assert_eq!(value(&json!({"80/tcp": {}})), "map[80/tcp:map[]]");
        assert_eq!(value(&json!(null)), "<nil>");
        assert_eq!(value(&json!([null, true, 4261266])), "[<nil> true 4261266]");
        assert_eq!(value(&json!(1.5)), "1.5");
        assert_eq!(value(&json!(-3)), "-3");
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(float_v(1e6), "1e+06");
        assert_eq!(float_v(123456.0), "123456");
        assert_eq!(float_v(1e20), "1e+20");
        assert_eq!(float_v(1234567.0), "1.234567e+06");
        assert_eq!(float_v(0.0001), "0.0001");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(0.0), "0");
        assert_eq!(float_g(4.261266, 3), "4.26");
        assert_eq!(float_g(999.9, 3), "1e+03");
        assert_eq!(float_g(5.0, 3), "5");
        assert_eq!(float_g(100.0, 3), "100");
        assert_eq!(float_g(31.0123, 4), "31.01");
        assert_eq!(float_g(0.5, 3), "0.5");
        assert_eq!(float_g(-2.25, 2), "-2.2");
    }

    #[test]
    fn printf_verbs() {
        assert_eq!(printf("%s=%d", &[json!("a"), json!(3)]), "a=3");
        assert_eq!(
            printf("%-5s|%5s|", &[json!("ab"), json!("cd")]),
            "ab   |   cd|"
        );
        assert_eq!(printf("%05d", &[json!(-42)]), "-0042");
        assert_eq!(printf("%q", &[json!("a\"b")]), r#""a\"b""#);
        assert_eq!(printf("%.2f%%", &[json!(12.345)]), "12.35%");
        assert_eq!(printf("%v %v", &[json!(["x"]), json!(true)]), "[x] true");
        assert_eq!(printf("%x", &[json!(255)]), "ff");
        assert_eq!(printf("%d", &[json!("s")]), "%!d(string=s)");
        assert_eq!(printf("%s %s", &[json!("a")]), "a %!s(MISSING)");
        assert_eq!(printf("%s", &[json!("a"), json!(1)]), "a%!(EXTRA int=1)");
        assert_eq!(printf("%e", &[json!(1234.5)]), "1.234500e+03");
        assert_eq!(printf("%.3s", &[json!("abcdef")]), "abc");
    }
}
