//! A process's colour: a hue derived from its name alone, so that a process has the same colour
//! after a reload and in every panel. Pure logic, tested natively; the stylesheet turns the
//! hue into a tint readable in light and dark (`--utp-proc-h` on badges and options).

/// Hues of the palette: few enough to tell apart at a glance, spread round the wheel.
const HUES: u32 = 24;

/// The hue (degrees, 0..360) of process `name`: FNV-1a of its bytes, picked among [`HUES`]
/// evenly spaced hues. Stable across builds and platforms (no `std` hasher, whose seed and
/// algorithm may change).
pub fn hue(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    // The high bits mix best; 15 degrees apart.
    (h >> 8) % HUES * (360 / HUES)
}

/// The inline style that gives an element process `name`'s colour.
pub fn style(name: &str) -> String {
    format!("--utp-proc-h:{}", hue(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_always_gets_the_same_hue() {
        // Fixed values: a change of the function would recolour every reader's processes.
        assert_eq!(hue("agent@host:4242"), hue("agent@host:4242"));
        assert_eq!(hue(""), (0x811c_9dc5u32 >> 8) % HUES * 15);
        assert!(hue("agent@host:4242") < 360);
        assert_eq!(style("x"), format!("--utp-proc-h:{}", hue("x")));
    }

    #[test]
    fn near_names_usually_differ() {
        // Near misses: workers that differ by one digit or one character.
        let names = [
            "worker-1", "worker-2", "worker-3", "worker-4", "agent", "agenT",
        ];
        let hues: std::collections::BTreeSet<u32> = names.iter().map(|n| hue(n)).collect();
        assert!(hues.len() >= 5, "{hues:?}");
        for h in hues {
            assert_eq!(h % 15, 0, "one of the palette's hues");
        }
    }
}
