//! Layout math for virtualized lists, kept out of components so it is tested natively.
//!
//! A long list is cut into blocks of [`BLOCK`] rows. A block near the viewport is mounted; a
//! block away from it is one empty element as tall as the block was when last shown, or, if it
//! was never shown, as tall as the rows measured so far suggest. Blocks (not rows) keep the
//! number of observed elements and reactive nodes small at 100,000 rows, and let rows of very
//! different heights (a one-line span, a long streamed answer) be measured, not guessed.
//!
//! Blocks are grouped by [`GROUP`]: only groups are always watched; a group's blocks are watched
//! while the group is near. The browser intersects every watched element on every frame, so
//! 100,000 rows watch about 100 groups and the few blocks near the viewport, not 2,000 blocks.

use std::ops::Range;

/// Rows per block.
pub const BLOCK: usize = 10;

/// How many blocks `len` rows make.
pub fn block_count(len: usize) -> usize {
    len.div_ceil(BLOCK)
}

/// The rows of block `index` in a list of `len` rows (empty past the end).
pub fn block_rows(index: usize, len: usize) -> Range<usize> {
    let start = (index * BLOCK).min(len);
    start..((index + 1) * BLOCK).min(len)
}

/// Blocks per group.
pub const GROUP: usize = 40;

/// How many groups `blocks` blocks make.
pub fn group_count(blocks: usize) -> usize {
    blocks.div_ceil(GROUP)
}

/// The blocks of group `index` among `blocks` blocks (empty past the end).
pub fn group_blocks(index: usize, blocks: usize) -> Range<usize> {
    let start = (index * GROUP).min(blocks);
    start..((index + 1) * GROUP).min(blocks)
}

/// The rows of group `index` in a list of `len` rows.
pub fn group_rows(index: usize, len: usize) -> Range<usize> {
    let b = group_blocks(index, block_count(len));
    (b.start * BLOCK).min(len)..(b.end * BLOCK).min(len)
}

/// Whether a group is near before the viewport has been measured: when it holds a block that
/// is mounted then.
pub fn group_initially_near(index: usize, blocks: usize) -> bool {
    group_blocks(index, blocks).any(|b| initially_mounted(b, blocks))
}

/// Whether a block is mounted before the viewport has been measured: the first blocks (the
/// top of the list, where a list opens) and the last one (the newest rows, where follow mode
/// and streaming are).
pub fn initially_mounted(index: usize, count: usize) -> bool {
    index < 2 || index + 1 == count
}

/// The most a row never shown is expected to measure. The rows measured first are not always
/// like the others: a tree follows its newest traces, which are open (thousands of pixels
/// each), while the older ones it has not shown are folded (one line). Expected at the
/// average, 9,000 folded traces made the list taller than a browser lays out (see
/// [`OPEN_ROWS`]) and every block mounted. A row that measures taller when shown makes the
/// list grow then, as any measurement does.
pub const MAX_ESTIMATED_ROW_PX: f64 = 100.0;

/// Estimates row heights from the blocks measured so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeightEstimate {
    rows: usize,
    pixels: f64,
    fallback: f64,
}

impl HeightEstimate {
    /// `fallback`: the height of one row before any was measured.
    pub fn new(fallback: f64) -> Self {
        HeightEstimate {
            rows: 0,
            pixels: 0.0,
            fallback,
        }
    }

    /// Records that `rows` rows measured `pixels` tall.
    pub fn record(&mut self, rows: usize, pixels: f64) {
        if rows > 0 && pixels.is_finite() && pixels > 0.0 {
            self.rows += rows;
            self.pixels += pixels;
        }
    }

    /// `pixels` when the browser measured something (an element out of the layout measures
    /// 0), else the expected height of `rows` rows.
    pub fn measured_or_expected(&self, rows: usize, pixels: f64) -> f64 {
        if pixels.is_finite() && pixels > 0.0 {
            pixels
        } else {
            self.height_of(rows)
        }
    }

    /// The expected height of `rows` rows, at most [`MAX_ESTIMATED_ROW_PX`] each.
    pub fn height_of(&self, rows: usize) -> f64 {
        let per_row = if self.rows == 0 {
            self.fallback
        } else {
            self.pixels / self.rows as f64
        };
        per_row.min(MAX_ESTIMATED_ROW_PX) * rows as f64
    }
}

/// Span rows the root traces open by default may hold together. A browser lays out at most
/// about 33.5 million pixels in one element (Chromium's limit; Firefox's is lower): a million
/// spans at some 50 pixels a row would be past it, the placeholders' heights would be cut, and
/// every block would seem near and mount (B8 mounted 3.5 million elements that way). This many
/// rows stay near 5 million pixels.
pub const OPEN_ROWS: usize = 100_000;

