//! Frame pacing: when the UI loop draws the next frame.
//!
//! Handlers ask for a frame when they change what is on screen:
//! [`FramePacer::request`] for changes from the engine, the replay clock or
//! the spinner, which wait for the next frame's time, and
//! [`FramePacer::request_now`] for a key, a click or a resize, which may take
//! a frame one [`FRAME`] early (the frame after it waits the longer). Many
//! requests before the frame is drawn make one frame; the average rate never
//! passes one per [`FRAME`]; with nothing requested there is no deadline and
//! no frame. The loop asks [`FramePacer::due`] before drawing, reports the
//! draw with [`FramePacer::drawn`], and sleeps on [`FramePacer::wait`].

use std::time::Duration;

use tokio::time::Instant;

/// The time between two frames at the steady pace (60 per second).
pub const FRAME: Duration = Duration::from_micros(16_667);

/// Whether a frame is wanted, and when it may be drawn.
#[derive(Clone, Copy, Debug)]
pub struct FramePacer {
    /// Something changed since the last frame.
    dirty: bool,
    /// The change came from the user: answer a frame early.
    urgent: bool,
    /// When the next frame is due at the steady pace.
    next_frame: Instant,
}

impl FramePacer {
    /// A pacer that wants its first frame at once.
    pub fn new(now: Instant) -> Self {
        Self {
            dirty: true,
            urgent: false,
            next_frame: now,
        }
    }

    /// Something changed: draw it at the next frame's time.
    pub fn request(&mut self) {
        self.dirty = true;
    }

    /// The user did something: draw it as soon as the pace allows.
    pub fn request_now(&mut self) {
        self.dirty = true;
        self.urgent = true;
    }

    /// When the wanted frame may be drawn; `None` while nothing is wanted.
    pub fn deadline(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(if self.urgent {
            self.next_frame
                .checked_sub(FRAME)
                .unwrap_or(self.next_frame)
        } else {
            self.next_frame
        })
    }

    /// Whether a frame should be drawn at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|at| now >= at)
    }

    /// A frame was drawn at `now`: nothing is wanted until the next request.
    pub fn drawn(&mut self, now: Instant) {
        self.dirty = false;
        self.urgent = false;
        self.next_frame = self.next_frame.max(now) + FRAME;
    }

    /// Resolves when the wanted frame is due; never while nothing is wanted.
    pub async fn wait(&self) {
        match self.deadline() {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loop like the UI's: draws whenever the pacer says so, and counts.
    #[derive(Debug)]
    struct Spy {
        pacer: FramePacer,
        frames: Vec<Instant>,
    }

    impl Spy {
        fn new() -> Self {
            Self {
                pacer: FramePacer::new(Instant::now()),
                frames: Vec::new(),
            }
        }

        /// Draws if a frame is due now.
        fn tick(&mut self) {
            let now = Instant::now();
            if self.pacer.due(now) {
                self.pacer.drawn(now);
                self.frames.push(now);
            }
        }

        /// Whether `gap` is `expected`, to the timer's millisecond.
        fn about(gap: Duration, expected: Duration) -> bool {
            gap >= expected && gap < expected + Duration::from_millis(1)
        }

        /// Waits for the wanted frame (at most `limit`) and draws it.
        async fn settle(&mut self, limit: Duration) {
            let _ = tokio::time::timeout(limit, self.pacer.wait()).await;
            self.tick();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn many_requests_make_one_frame() {
        let mut spy = Spy::new();
        spy.tick();
        assert_eq!(spy.frames.len(), 1, "the first frame is drawn at once");
        for _ in 0..1000 {
            spy.pacer.request();
            spy.tick();
        }
        spy.settle(Duration::from_secs(1)).await;
        spy.settle(Duration::from_secs(1)).await;
        assert_eq!(spy.frames.len(), 2, "a thousand requests, one frame");
        let gap = spy.frames[1] - spy.frames[0];
        assert!(
            Spy::about(gap, FRAME),
            "the next frame's time, not later: {gap:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_stream_is_held_to_sixty_frames_a_second() {
        let mut spy = Spy::new();
        let start = Instant::now();
        // A request every millisecond for a second, keys among them.
        while Instant::now() - start < Duration::from_secs(1) {
            let ms = (Instant::now() - start).as_millis();
            if ms.is_multiple_of(50) {
                spy.pacer.request_now();
            } else {
                spy.pacer.request();
            }
            spy.tick();
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        let frames = spy.frames.len();
        assert!((55..=61).contains(&frames), "{frames} frames in a second");
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_gets_its_frame_at_once() {
        let mut spy = Spy::new();
        spy.tick();
        tokio::time::advance(Duration::from_millis(3)).await;
        spy.pacer.request_now();
        let pressed = Instant::now();
        spy.tick();
        assert_eq!(spy.frames.len(), 2);
        assert_eq!(spy.frames[1], pressed, "no wait for the next frame's time");
        // The frame after it waits the longer, so the pace holds.
        spy.pacer.request();
        spy.settle(Duration::from_secs(1)).await;
        let gap = spy.frames[2] - spy.frames[0];
        assert!(Spy::about(gap, FRAME * 2), "{gap:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_frames_while_idle() {
        let mut spy = Spy::new();
        spy.tick();
        assert_eq!(spy.pacer.deadline(), None);
        let waited = tokio::time::timeout(Duration::from_secs(60), spy.pacer.wait()).await;
        assert!(waited.is_err(), "nothing wanted: the wait never ends");
        spy.tick();
        assert_eq!(spy.frames.len(), 1, "an idle minute draws nothing");
    }
}
