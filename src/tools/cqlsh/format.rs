//! Result cells to [`Cell`]s: the text is [`sibyl_cql::types::format_cqlsh`]
//! (cqlsh's `formatting.py`: `null`, `True`, `0x00ff`, `2024-01-02
//! 03:04:05.000000+0000`, `{'a': 1}`, `{f: 'x'}` ...), the colour is cqlsh's
//! `DEFAULT_VALUE_COLORS` for the type.
//!
//! One simplification: cqlsh colours the elements of a collection by their own
//! types and only the brackets and separators blue; here the whole collection is
//! blue. The text is the same.

use sibyl_cql::types::{deserialize, format_cqlsh, CqlType};

use super::table::{color, Cell};

/// The colour cqlsh gives a value of `ty`.
pub fn value_color(ty: &CqlType) -> &'static str {
    use CqlType as T;
    match ty.unfrozen() {
        T::Ascii | T::Text | T::Custom(_) => color::YELLOW,
        T::Blob => color::DARK_MAGENTA,
        T::List(_) | T::Set(_) | T::Map(_, _) | T::Tuple(_) | T::Udt { .. } | T::Vector(_, _) => {
            color::BLUE
        }
        _ => color::GREEN,
    }
}

/// One result cell as cqlsh shows it. Undecodable bytes show as their hex in red
/// and are reported in `decode_errors` (cqlsh prints the first two after the table).
pub fn format_cell(
    cell: Option<&[u8]>,
    ty: &CqlType,
    column: &str,
    decode_errors: &mut Vec<String>,
) -> Cell {
    let Some(bytes) = cell else {
        return Cell::colored("null", color::RED);
    };
    match deserialize(bytes, ty) {
        Ok(v) => Cell::colored(format_cqlsh(&v, ty), value_color(ty)),
        Err(e) => {
            let hex = hex(bytes);
            decode_errors.push(format!(
                "Failed to decode value {hex} (for column '{column}') as {ty}: {e}"
            ));
            Cell::colored(hex, color::RED)
        }
    }
}

/// `0x` followed by lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use sibyl_cql::types::{serialize, CqlValue};

    fn cell(v: CqlValue, ty: &CqlType) -> Cell {
        let bytes = serialize(&v, ty).expect("serialize");
        format_cell(Some(&bytes), ty, "c", &mut Vec::new())
    }

    #[test]
    fn values_and_colours() {
        let c = cell(CqlValue::Int(42), &CqlType::Int);
        assert_eq!((c.text.as_str(), c.color), ("42", Some(color::GREEN)));
        let c = cell(CqlValue::Text("a'b".into()), &CqlType::Text);
        assert_eq!((c.text.as_str(), c.color), ("a'b", Some(color::YELLOW)));
        let c = cell(CqlValue::Blob(vec![0, 255]), &CqlType::Blob);
        assert_eq!(c.text, "0x00ff");
        let ty = CqlType::List(Box::new(CqlType::Text));
        let c = cell(
            CqlValue::List(vec![
                CqlValue::Text("x".into()),
                CqlValue::Text("it's".into()),
            ]),
            &ty,
        );
        assert_eq!(
            (c.text.as_str(), c.color),
            ("['x', 'it''s']", Some(color::BLUE))
        );
        let c = format_cell(None, &CqlType::Int, "c", &mut Vec::new());
        assert_eq!((c.text.as_str(), c.color), ("null", Some(color::RED)));
    }

    #[test]
    fn undecodable_bytes_are_reported() {
        let mut errors = Vec::new();
        let c = format_cell(Some(&[1, 2, 3]), &CqlType::Int, "v", &mut errors);
        assert_eq!(c.text, "0x010203");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("for column 'v'"), "{errors:?}");
    }
}
