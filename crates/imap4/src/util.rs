//! imaplib utility functions (being written).
/// imaplib's Int2AP (temporary).
pub fn int2ap(num: u64) -> Vec<u8> {
    let mut v = Vec::new();
    let mut n = num;
    while n > 0 {
        v.insert(0, b"ABCDEFGHIJKLMNOP"[(n % 16) as usize]);
        n /= 16;
    }
    v
}
