//! What a verification in progress holds back: the hash-directory lookups
//! that missed while a thread is inside `X509_verify_cert`, and the records
//! deferred until its outcome is known.
//!
//! The lookup side (`state`, `hooks`) adds to the innermost frame; the
//! OpenSSL hook (`hooks::openssl`) opens and closes frames and hands the
//! missed lookups to `verification`. Neither side imports the other.

use std::cell::RefCell;

use cafix::config::Level;
use cafix::record::Record;

use crate::logger;

/// What one `X509_verify_cert` in progress has seen.
#[derive(Default)]
pub struct Frame {
    /// Hash-entry lookups (`<dir>/<hash>.0`) that stayed missing.
    pub missed: Vec<String>,
    /// "Not in the system bundle" records, held back until the outcome is
    /// known: OpenSSL looks every issuer up in the store first (trusted
    /// first), so a miss for an intermediate the peer sent is routine; if
    /// the verification fails, the failure's record tells them.
    pub deferred: Vec<Record>,
}

thread_local! {
    /// One frame per `X509_verify_cert` in progress on this thread (a verify
    /// callback may verify again).
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the innermost frame, if a verification is in progress here.
fn with_frame<R>(f: impl FnOnce(&mut Frame) -> R) -> Option<R> {
    FRAMES
        .try_with(|frames| {
            frames
                .try_borrow_mut()
                .ok()
                .and_then(|mut frames| frames.last_mut().map(f))
        })
        .ok()
        .flatten()
}

/// Called by the file hooks' slow path for every `<hash>.0` lookup that
/// stayed missing, whether or not the directory is a trust directory.
pub fn note_missed_lookup(path: &[u8]) {
    with_frame(|frame| {
        let p = String::from_utf8_lossy(path).into_owned();
        if !frame.missed.contains(&p) {
            frame.missed.push(p);
        }
    });
}

/// Holds `record` back until the verification in progress ends; gives it
/// back if there is none.
pub fn defer(record: Record) -> Option<Record> {
    let mut record = Some(record);
    with_frame(|frame| frame.deferred.push(record.take().expect("taken once")));
    record
}

pub fn begin() {
    let _ = FRAMES.try_with(|f| f.borrow_mut().push(Frame::default()));
}

pub fn end() -> Frame {
    FRAMES
        .try_with(|f| f.borrow_mut().pop().unwrap_or_default())
        .unwrap_or_default()
}

/// Emits the held-back records at debug level: the verification did not
/// fail, so the misses were routine.
pub fn release_deferred(deferred: Vec<Record>) {
    for mut record in deferred {
        record.level = Level::Debug;
        logger::emit(&record);
    }
}

/// The lookups the held-back records are about: after a failed
/// verification they are told in its record ("lookups that missed"), not
/// on lines of their own.
pub fn fold_into_failure(deferred: Vec<Record>) -> Vec<String> {
    deferred
        .into_iter()
        .filter_map(|r| r.details.into_iter().find(|(k, _)| *k == "_path").map(|(_, v)| v))
        .collect()
}
