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
//! The work per block has no branch per byte: each byte class becomes a 64-bit mask (a loop
//! the compiler turns into vector compares), the string interior is the prefix XOR of the
//! unescaped quotes, and only brackets outside strings (a few per block in real answers) are
//! visited one by one, to match each closer with its opener's kind.

/// Why a nested value could not be skipped, and where.
pub(super) struct SkipError {
    pub(super) offset: usize,
    pub(super) what: &'static str,
}

/// Bit `i` set where byte `i` of the block is a quote, a backslash, an opening bracket, a
/// closing bracket.
struct Masks {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
}

fn masks(block: &[u8; 64]) -> Masks {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // One class byte per input byte (a plain loop the compiler turns into vector compares):
    // bit 0 quote, bit 1 backslash, bit 2 opening bracket, bit 3 closing bracket.
    let mut classes = [0u8; 64];
    for (class, &byte) in classes.iter_mut().zip(block) {
        // '[' and '{' differ only in bit 5, as do ']' and '}'.
        let folded = byte | 0x20;
        *class = u8::from(byte == b'"')
            | u8::from(byte == b'\\') << 1
            | u8::from(folded == b'{') << 2
            | u8::from(folded == b'}') << 3;
    }
    // Eight 0/1 bytes gathered into eight bits (bit j from byte j) by one multiplication.
    let gather = |word: u64, class: u32| ((word >> class) & ONES).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let mut masks = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
    for (j, word) in classes.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let shift = 8 * j;
        masks.quote |= gather(word, 0) << shift;
        masks.backslash |= gather(word, 1) << shift;
        masks.open |= gather(word, 2) << shift;
        masks.close |= gather(word, 3) << shift;
    }
    masks
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
    while at < bytes.len() {
        let mut block = [b' '; 64];
        let len = (bytes.len() - at).min(64);
        block[..len].copy_from_slice(&bytes[at..at + len]);
        let masks = masks(&block);
        let quotes = masks.quote & !escaped(masks.backslash, &mut escape_carry);
        let inside = prefix_xor(quotes) ^ if in_string { u64::MAX } else { 0 };
        in_string = inside >> 63 == 1;
        let mut brackets = (masks.open | masks.close) & !inside;
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
            for (i, byte) in block.iter_mut().enumerate() {
                *byte = start.wrapping_add((i as u8).wrapping_mul(37));
            }
            let masks = masks(&block);
            for (i, &byte) in block.iter().enumerate() {
                let bit = |mask: u64| mask >> i & 1 == 1;
                assert_eq!(bit(masks.quote), byte == b'"', "{byte:#x} at {i}");
                assert_eq!(bit(masks.backslash), byte == b'\\', "{byte:#x} at {i}");
                assert_eq!(bit(masks.open), byte == b'{' || byte == b'[', "{byte:#x} at {i}");
                assert_eq!(bit(masks.close), byte == b'}' || byte == b']', "{byte:#x} at {i}");
            }
        }
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
                let escaped = escaped(masks(&block).backslash, &mut carry);
                for (i, _) in chunk.iter().enumerate() {
                    assert_eq!(escaped >> i & 1 == 1, expected[block_index * 64 + i], "pattern {pattern:#x}, byte {i}");
                }
            }
        }
    }
}
