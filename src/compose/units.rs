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
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err());
        }
        let value: f64 = number.parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            "w" => 604800e9,
            "" => return Err(format!("missing unit in duration `{text}`")),
            _ => return Err(format!("unknown unit `{unit}` in duration `{text}`")),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    if total > i64::MAX as f64 {
        return Err(format!("duration `{text}` is too large"));
    }
    let ns = total as i64;
    Ok(if neg { -ns } else { ns })
}

/// Parse a byte size: a plain integer, or `<float>[ ]<unit>` with b/k/m/g/t/p (+b, +ib).
pub fn parse_bytes(text: &str) -> Result<i64, String> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
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
