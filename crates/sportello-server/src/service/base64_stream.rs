//! Base64 of a byte stream, produced as the bytes arrive, so a large file can travel inside a
//! JSON string (the commercial API's `GET /documento`) without ever being whole in memory.
//!
//! Base64 turns every 3 bytes into 4 characters; encoding each incoming chunk on its own would
//! put padding in the middle whenever a chunk's length is not a multiple of 3. So each chunk is
//! encoded up to its last multiple of 3 and the 0–2 bytes left over are carried into the next:
//! the pieces concatenate to exactly the base64 of the whole.

use base64::Engine;
use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use sportello_store::StoreError;

/// The length of the base64 (padded) of `bytes` bytes.
pub fn encoded_len(bytes: u64) -> u64 {
    bytes.div_ceil(3) * 4
}

/// The base64 of `plain`'s bytes, piece by piece. `expected` is how many bytes `plain` must
/// yield: a shorter or longer stream ends with an error instead of a well-formed but wrong
/// answer (the caller announced a `Content-Length` from it).
pub fn encode(
    plain: BoxStream<'static, Result<Bytes, StoreError>>,
    expected: u64,
) -> impl Stream<Item = Result<Bytes, StoreError>> + Send + 'static {
    struct State {
        plain: BoxStream<'static, Result<Bytes, StoreError>>,
        carry: Vec<u8>,
        seen: u64,
        done: bool,
    }
    let state = State {
        plain,
        carry: Vec::with_capacity(2),
        seen: 0,
        done: false,
    };
    futures::stream::unfold(state, move |mut s| async move {
        let engine = base64::engine::general_purpose::STANDARD;
        loop {
            if s.done {
                return None;
            }
            match s.plain.next().await {
                Some(Ok(chunk)) => {
                    s.seen += chunk.len() as u64;
                    let mut joined = std::mem::take(&mut s.carry);
                    joined.extend_from_slice(&chunk);
                    let whole = joined.len() - joined.len() % 3;
                    s.carry = joined.split_off(whole);
                    if whole == 0 {
                        continue;
                    }
                    return Some((Ok(Bytes::from(engine.encode(&joined))), s));
                }
                Some(Err(e)) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
                None => {
                    s.done = true;
                    if s.seen != expected {
                        return Some((
                            Err(StoreError::Corrupt(format!(
                                "a stored file has {} bytes, its record says {expected}",
                                s.seen
                            ))),
                            s,
                        ));
                    }
                    if s.carry.is_empty() {
                        return None;
                    }
                    let last = Bytes::from(engine.encode(&s.carry));
                    return Some((Ok(last), s));
                }
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(pieces: Vec<Vec<u8>>, expected: u64) -> Result<String, StoreError> {
        let stream = futures::stream::iter(pieces.into_iter().map(|p| Ok(Bytes::from(p)))).boxed();
        futures::executor::block_on(async {
            let mut out = String::new();
            let mut encoded = Box::pin(encode(stream, expected));
            while let Some(piece) = encoded.next().await {
                out.push_str(std::str::from_utf8(&piece?).unwrap());
            }
            Ok(out)
        })
    }

    proptest! {
        #[test]
        fn pieces_of_any_size_make_the_base64_of_the_whole(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(1usize..300, 0..20),
        ) {
            let mut pieces = Vec::new();
            let mut rest = data.as_slice();
            for cut in cuts {
                let n = cut.min(rest.len());
                pieces.push(rest[..n].to_vec());
                rest = &rest[n..];
            }
            pieces.push(rest.to_vec());
            let expected = base64::engine::general_purpose::STANDARD.encode(&data);
            let got = run(pieces, data.len() as u64).unwrap();
            prop_assert_eq!(got.len() as u64, encoded_len(data.len() as u64));
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_stream_of_the_wrong_length_ends_with_an_error() {
        assert!(run(vec![b"abcd".to_vec()], 5).is_err());
        assert!(run(vec![b"abcd".to_vec()], 3).is_err());
        assert_eq!(run(vec![b"abcd".to_vec()], 4).unwrap(), "YWJjZA==");
    }
}
