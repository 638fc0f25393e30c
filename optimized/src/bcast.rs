//! Numpy-style broadcasting of a small tensor (a range, scale or zero point) onto a larger shape.

/// Maps flat indices of a `dst` shape to flat indices of a `src` shape broadcast onto it.
#[derive(Debug, Clone)]
pub struct Bcast {
    dst: Vec<usize>,
    strides: Vec<usize>,
}

impl Bcast {
    /// `None` when `src` does not broadcast to `dst` (right-aligned, each dim equal or 1, rank ≤).
    pub fn new(src: &[usize], dst: &[usize]) -> Option<Bcast> {
        if src.len() > dst.len() {
            return None;
        }
        let off = dst.len() - src.len();
        let mut strides = vec![0usize; dst.len()];
        let mut s = 1usize;
        for i in (0..src.len()).rev() {
            let d = src[i];
            if d != 1 && d != dst[off + i] {
                return None;
            }
            strides[off + i] = if d == 1 { 0 } else { s };
            s = s.checked_mul(d)?;
        }
        Some(Bcast { dst: dst.to_vec(), strides })
    }

    /// The source index of destination flat index `i`.
    #[inline]
    pub fn map(&self, mut i: usize) -> usize {
        let mut r = 0;
        for k in (0..self.dst.len()).rev() {
            let d = self.dst[k].max(1);
            r += (i % d) * self.strides[k];
            i /= d;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_and_scalar() {
        let b = Bcast::new(&[3, 1], &[2, 3, 4]).expect("broadcasts");
        // element (1, 2, 3) -> flat 1*12 + 2*4 + 3 = 23 -> src (2, 0) = 2
        assert_eq!(b.map(23), 2);
        let s = Bcast::new(&[], &[2, 3]).expect("scalar");
        assert_eq!(s.map(5), 0);
        assert!(Bcast::new(&[4], &[2, 3]).is_none());
    }
}
