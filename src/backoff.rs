//! Reconnection delays: exponential backoff with jitter, so that many panels reconnecting to
//! a restarted runtime do not arrive all at once.

/// Options of [`delay_ms`], with defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay, in milliseconds.
    pub base_ms: f64,
    /// The longest delay, in milliseconds.
    pub max_ms: f64,
    /// Fraction of the delay that is random: 0.2 means ±20%.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base_ms: 250.0,
            max_ms: 10_000.0,
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (0 for the first retry); `random` is in [0, 1).
    pub fn delay_ms(&self, attempt: u32, random: f64) -> u32 {
        let exp = self.base_ms * 2f64.powi(attempt.min(30) as i32);
        let capped = exp.min(self.max_ms);
        let spread = capped * self.jitter * (random.clamp(0.0, 1.0) * 2.0 - 1.0);
        (capped + spread).max(0.0).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_up_to_the_cap_with_bounded_jitter() {
        let b = Backoff::default();
        assert_eq!(b.delay_ms(0, 0.5), 250);
        assert_eq!(b.delay_ms(1, 0.5), 500);
        assert_eq!(b.delay_ms(3, 0.5), 2000);
        assert_eq!(b.delay_ms(20, 0.5), 10_000);
        assert_eq!(b.delay_ms(0, 0.0), 200);
        assert_eq!(b.delay_ms(0, 0.999_999), 300);
        assert_eq!(b.delay_ms(u32::MAX, 0.0), 8000);
    }
}