/// How many of the newest root traces open by default, given each one's span rows, newest
/// first: the newest, and then as many as fit in [`OPEN_ROWS`] with it. Older ones start
/// folded (one row each) unless the reader opens them, they still run, or a command opened all.
pub fn open_by_default(rows_newest_first: impl IntoIterator<Item = usize>) -> usize {
    let mut total = 0usize;
    let mut open = 0;
    for rows in rows_newest_first {
        total = total.saturating_add(rows);
        if open > 0 && total > OPEN_ROWS {
            break;
        }
        open += 1;
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_traces_open_up_to_the_row_budget_and_the_newest_always() {
        assert_eq!(open_by_default([]), 0);
        // 10,000 traces of 100 spans: the newest 1,000 fill the budget exactly.
        assert_eq!(open_by_default(std::iter::repeat_n(100, 10_000)), 1_000);
        // One row more and the thousandth no longer fits.
        let one_more = std::iter::once(101).chain(std::iter::repeat_n(100, 10_000));
        assert_eq!(open_by_default(one_more), 999);
        // The newest opens even past the budget alone; the next does not.
        assert_eq!(open_by_default([OPEN_ROWS + 1, 1]), 1);
        assert_eq!(
            open_by_default([OPEN_ROWS, 0, 0]),
            3,
            "empty traces cost no row"
        );
        assert_eq!(open_by_default([usize::MAX, usize::MAX]), 1);
    }

    #[test]
    fn blocks_cover_every_row_once() {
        for len in [0, 1, 49, 50, 51, 100, 100_000, 100_001] {
            let rows: Vec<usize> = (0..block_count(len))
                .flat_map(|b| block_rows(b, len))
                .collect();
            assert_eq!(rows, (0..len).collect::<Vec<_>>(), "len {len}");
        }
        assert_eq!(block_count(100_000), 100_000 / BLOCK);
        assert_eq!(block_rows(3, 3 * BLOCK), 3 * BLOCK..3 * BLOCK);
    }

    #[test]
    fn groups_cover_every_block_once() {
        for blocks in [0, 1, 19, 20, 21, 2_000, 2_001] {
            let all: Vec<usize> = (0..group_count(blocks))
                .flat_map(|g| group_blocks(g, blocks))
                .collect();
            assert_eq!(all, (0..blocks).collect::<Vec<_>>(), "{blocks} blocks");
        }
        let per_group = BLOCK * GROUP;
        assert_eq!(group_count(block_count(100_000)), 100_000 / per_group);
        assert_eq!(group_rows(1, 100_000), per_group..2 * per_group);
        let len = 2 * per_group + 7;
        assert_eq!(group_rows(2, len), 2 * per_group..len);
        assert_eq!(group_rows(3, len), len..len);
    }

    #[test]
    fn groups_holding_the_first_mounted_blocks_start_near() {
        let blocks = 100 * GROUP;
        let near: Vec<usize> = (0..100)
            .filter(|&g| group_initially_near(g, blocks))
            .collect();
        assert_eq!(near, vec![0, 99]);
        assert!(group_initially_near(0, 1));
    }

    #[test]
    fn the_top_and_the_newest_blocks_mount_first() {
        let mounted: Vec<usize> = (0..10).filter(|&b| initially_mounted(b, 10)).collect();
        assert_eq!(mounted, vec![0, 1, 9]);
        assert!(initially_mounted(0, 1));
    }

    #[test]
    fn estimates_follow_measurements() {
        let mut e = HeightEstimate::new(30.0);
        assert_eq!(e.height_of(50), 1500.0);
        e.record(50, 4000.0);
        e.record(50, 2000.0);
        assert_eq!(e.height_of(10), 600.0);
        // A hidden (0 px) or broken measurement does not skew the estimate.
        e.record(50, 0.0);
        e.record(50, f64::NAN);
        assert_eq!(e.height_of(10), 600.0);
        assert_eq!(e.measured_or_expected(10, 250.0), 250.0);
        assert_eq!(e.measured_or_expected(10, 0.0), 600.0);
    }

    #[test]
    fn rows_never_shown_are_expected_at_most_100_px_each() {
        // The newest traces measured open, 5,000 px a row: the 9,000 older ones are expected
        // at 100 px, not 45 million pixels in all.
        let mut e = HeightEstimate::new(48.0);
        e.record(1_000, 5_000_000.0);
        assert_eq!(e.height_of(9_000), 900_000.0);
        // At the cap and under it, the average stands.
        let mut e = HeightEstimate::new(48.0);
        e.record(10, 1_000.0);
        assert_eq!(e.height_of(3), 300.0);
        e.record(10, 0.5);
        assert_eq!(e.height_of(20), 1_000.5);
    }
}
