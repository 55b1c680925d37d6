//! The panel's memory cap as a host gives it (`mount`'s `maxBytes`): checked here, outside the
//! JavaScript glue, so that its edges are tested natively.

/// The smallest cap taken: below it the panel would evict every trace as it arrives.
pub const MIN_BYTES: usize = 1 << 20;

/// Reads a cap in bytes: a whole number of at least [`MIN_BYTES`]. A number past what this
/// build can address is the largest it can (the cap cannot be reached). Anything else is
/// refused with a reason for the status area.
pub fn byte_cap(value: Option<f64>) -> Result<usize, String> {
    let refused = |what: &str| Err(format!("maxBytes {what}: the default cap is kept"));
    let Some(n) = value else {
        return refused("is not a number");
    };
    if !n.is_finite() || n.fract() != 0.0 {
        return refused("is not a whole number of bytes");
    }
    if n < MIN_BYTES as f64 {
        return refused("is under 1 MiB (1048576)");
    }
    // `as` saturates at `usize::MAX`.
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_number_of_at_least_a_mib_is_taken() {
        assert_eq!(byte_cap(Some(1_048_576.0)), Ok(MIN_BYTES));
        assert_eq!(byte_cap(Some(1e9)), Ok(1_000_000_000));
        assert_eq!(byte_cap(Some(1e300)), Ok(usize::MAX));
    }

    #[test]
    fn one_byte_under_a_mib_a_fraction_and_what_is_not_a_number_are_refused() {
        for (v, why) in [
            (Some(1_048_575.0), "under 1 MiB"),
            (Some(-1e9), "under 1 MiB"),
            (Some(2e6 + 0.5), "whole number"),
            (Some(f64::NAN), "whole number"),
            (Some(f64::INFINITY), "whole number"),
            (None, "not a number"),
        ] {
            let e = byte_cap(v).expect_err("refused");
            assert!(
                e.contains(why) && e.contains("default cap is kept"),
                "{v:?}: {e}"
            );
        }
    }
}
