//! Finding where a nested object or array ends, 64 bytes at a time.
//!
//! What a response's signature covers is a top-level member's *range*; the top level is parsed
//! by the full grammar in [`super::scan`] (that is where a second `sign` or node could hide), and
//! a nested value only has to be skipped to its end. For that, only strings and brackets
//! matter: a bracket inside a string is text, a quote after an odd run of backslashes is text.
//! For every valid JSON value this finds the end a full parser finds (a property test holds it
//! to `serde_json`'s raw values); a nested value that is not valid JSON then fails its
//! signature, or fails when its model is read, which parses exactly the verified bytes.
//!
//! The work per block has no branch per byte: each byte class becomes a 64-bit mask (SSE2
//! compares on x86, a loop the compiler vectorises elsewhere), a block without brackets and
//! escapes only flips the in-string state by the parity of its quotes, otherwise the string
//! interior is the prefix XOR of the unescaped quotes and only brackets outside strings (a few
//! per block in real answers) are visited one by one, to match each closer with its opener's
//! kind.

/// Why a nested value could not be skipped, and where.
pub(super) struct SkipError {
    pub(super) offset: usize,
    pub(super) what: &'static str,
}

/// Bit `i` set where byte `i` of a 64-byte block is a quote, a backslash, a bracket (opening or
/// closing; which one is read from the byte).
#[derive(Debug, PartialEq, Eq)]
struct Masks {
    quote: u64,
    backslash: u64,
    bracket: u64,
}

impl Masks {
    /// With SSE2 (every x86-64 processor): sixteen bytes compared at once, each comparison's
    /// sixteen results moved into sixteen bits by one instruction. `safe_arch` wraps the
    /// intrinsics in safe functions, so this crate keeps `unsafe_code = "forbid"`.
    #[cfg(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2"))]
    fn of(block: &[u8; 64]) -> Masks {
        use safe_arch::{
            bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
        };
        let splat = |byte: u8| set_splat_i8_m128i(i8::from_ne_bytes([byte]));
        let (quote, backslash, open, close, case) = (splat(b'"'), splat(b'\\'), splat(b'{'), splat(b'}'), splat(0x20));
        let mut masks = Masks { quote: 0, backslash: 0, bracket: 0 };
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            let bytes = load_unaligned_m128i(chunk.try_into().expect("sixteen bytes"));
            // '[' and '{' differ only in bit 5, as do ']' and '}'.
            let folded = bitor_m128i(bytes, case);
            let bits = |matches| u64::from(move_mask_i8_m128i(matches) as u16) << (16 * k);
            masks.quote |= bits(cmp_eq_mask_i8_m128i(bytes, quote));
            masks.backslash |= bits(cmp_eq_mask_i8_m128i(bytes, backslash));
            masks.bracket |= bits(bitor_m128i(cmp_eq_mask_i8_m128i(folded, open), cmp_eq_mask_i8_m128i(folded, close)));
        }
        masks
    }

    #[cfg(not(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2")))]
    fn of(block: &[u8; 64]) -> Masks {
        Masks::portable(block)
    }

    /// Without SSE2: a class byte per input byte (a plain loop the compiler vectorises), each
    /// class that occurs gathered eight bytes into eight bits by one multiplication.
    #[cfg_attr(
        all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2", not(test)),
        allow(dead_code, reason = "the fallback of other processors; the tests hold SSE2 to it")
    )]
    fn portable(block: &[u8; 64]) -> Masks {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const QUOTE: u8 = 1;
        const BACKSLASH: u8 = 2;
        const BRACKET: u8 = 4;
        let mut classes = [0u8; 64];
        for (class, &byte) in classes.iter_mut().zip(block) {
            let folded = byte | 0x20;
            *class = (u8::from(byte == b'"') * QUOTE)
                | (u8::from(byte == b'\\') * BACKSLASH)
                | (u8::from(folded == b'{' || folded == b'}') * BRACKET);
        }
        let present = classes.iter().fold(0u8, |seen, &class| seen | class);
        let gather = |class: u8| {
            if present & class == 0 {
                return 0;
            }
            let shift = class.trailing_zeros();
            let mut mask = 0u64;
            for (j, word) in classes.chunks_exact(8).enumerate() {
                let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
                mask |= (((word >> shift) & ONES).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * j);
            }
            mask
        };
        Masks { quote: gather(QUOTE), backslash: gather(BACKSLASH), bracket: gather(BRACKET) }
    }
}

/// Bit `i` set where the byte is escaped by the backslash before it. `carry` says the block
/// starts escaped (the previous one ended in an unescaped backslash); it is updated for the
/// next block.
fn escaped(mut backslash: u64, carry: &mut bool) -> u64 {
    let mut escaped = u64::from(*carry);
    backslash &= !escaped;
    *carry = false;
    while backslash != 0 {
        let bit = backslash & backslash.wrapping_neg();
        if bit == 1 << 63 {
            *carry = true;
        } else {
            escaped |= bit << 1;
        }
        // The escaped byte, if a backslash, escapes nothing.
        backslash &= !(bit | (bit << 1));
    }
    escaped
}

