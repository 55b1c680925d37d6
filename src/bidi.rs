//! Direction-control characters in trace content, kept out of the views so they are tested
//! natively.
//!
//! A right-to-left override inside a name makes `evil\u{202E}exe.txt` read as `eviltxt.exe`:
//! a producer could make one trace look like another. Labels therefore never apply these
//! characters: they show each as a visible marker (`⟨RLO⟩`) instead ([`crate::label_text`]),
//! and every label and value is isolated (`dir="auto"`) so that its direction cannot leak
//! into what is around it.

/// The short name of a direction-control character (`RLO` for U+202E), or `None` for any
/// other character.
pub fn control_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{061C}' => "ALM",
        '\u{200E}' => "LRM",
        '\u{200F}' => "RLM",
        '\u{202A}' => "LRE",
        '\u{202B}' => "RLE",
        '\u{202C}' => "PDF",
        '\u{202D}' => "LRO",
        '\u{202E}' => "RLO",
        '\u{2066}' => "LRI",
        '\u{2067}' => "RLI",
        '\u{2068}' => "FSI",
        '\u{2069}' => "PDI",
        _ => return None,
    })
}

/// The marker shown in place of a direction control: `⟨RLO⟩`.
pub fn marker(name: &str) -> String {
    format!("⟨{name}⟩")
}

/// A tooltip saying what a marker stands for: `U+202E RLO, a direction control (not applied)`.
pub fn describe(c: char, name: &str) -> String {
    let hex = crate::label_text::hex4(c);
    format!("U+{hex} {name}, a direction control (shown, not applied)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_direction_control_has_a_name_and_near_misses_have_none() {
        let controls = [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ];
        for c in controls {
            assert!(control_name(c).is_some(), "U+{:04X}", c as u32);
        }
        assert_eq!(control_name('\u{202E}'), Some("RLO"));
        // Neighbours of the ranges, joiners and Arabic or Hebrew letters are text.
        for c in [
            '\u{061B}', '\u{061D}', '\u{200D}', '\u{2010}', '\u{2029}', '\u{202F}', '\u{2065}',
            '\u{206A}', 'ا', 'א', 'a',
        ] {
            assert_eq!(control_name(c), None, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn markers_say_what_they_stand_for() {
        assert_eq!(marker("RLO"), "⟨RLO⟩");
        assert_eq!(
            describe('\u{202E}', "RLO"),
            "U+202E RLO, a direction control (shown, not applied)"
        );
    }
}
