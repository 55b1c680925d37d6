//! Process names shared between the nodes that carry them: a program has a few processes and
//! may have a million spans, so a span holds a pointer to a shared name, not its own copy
//! (issue 19: bytes per small span).

use std::sync::Arc;

/// How many distinct names are remembered. A lookup compares against each, so this stays
/// small; a stream of more processes than this still works, each node then holding a name of
/// its own as before.
const RECENT: usize = 16;

/// The names met most recently.
#[derive(Debug, Default)]
pub(crate) struct Names {
    recent: Vec<Arc<str>>,
    /// The entry replaced next once all are taken (oldest first).
    next: usize,
}

impl Names {
    /// `name`, shared with the nodes that got it before while it is remembered.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.recent.iter().find(|n| ***n == *name) {
            return n.clone();
        }
        let n: Arc<str> = name.into();
        if self.recent.len() < RECENT {
            self.recent.push(n.clone());
        } else {
            self.recent[self.next] = n.clone();
            self.next = (self.next + 1) % RECENT;
        }
        n
    }

    pub fn clear(&mut self) {
        self.recent.clear();
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_met_again_is_the_same_allocation() {
        let mut names = Names::default();
        let a = names.get("agent@host:1");
        let b = names.get("agent@host:1");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &names.get("agent@host:2")));
    }

    #[test]
    fn past_the_remembered_count_the_oldest_is_forgotten_and_names_stay_right() {
        let mut names = Names::default();
        let first = names.get("p0");
        for i in 1..RECENT {
            names.get(&format!("p{i}"));
        }
        // All RECENT remembered: p0 still shared.
        assert!(Arc::ptr_eq(&first, &names.get("p0")));
        // One more replaces the oldest (p0): a new copy, equal in text.
        names.get("new");
        let again = names.get("p0");
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(*again, *"p0");
        assert_eq!(names.recent.len(), RECENT);
    }
}
