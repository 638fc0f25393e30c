//! NumPy broadcasting of shapes and index mapping, as OpenVINO's `AutoBroadcastType::NUMPY`
//! (and the FakeQuantize reference, which always broadcasts numpy-style: SPEC §1.2).

/// The broadcast of two shapes under numpy rules (right-aligned; each pair equal or one of them 1),
/// or `None` when they are incompatible.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Maps flat indices of an output of shape `out` to flat indices of an input of shape `inp`
/// that numpy-broadcasts to `out` (`inp` right-aligned; size-1 axes repeat).
#[derive(Debug, Clone)]
pub struct BroadcastIndex {
    out_shape: Vec<usize>,
    /// Input stride per output axis (0 where the input is broadcast).
    in_strides: Vec<usize>,
}

impl BroadcastIndex {
    /// Prepares the mapping; `None` if `inp` does not broadcast to `out`.
    pub fn new(inp: &[usize], out: &[usize]) -> Option<Self> {
        if inp.len() > out.len() {
            return None;
        }
        let off = out.len() - inp.len();
        let is = strides(inp);
        let mut in_strides = vec![0; out.len()];
        for (k, &d) in inp.iter().enumerate() {
            let o = out[off + k];
            if d == o {
                in_strides[off + k] = if d == 1 { 0 } else { is[k] };
            } else if d == 1 {
                in_strides[off + k] = 0;
            } else {
                return None;
            }
        }
        Some(BroadcastIndex { out_shape: out.to_vec(), in_strides })
    }

    /// The input flat index for output flat index `flat`.
    pub fn map(&self, mut flat: usize) -> usize {
        let mut idx = 0;
        for ax in (0..self.out_shape.len()).rev() {
            let d = self.out_shape[ax];
            if d == 0 {
                return 0;
            }
            idx += (flat % d) * self.in_strides[ax];
            flat /= d;
        }
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_rules() {
        assert_eq!(broadcast_shapes(&[2, 3, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shapes(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_shapes(&[2, 3], &[4]), None);
    }

    #[test]
    fn index_mapping_repeats_size_one_axes() {
        // input [3,1] broadcast to [2,3,4]: element (i,j,k) reads input (j,0).
        let b = BroadcastIndex::new(&[3, 1], &[2, 3, 4]).expect("compatible");
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(b.map(i * 12 + j * 4 + k), j);
                }
            }
        }
        assert!(BroadcastIndex::new(&[2], &[3]).is_none());
    }
}
