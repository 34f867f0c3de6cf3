//! At most a few records a minute of one kind (the same program, server and
//! cause): a program that retries a failing connection in a loop must not
//! flood the journal. Pure; the shim's logger keeps one limiter per process
//! and passes it the time.
//!
//! Each kind has its own window, which starts with the kind's first record
//! and lasts [`WINDOW_SECS`]: the first `limit` records of a window pass,
//! the others are counted. The count is told once, when the window is over:
//! before the first record of the kind after it ([`Verdict::Pass`] carries
//! it), or when the process exits ([`RateLimiter::drain`]).
//!
//! Only per process: see docs/ARCHITECTURE.md ("From a hooked call to a log
//! line", *Why only per process*) for why not across processes.

/// The length of a window.
pub const WINDOW_SECS: u64 = 60;
/// How many kinds are remembered; the oldest is forgotten beyond this.
pub const KINDS_LIMIT: usize = 64;

/// Records of a kind that were not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed<T> {
    /// What the kind's first record said (the caller's summary of it).
    pub about: T,
    pub count: u64,
    /// When the first of them came (seconds, the caller's clock).
    pub since: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<T> {
    /// Write the record; first, if a window just ended with records
    /// suppressed, say so.
    Pass(Option<Suppressed<T>>),
    /// Do not write it; it is counted.
    Suppress,
}

struct Kind<T> {
    key: String,
    about: T,
    window_start: u64,
    passed: u32,
    suppressed: u64,
    first_suppressed: u64,
}

pub struct RateLimiter<T> {
    /// Records a kind may write per window; 0: no limit.
    limit: u32,
    kinds: Vec<Kind<T>>,
}

impl<T: Clone> RateLimiter<T> {
    pub const fn new(limit: u32) -> RateLimiter<T> {
        RateLimiter {
            limit,
            kinds: Vec::new(),
        }
    }

    pub fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
    }

    /// Decides on a record of kind `key` at `now` (seconds); `about` is
    /// kept with a new kind, to say what was suppressed.
    pub fn admit(&mut self, key: &str, about: impl FnOnce() -> T, now: u64) -> Verdict<T> {
        if self.limit == 0 {
            return Verdict::Pass(None);
        }
        let Some(i) = self.kinds.iter().position(|k| k.key == key) else {
            if self.kinds.len() >= KINDS_LIMIT {
                // The kind whose window started first goes (its count is lost).
                if let Some(oldest) = (0..self.kinds.len()).min_by_key(|&i| self.kinds[i].window_start) {
                    self.kinds.swap_remove(oldest);
                }
            }
            self.kinds.push(Kind {
                key: key.to_string(),
                about: about(),
                window_start: now,
                passed: 1,
                suppressed: 0,
                first_suppressed: 0,
            });
            return Verdict::Pass(None);
        };
        let kind = &mut self.kinds[i];
        if now.saturating_sub(kind.window_start) >= WINDOW_SECS || now < kind.window_start {
            let told = (kind.suppressed > 0).then(|| Suppressed {
                about: kind.about.clone(),
                count: kind.suppressed,
                since: kind.first_suppressed,
            });
            kind.window_start = now;
            kind.passed = 1;
            kind.suppressed = 0;
            return Verdict::Pass(told);
        }
        if kind.passed < self.limit {
            kind.passed += 1;
            return Verdict::Pass(None);
        }
        if kind.suppressed == 0 {
            kind.first_suppressed = now;
        }
        kind.suppressed += 1;
        Verdict::Suppress
    }

    /// Whether some kind has records suppressed and not yet told.
    pub fn has_suppressed(&self) -> bool {
        self.kinds.iter().any(|k| k.suppressed > 0)
    }

    /// The counts not told yet (at exit); they are reset.
    pub fn drain(&mut self) -> Vec<Suppressed<T>> {
        self.kinds
            .iter_mut()
            .filter(|k| k.suppressed > 0)
            .map(|k| {
                let s = Suppressed {
                    about: k.about.clone(),
                    count: k.suppressed,
                    since: k.first_suppressed,
                };
                k.suppressed = 0;
                s
            })
            .collect()
    }

    /// Forgets everything (a forked child starts afresh).
    pub fn clear(&mut self) {
        self.kinds.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(v: Verdict<&'static str>) -> Option<Suppressed<&'static str>> {
        match v {
            Verdict::Pass(told) => told,
            Verdict::Suppress => panic!("suppressed"),
        }
    }

    #[test]
    fn a_few_pass_the_rest_are_counted_and_told_after_the_window() {
        let mut l = RateLimiter::new(3);
        for t in 0..3 {
            assert_eq!(pass(l.admit("a", || "A", 100 + t)), None);
        }
        for t in 3..40 {
            assert_eq!(l.admit("a", || "A", 100 + t), Verdict::Suppress);
        }
        // Another kind has its own window.
        assert_eq!(pass(l.admit("b", || "B", 120)), None);
        assert!(l.has_suppressed());
        assert_eq!(l.admit("a", || "A", 159), Verdict::Suppress);
        let told = pass(l.admit("a", || "A", 160)).expect("the count is told");
        assert_eq!(
            told,
            Suppressed {
                about: "A",
                count: 38,
                since: 103
            }
        );
        assert!(!l.has_suppressed());
        assert_eq!(pass(l.admit("a", || "A", 161)), None);
    }

    #[test]
    fn what_is_left_is_drained_once() {
        let mut l = RateLimiter::new(1);
        pass(l.admit("a", || "A", 0));
        assert_eq!(l.admit("a", || "A", 1), Verdict::Suppress);
        assert_eq!(l.admit("a", || "A", 2), Verdict::Suppress);
        let drained = l.drain();
        assert_eq!(drained.len(), 1);
        assert_eq!((drained[0].count, drained[0].since), (2, 1));
        assert!(l.drain().is_empty());
    }

    #[test]
    fn zero_is_no_limit_and_kinds_are_bounded() {
        let mut l = RateLimiter::new(0);
        for t in 0..1000 {
            assert_eq!(pass(l.admit("a", || "A", t)), None);
        }
        let mut l = RateLimiter::new(1);
        for i in 0..(KINDS_LIMIT as u64 * 3) {
            pass(l.admit(&i.to_string(), || "K", i));
        }
        assert!(l.kinds.len() <= KINDS_LIMIT);
        // A clock that goes back starts a new window rather than suppressing forever.
        pass(l.admit("z", || "Z", 1000));
        assert_eq!(pass(l.admit("z", || "Z", 10)), None);
    }
}
