//! How many levels nest below a trace, kept current from what each batch nested
//! ([`Change::Nested`]) instead of a walk of the subtree per batch.
//!
//! A view that shows only so many levels says how many more there are below its last one; the
//! count changes with any event deep below it, which does not notify that view. Walking the
//! subtree after every batch cost O(subtree) per batch (a 100,000-deep chain below the row
//! streaming tokens: 100,000 traces visited per frame). What nests below a trace only grows,
//! and only by traces that join a tree ([`Change::Nested`]); each such trace finds its level
//! by its parents, in O(1) when it joins below the deepest trace known (a chain growing at
//! its end, the common case), and the walk is the fallback.

use crate::change::Change;
use crate::model::Model;
use crate::node::TraceId;

/// Steps up through parents that one batch may take before a walk is cheaper to reason about.
const STEPS: usize = 100_000;

/// The levels below one trace and a trace that deep, as last known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelsBelow {
    root: TraceId,
    /// How many levels nest below `root` (0: none).
    pub levels: usize,
    deepest: TraceId,
}

impl LevelsBelow {
    /// Counts the levels below `root` (a walk of its subtree).
    pub fn new(m: &Model, root: TraceId) -> Self {
        let (levels, deepest) = m.deepest_below(root);
        LevelsBelow {
            root,
            levels,
            deepest,
        }
    }

    /// The trace whose levels below are counted.
    pub fn root(&self) -> TraceId {
        self.root
    }

    /// Brings the count up to date after a batch whose changes were `changes` (all of the
    /// changes since the count was last current). A clear reads everything again.
    pub fn update(&mut self, m: &Model, changes: &[Change]) {
        let mut steps = 0;
        for c in changes {
            let current = match c {
                Change::Nested(t) => self.nested(m, *t, &mut steps),
                Change::Cleared => false,
                _ => true,
            };
            if !current {
                *self = Self::new(m, self.root);
                return;
            }
        }
    }

    /// Counts what `t` brings if it is below `root`; false when that took too many steps.
    fn nested(&mut self, m: &Model, t: TraceId, steps: &mut usize) -> bool {
        let Some(parent) = m.parent_trace(t) else {
            return true;
        };
        // The level of `t` below `root`, found through its parents.
        let level = if parent == self.deepest && m.trace(parent).is_some() {
            self.levels + 1
        } else {
            let (mut at, mut level) = (parent, 1);
            loop {
                if at == self.root {
                    break level;
                }
                *steps += 1;
                if *steps > STEPS {
                    return false;
                }
                match m.parent_trace(at) {
                    Some(p) => (at, level) = (p, level + 1),
                    None => return true,
                }
            }
        };
        // What nests in `t` came with it (a subtree that waited for its parent).
        let (below, deepest) = m.deepest_below(t);
        if level + below > self.levels {
            self.levels = level + below;
            self.deepest = deepest;
        }
        true
    }
}
