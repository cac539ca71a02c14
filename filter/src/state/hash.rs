//! Keys for the state maps: SipHash-2-4 under a 128-bit secret.
//!
//! The secret is created with the journal and stored in its header, so the same
//! identity hashes to the same key after a restart, while someone who controls
//! user names in the logs cannot craft colliding keys (which would let one identity
//! hide behind another's history). SipHash is written out here (it is short) to
//! keep the module free of extra dependencies.

use std::hash::{BuildHasher, Hasher};

/// The first parts of the rules' state keys (`rules::discovery::state_key`,
/// `rules::workload::state_key`): the hash state after each is kept, so a key
/// costs two compressions less.
const COMMON_FIRST_PARTS: [&[u8]; 2] = [b"discovery", b"workload"];

/// Hashes the parts of a state key under the per-journal secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHasher {
    k0: u64,
    k1: u64,
    /// The state after absorbing each of [`COMMON_FIRST_PARTS`] (with its length).
    after_first: [SipHash24; 2],
}

impl KeyHasher {
    fn new(k0: u64, k1: u64) -> KeyHasher {
        let after = |part: &[u8]| {
            let mut sip = SipHash24::new(k0, k1);
            sip.write(&(part.len() as u64).to_le_bytes());
            sip.write(part);
            sip
        };
        let [a, b] = COMMON_FIRST_PARTS;
        KeyHasher {
            k0,
            k1,
            after_first: [after(a), after(b)],
        }
    }

    pub fn from_secret(secret: [u8; 16]) -> KeyHasher {
        let (lo, hi) = secret.split_at(8);
        KeyHasher::new(u64::from_le_bytes(to_8(lo)), u64::from_le_bytes(to_8(hi)))
    }

    /// A fresh random secret. std's `RandomState` is seeded from the system's
    /// random source (WASI `random_get`, which std imports anyway), so this adds no
    /// import to the module. Two states give two independent 64-bit outputs.
    pub fn random() -> KeyHasher {
        let draw = |salt: u64| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(salt);
            h.finish()
        };
        KeyHasher::new(draw(0x7670_6e72_6563_6f6e), draw(0x6a6f_7572_6e61_6c31))
    }

    pub fn secret(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let (lo, hi) = out.split_at_mut(8);
        lo.copy_from_slice(&self.k0.to_le_bytes());
        hi.copy_from_slice(&self.k1.to_le_bytes());
        out
    }

    /// [`KeyHasher::key`] of the parts whose length-prefixed concatenation is
    /// `message` (each part's length as eight little-endian bytes, then the part):
    /// one write of contiguous bytes, cheaper than part by part.
    pub fn key_of_message(&self, message: &[u8]) -> u64 {
        let kept = COMMON_FIRST_PARTS
            .iter()
            .zip(&self.after_first)
            .find_map(|(common, sip)| {
                let (len, rest) = message.split_first_chunk::<8>()?;
                let (part, rest) = rest.split_at_checked(common.len())?;
                (u64::from_le_bytes(*len) == common.len() as u64
                    && crate::scan::bytes_eq(part, common))
                .then_some((*sip, rest))
            });
        let (mut sip, rest) = kept.unwrap_or((SipHash24::new(self.k0, self.k1), message));
        sip.write(rest);
        sip.finish()
    }

    /// The key of a tuple of byte strings. Each part is preceded by its length, so
    /// `("ab", "c")` and `("a", "bc")` are different keys.
    pub fn key(&self, parts: &[&[u8]]) -> u64 {
        let kept = parts.split_first().and_then(|(first, rest)| {
            COMMON_FIRST_PARTS
                .iter()
                .zip(&self.after_first)
                .find(|(common, _)| crate::scan::bytes_eq(common, first))
                .map(|(_, sip)| (*sip, rest))
        });
        let (mut sip, rest) = kept.unwrap_or((SipHash24::new(self.k0, self.k1), parts));
        for part in rest {
            sip.write(&(part.len() as u64).to_le_bytes());
            sip.write(part);
        }
        sip.finish()
    }
}

fn to_8(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

/// Streaming SipHash-2-4 (Aumasson and Bernstein, 2012).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipHash24 {
    v: [u64; 4],
    tail: u64,
    tail_len: u32,
    total: u64,
}