/// Bit `i` set from each opening quote up to (not including) its closing quote.
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

/// The end (one past the closing bracket) of the object or array opening at `bytes[start]`,
/// which sits at nesting level `depth` of at most `max_depth`.
pub(super) fn skip(bytes: &[u8], start: usize, depth: usize, max_depth: usize) -> Result<usize, SkipError> {
    // One bit per open bracket, set for '['; `levels` of them are in use.
    let mut kinds: u128 = 0;
    let mut levels = 0usize;
    let mut in_string = false;
    let mut escape_carry = false;
    let mut at = start;
    let mut padded = [b' '; 64];
    while at < bytes.len() {
        let len = (bytes.len() - at).min(64);
        // A whole block is read in place; only the last, short one is copied (padded with
        // spaces, which no mask flags).
        let block: &[u8; 64] = match bytes.get(at..at + 64).and_then(|whole| whole.try_into().ok()) {
            Some(whole) => whole,
            None => {
                padded[..len].copy_from_slice(&bytes[at..at + len]);
                &padded
            }
        };
        let masks = Masks::of(block);
        // Most blocks of an answer are plain text and quotes: no bracket to visit, no escape
        // to follow, so only whether the block ends inside a string matters.
        if !escape_carry && masks.backslash | masks.bracket == 0 {
            in_string ^= masks.quote.count_ones() % 2 == 1;
            at += len;
            continue;
        }
        let quotes = masks.quote & !escaped(masks.backslash, &mut escape_carry);
        let inside = prefix_xor(quotes) ^ if in_string { u64::MAX } else { 0 };
        in_string = inside >> 63 == 1;
        let mut brackets = masks.bracket & !inside;
        while brackets != 0 {
            let i = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            let byte = block[i];
            if byte == b'{' || byte == b'[' {
                if depth + levels > max_depth {
                    return Err(SkipError { offset: at + i, what: "nesting too deep" });
                }
                kinds = (kinds << 1) | u128::from(byte == b'[');
                levels += 1;
            } else {
                if levels == 0 || kinds & 1 != u128::from(byte == b']') {
                    return Err(SkipError { offset: at + i, what: "mismatched bracket" });
                }
                kinds >>= 1;
                levels -= 1;
                if levels == 0 {
                    return Ok(at + i + 1);
                }
            }
        }
        at += len;
    }
    let what = if in_string { "unterminated string" } else { "unterminated object or array" };
    Err(SkipError { offset: bytes.len(), what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_flag_exactly_the_bytes_of_each_class() {
        let mut block = [0u8; 64];
        for start in 0..=255u8 {
            for step in [37u8, 1] {
                for (i, byte) in block.iter_mut().enumerate() {
                    *byte = start.wrapping_add((i as u8).wrapping_mul(step));
                }
                let masks = Masks::of(&block);
                for (i, &byte) in block.iter().enumerate() {
                    let bit = |mask: u64| mask >> i & 1 == 1;
                    assert_eq!(bit(masks.quote), byte == b'"', "{byte:#x} at {i}");
                    assert_eq!(bit(masks.backslash), byte == b'\\', "{byte:#x} at {i}");
                    assert_eq!(bit(masks.bracket), b"{}[]".contains(&byte), "{byte:#x} at {i}");
                }
                // The fallback of processors without SSE2 agrees (on one with SSE2 both run).
                assert_eq!(Masks::portable(&block), masks);
            }
        }
        // A block holding none of the classes, and one holding only quotes.
        assert_eq!(Masks::portable(&[b'a'; 64]), Masks { quote: 0, backslash: 0, bracket: 0 });
        assert_eq!(Masks::of(&[b'"'; 64]), Masks { quote: u64::MAX, backslash: 0, bracket: 0 });
    }

    #[test]
    fn escapes_follow_runs_of_backslashes_across_blocks() {
        // The obvious byte loop over a text of backslashes and letters, against the masks.
        for pattern in 0u32..4096 {
            let text: Vec<u8> = (0..130).map(|i| if pattern >> (i % 12) & 1 == 1 { b'\\' } else { b'a' }).collect();
            let mut expected = vec![false; text.len()];
            let mut i = 0;
            while i < text.len() {
                if text[i] == b'\\' && i + 1 < text.len() {
                    expected[i + 1] = true;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            let mut carry = false;
            for (block_index, chunk) in text.chunks(64).enumerate() {
                let mut block = [b' '; 64];
                block[..chunk.len()].copy_from_slice(chunk);
                let escaped = escaped(Masks::of(&block).backslash, &mut carry);
                for (i, _) in chunk.iter().enumerate() {
                    assert_eq!(escaped >> i & 1 == 1, expected[block_index * 64 + i], "pattern {pattern:#x}, byte {i}");
                }
            }
        }
    }
}
