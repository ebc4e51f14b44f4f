//! Uniform vertex draws for the negative samples: Lemire's multiply-shift with rejection,
//! one at a time ([`below`]) or [`DRAW_BATCH`] at a time from the 32-bit halves of the
//! generator's outputs ([`DrawBuffer`]).

use insiders_core::Rng;

/// A uniform integer in `0..n` from `rng` (Lemire's multiply-shift with rejection, the same
/// draws as [`Rng::below`]) with the rejection threshold `(2^64 - n) mod n` precomputed.
#[inline(always)]
pub(super) fn below(rng: &mut Rng, n: usize, threshold: u64) -> usize {
    loop {
        let m = (rng.next_u64() as u128) * (n as u128);
        if (m as u64) >= threshold {
            return (m >> 64) as usize;
        }
    }
}

/// Vertex draws made at once by a [`DrawBuffer`] (one more when the last 64-bit output
/// gives two).
pub(super) const DRAW_BATCH: usize = 64;

/// Uniform vertex indices in `0..n` from an [`Rng`], drawn [`DRAW_BATCH`] at a time: Lemire's
/// multiply-shift with rejection on the 32-bit halves of the generator's 64-bit outputs (low
/// half first: two draws per output) when `n < 2^32`, on whole outputs above. The draws come
/// out in the order in which they are made, so batching does not change them.
pub(super) struct DrawBuffer {
    pub(super) n: u64,
    pub(super) threshold32: u32,
    pub(super) threshold64: u64,
    pub(super) buf: [usize; DRAW_BATCH + 1],
    pub(super) len: usize,
    pub(super) pos: usize,
}

impl DrawBuffer {
    /// Draws in `0..n`, `n >= 1`.
    pub(super) fn new(n: usize) -> Self {
        let n = (n as u64).max(1);
        let threshold32 = if n <= u64::from(u32::MAX) {
            (n as u32).wrapping_neg() % (n as u32)
        } else {
            0
        };
        DrawBuffer {
            n,
            threshold32,
            threshold64: n.wrapping_neg() % n,
            buf: [0; DRAW_BATCH + 1],
            len: 0,
            pos: 0,
        }
    }

    /// Moves the unread draws to the front and draws until at least [`DRAW_BATCH`] are there.
    pub(super) fn refill(&mut self, rng: &mut Rng) {
        self.buf.copy_within(self.pos..self.len, 0);
        let mut len = self.len - self.pos;
        if self.n > u64::from(u32::MAX) {
            while len < DRAW_BATCH {
                let m = u128::from(rng.next_u64()) * u128::from(self.n);
                if (m as u64) >= self.threshold64 {
                    self.buf[len] = (m >> 64) as usize;
                    len += 1;
                }
            }
        } else {
            while len < DRAW_BATCH {
                let w = rng.next_u64();
                for r in [w as u32, (w >> 32) as u32] {
                    let m = u64::from(r) * self.n;
                    if (m as u32) >= self.threshold32 {
                        self.buf[len] = (m >> 32) as usize;
                        len += 1;
                    }
                }
            }
        }
        self.len = len;
        self.pos = 0;
    }

    /// The next `c` draws, `c <= DRAW_BATCH`.
    #[inline(always)]
    pub(super) fn take(&mut self, c: usize, rng: &mut Rng) -> &[usize] {
        if self.pos + c > self.len {
            self.refill(rng);
        }
        let at = self.pos;
        self.pos += c;
        &self.buf[at..at + c]
    }
}