impl SipHash24 {
    pub fn new(k0: u64, k1: u64) -> SipHash24 {
        SipHash24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            tail_len: 0,
            total: 0,
        }
    }

    fn round(&mut self) {
        let [v0, v1, v2, v3] = &mut self.v;
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    }

    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }

    /// Absorbs `bytes`. Whole words are taken eight bytes at a time and shifted
    /// past the bytes already waiting in the tail, so a message costs about one
    /// compression per eight bytes rather than a step per byte (state keys are
    /// hashed for every candidate).
    pub fn write(&mut self, bytes: &[u8]) {
        self.total = self.total.wrapping_add(bytes.len() as u64);
        // `tail_len` is below 8 between calls, so the shifts stay below 64.
        let shift = 8 * self.tail_len;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            let m = self.tail | w.checked_shl(shift).unwrap_or(0);
            self.compress(m);
            self.tail = if shift == 0 { 0 } else { w >> (64 - shift) };
        }
        let rest = words.remainder();
        let partial = u64::from_le_bytes(to_8(rest));
        self.tail |= partial.checked_shl(shift).unwrap_or(0);
        let filled = self.tail_len + rest.len() as u32;
        if filled >= 8 {
            let m = self.tail;
            self.compress(m);
            // `shift` is above 0 here: `rest` is shorter than 8.
            self.tail = partial >> (64 - shift);
            self.tail_len = filled - 8;
        } else {
            self.tail_len = filled;
        }
    }

    pub fn finish(mut self) -> u64 {
        let m = self.tail | ((self.total & 0xff) << 56);
        self.compress(m);
        self.v[2] ^= 0xff;
        for _ in 0..4 {
            self.round();
        }
        let [v0, v1, v2, v3] = self.v;
        v0 ^ v1 ^ v2 ^ v3
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn reference_key() -> KeyHasher {
        let mut secret = [0u8; 16];
        for (i, b) in secret.iter_mut().enumerate() {
            *b = i as u8;
        }
        KeyHasher::from_secret(secret)
    }

    fn sip(k: &KeyHasher, msg: &[u8]) -> u64 {
        let mut s = SipHash24::new(k.k0, k.k1);
        s.write(msg);
        s.finish()
    }

    #[test]
    fn matches_the_published_test_vectors() {
        // Key 00..0f; messages 00, 00 01, ... (SipHash paper, appendix A, and the
        // reference implementation's vectors.h).
        let k = reference_key();
        let msg: Vec<u8> = (0u8..64).collect();
        assert_eq!(sip(&k, &msg[..0]), 0x726f_db47_dd0e_0e31);
        assert_eq!(sip(&k, &msg[..1]), 0x74f8_39c5_93dc_67fd);
        assert_eq!(sip(&k, &msg[..15]), 0xa129_ca61_49be_45e5);
    }

    #[test]
    #[allow(deprecated)]
    fn agrees_with_std_siphasher_on_every_length() {
        // std's deprecated `SipHasher` is SipHash-2-4 over the raw bytes written.
        let k = reference_key();
        let msg: Vec<u8> = (0u8..=200).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..msg.len() {
            let part = msg.get(..len).unwrap_or_default();
            let mut std_sip = std::hash::SipHasher::new_with_keys(k.k0, k.k1);
            std_sip.write(part);
            // Also split the input to exercise the streaming buffer.
            let mut ours = SipHash24::new(k.k0, k.k1);
            let (a, b) = part.split_at(len / 3);
            ours.write(a);
            ours.write(b);
            assert_eq!(ours.finish(), std_sip.finish(), "length {len}");
        }
    }

    /// The word-at-a-time absorption gives the byte-at-a-time result wherever the
    /// message is cut: every tail length meets every chunk length.
    #[test]
    #[allow(deprecated)]
    fn any_split_of_the_stream_agrees_with_std() {
        let k = reference_key();
        let msg: Vec<u8> = (0u8..=40).map(|i| i.wrapping_mul(91) ^ 0x5a).collect();
        for a in 0..=msg.len() {
            for b in a..=msg.len() {
                let mut std_sip = std::hash::SipHasher::new_with_keys(k.k0, k.k1);
                std_sip.write(&msg);
                let mut ours = SipHash24::new(k.k0, k.k1);
                ours.write(&msg[..a]);
                ours.write(&msg[a..b]);
                ours.write(&msg[b..]);
                assert_eq!(ours.finish(), std_sip.finish(), "cut at {a} and {b}");
            }
        }
    }

    /// Keys starting with a part whose hash state is kept are the keys hashed from
    /// the start.
    #[test]
    fn kept_first_parts_change_no_key() {
        let k = reference_key();
        let from_start = |parts: &[&[u8]]| {
            let mut sip = SipHash24::new(k.k0, k.k1);
            for part in parts {
                sip.write(&(part.len() as u64).to_le_bytes());
                sip.write(part);
            }
            sip.finish()
        };
        let cases: [&[&[u8]]; 7] = [
            &[
                b"discovery",
                b"111122223333",
                b"alice",
                &9009u32.to_le_bytes(),
            ],
            &[
                b"workload",
                b"arn:aws:sts::1:assumed-role/r/i-0abc",
                &9u32.to_le_bytes(),
                b"ListUsers",
            ],
            &[b"discovery"],
            &[b"workload"],
            &[b"discoverx", b"a"],
            &[b"work", b"load"],
            &[],
        ];
        for parts in cases {
            assert_eq!(k.key(parts), from_start(parts), "{parts:?}");
        }
        for parts in cases {
            let mut message = Vec::new();
            for part in parts {
                message.extend_from_slice(&(part.len() as u64).to_le_bytes());
                message.extend_from_slice(part);
            }
            assert_eq!(k.key_of_message(&message), from_start(parts), "{parts:?}");
        }
        let other = KeyHasher::from_secret([7; 16]);
        assert_ne!(
            other.key(&[b"discovery", b"x"]),
            k.key(&[b"discovery", b"x"])
        );
    }

    #[test]
    fn parts_are_length_prefixed() {
        let k = reference_key();
        assert_ne!(k.key(&[b"ab", b"c"]), k.key(&[b"a", b"bc"]));
        assert_ne!(k.key(&[b"abc"]), k.key(&[b"ab", b"c"]));
        assert_ne!(k.key(&[b"", b"x"]), k.key(&[b"x", b""]));
        assert_eq!(k.key(&[b"a", b"b"]), k.key(&[b"a", b"b"]));
    }

    #[test]
    fn secret_round_trips_and_random_secrets_differ() {
        let k = KeyHasher::random();
        assert_eq!(KeyHasher::from_secret(k.secret()), k);
        let other = KeyHasher::random();
        assert_ne!(k.secret(), other.secret());
        assert_ne!(k.key(&[b"x"]), other.key(&[b"x"]));
    }
}
