//! One clock for every view that shows time still running (an open span's elapsed time, its
//! bar growing): it ticks a few times a second while some view reads it, and stops when none
//! did since the last tick. A tick costs only the views that read it; a token costs it nothing.

use std::cell::Cell;
use std::time::Duration;

use crate::reactive::{set_timeout, ArcTrigger, Notify, Track};

/// How often running times move: often enough to look alive, far less than once per frame.
const TICK: Duration = Duration::from_millis(250);

struct Clock {
    tick: ArcTrigger,
    /// Some view read the clock since the last tick.
    wanted: Cell<bool>,
    /// A tick is scheduled.
    running: Cell<bool>,
    /// Ticks so far: what keeps in step with the clock (the live markers' blink).
    count: Cell<u64>,
}

thread_local! {
    static CLOCK: Clock = Clock {
        tick: ArcTrigger::new(),
        wanted: Cell::new(false),
        running: Cell::new(false),
        count: Cell::new(0),
    };
}

/// The time now, in microseconds since the epoch (the browser's clock).
pub fn now() -> u64 {
    (js_sys::Date::now() * 1000.0) as u64
}

/// The time now, and the calling effect runs again at the next tick.
pub fn now_tracked() -> u64 {
    CLOCK.with(|c| {
        c.tick.track();
        c.wanted.set(true);
        if !c.running.replace(true) {
            schedule();
        }
    });
    now()
}

/// The clock's ticks so far (read after [`now_tracked`] to run again at the next one).
pub fn ticks() -> u64 {
    CLOCK.with(|c| c.count.get())
}

fn schedule() {
    set_timeout(
        || {
            CLOCK.with(|c| {
                if c.wanted.replace(false) {
                    c.count.set(c.count.get() + 1);
                    c.tick.notify();
                    schedule();
                } else {
                    c.running.set(false);
                }
            })
        },
        TICK,
    );
}
