//! NumPy broadcasting (OpenVINO `AutoBroadcastType::NUMPY`): result shapes, per-input strides over
//! the output, and row-wise traversal so inner loops stay contiguous.

/// Row-major strides of `shape` (elements).
pub(crate) fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1].saturating_mul(shape[i + 1]);
    }
    s
}

/// The numpy broadcast of two shapes (right-aligned; per axis equal, or one of them 1), `None`
/// when incompatible.
pub(crate) fn broadcast_pair(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let pa = rank - a.len();
    let pb = rank - b.len();
    (0..rank)
        .map(|i| {
            let x = if i >= pa { a[i - pa] } else { 1 };
            let y = if i >= pb { b[i - pb] } else { 1 };
            if x == y || y == 1 {
                Some(x)
            } else if x == 1 {
                Some(y)
            } else {
                None
            }
        })
        .collect()
}

/// Strides (elements) of input shape `inp` per axis of output shape `out`, 0 on broadcast axes, or
/// `None` when `inp` does not broadcast to `out` (numpy rules, `inp` right-aligned, rank ≤ out's).
pub(crate) fn strides_into(inp: &[usize], out: &[usize]) -> Option<Vec<usize>> {
    if inp.len() > out.len() {
        return None;
    }
    let off = out.len() - inp.len();
    let own = row_major_strides(inp);
    let mut s = vec![0usize; out.len()];
    for (k, &d) in inp.iter().enumerate() {
        let o = out[off + k];
        if d == o {
            s[off + k] = if d == 1 { 0 } else { own[k] };
        } else if d != 1 {
            return None;
        }
    }
    Some(s)
}

/// Splits `shape` into (number of rows, row length), rows running over every axis but the last.
pub(crate) fn rows_and_inner(shape: &[usize]) -> (usize, usize) {
    match shape.split_last() {
        None => (1, 1),
        Some((&last, outer)) => (outer.iter().product(), last),
    }
}

/// The flat offset, in an input with strides `strides` (one per output axis), of the first element
/// of output row `row` (rows over all output axes but the last).
#[inline]
pub(crate) fn row_offset(out: &[usize], strides: &[usize], mut row: usize) -> usize {
    let mut off = 0;
    if out.len() < 2 {
        return 0;
    }
    for ax in (0..out.len() - 1).rev() {
        let d = out[ax];
        off += (row % d) * strides[ax];
        row /= d;
    }
    off
}

/// The stride of the last output axis in `strides` (0 for rank 0).
#[inline]
pub(crate) fn inner_stride(strides: &[usize]) -> usize {
    strides.last().copied().unwrap_or(0)
}

/// How many rows of `inner` elements a rayon task should take at least, so tiny tensors are not
/// split into thousands of tasks.
#[inline]
pub(crate) fn min_rows(inner: usize) -> usize {
    (16_384 / inner.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_rules_by_hand() {
        assert_eq!(broadcast_pair(&[2, 3, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_pair(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_pair(&[1, 5], &[4, 1]), Some(vec![4, 5]));
        assert_eq!(broadcast_pair(&[2, 3], &[4]), None);
        // [3,1] into [2,3,4]: axis 1 steps by 1 element, axes 0 and 2 repeat.
        assert_eq!(strides_into(&[3, 1], &[2, 3, 4]), Some(vec![0, 1, 0]));
        assert_eq!(strides_into(&[2, 3, 4], &[3, 4]), None);
        assert_eq!(strides_into(&[4], &[3]), None);
        // Row 5 of a [2,3,4] output is (1,2,·): offset 1*0 + 2*1 in the [3,1] input.
        assert_eq!(row_offset(&[2, 3, 4], &[0, 1, 0], 5), 2);
        assert_eq!(rows_and_inner(&[2, 3, 4]), (6, 4));
        assert_eq!(rows_and_inner(&[]), (1, 1));
    }
}
