//! Durations (`1m30s`, `1d`) and byte sizes (`512m`, `1gb`), parsed exactly as compose-go
//! parses them (str2duration and go-units `RAMInBytes`: all units powers of 1024).

/// Parse a Go-style duration with `d` and `w` units into nanoseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let err = || format!("invalid duration `{text}`");
    let mut s = text;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    // Integer arithmetic, as Go's time.ParseDuration does: no float rounding, overflow is an error.
    let too_large = || format!("duration `{text}` is too large");
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after) = rest.strip_prefix('.') {
            let frac_len = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
            frac_part = &after[..frac_len];
            rest = &after[frac_len..];
        } else if int_part.is_empty() {
            return Err(err());
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err());
        }
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "w" => 604_800_000_000_000,
            "" => return Err(format!("missing unit in duration `{text}`")),
            _ => return Err(format!("unknown unit `{unit}` in duration `{text}`")),
        };
        let whole: u128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| too_large())? };
        let mut value = whole.checked_mul(scale).ok_or_else(too_large)?;
        // The fraction: 20 digits are finer than a nanosecond of the largest unit (a week is
        // 6.05e14 ns), and `numerator * scale` then stays far inside u128 (10^20 * 10^15).
        let mut numerator: u128 = 0;
        let mut denominator: u128 = 1;
        for digit in frac_part.bytes().take(20) {
            numerator = numerator * 10 + u128::from(digit - b'0');
            denominator *= 10;
        }
        value += numerator * scale / denominator;
        total = total.checked_add(value).ok_or_else(too_large)?;
        if total > i64::MAX as u128 {
            return Err(too_large());
        }
        rest = &rest[unit_len..];
    }
    let ns = total as i64;
    Ok(if neg { -ns } else { ns })
}

/// Parse a byte size: a plain integer, or `<float>[ ]<unit>` with b/k/m/g/t/p (+b, +ib).
pub fn parse_bytes(text: &str) -> Result<i64, String> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    // Then a Go float literal (`1e3`, `1_000`, `32.3`), truncated.
    if let Some(f) = go_float(text) {
        if f.is_finite() && f.abs() < i64::MAX as f64 {
            return Ok(f as i64);
        }
        return Err(format!("size `{text}` is too large"));
    }
    let err = || format!("invalid size `{text}`");
    let num_len = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, mut unit) = text.split_at(num_len);
    if number.is_empty() {
        return Err(err());
    }
    if let Some(u) = unit.strip_prefix(' ') {
        unit = u;
    }
    let value: f64 = number.parse().map_err(|_| err())?;
    let power = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        "p" | "pb" | "pib" => 5,
        _ => return Err(err()),
    };
    let bytes = value * 1024f64.powi(power);
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(format!("size `{text}` is too large"));
    }
    Ok(bytes as i64)
}

/// Go's `strconv.ParseFloat` for decimal literals: digits with single `_` between them, an
/// optional fraction and exponent, an optional sign.
fn go_float(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let bytes = body.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() && bytes[0] != b'.' {
        return None;
    }
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let ok = i > 0 && bytes[i - 1].is_ascii_digit() && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !ok {
                return None;
            }
        } else if !(b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
            return None;
        }
    }
    text.replace('_', "").parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let s = 1_000_000_000i64;
        let ok: &[(&str, i64)] = &[
            ("10s", 10 * s),
            ("1m30s", 90 * s),
            ("1.5h", 5400 * s),
            ("1d", 86400 * s),
            ("1w", 604800 * s),
            ("0", 0),
            ("500ms", s / 2),
            ("30s1m", 90 * s),
            (".5s", s / 2),
            // Long fractions of every unit (the fuzzer found an overflow with 90 digits).
            (&format!("1.{}w", "9".repeat(90)), 2 * 604800 * s - 1),
            (&format!("1.{}m", "1".repeat(90)), 66_666_666_666),
            (&format!("0.{}1ns", "0".repeat(40)), 0),
        ];
        for (text, ns) in ok {
            assert_eq!(parse_duration(text), Ok(*ns), "{text}");
        }
        for bad in ["10", "1S", "1y", "", "1 s", "1e3s", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_sizes() {
        let ok: &[(&str, i64)] = &[
            ("512m", 512 << 20),
            ("1gb", 1 << 30),
            ("1 GB", 1 << 30),
            ("1.5g", 1610612736),
            ("32.3", 32),
            ("-1", -1),
            ("10k", 10240),
            ("100", 100),
        ];
        for (text, n) in ok {
            assert_eq!(parse_bytes(text), Ok(*n), "{text}");
        }
        for bad in ["1  GB", " 1g", "1x", "", "99999999999999999999g", "-1g"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }
}
