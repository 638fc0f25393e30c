//! The arithmetic of the three weight forms, in f32 exactly as OpenVINO evaluates it.
//!
//! * **Expanded:** `FQ(w, il, ih, ol, oh)` — [`crate::fq::fake_quantize_scalar`] (SPEC §1.2).
//! * **compressed-fq:** `FQ(f32(q), n, n+L−1, ol, oh)` with the integer grid `[n, n+L−1]`.
//! * **compressed-dq:** `(f32(q) − zp)·scale`, or `f32(q)·scale` without a zero point; one f32
//!   rounding per op (OpenVINO's Subtract and Multiply references).
//!
//! Scale and zero point follow `CompressWeightsWithFakeQuantize`
//! (`src/common/offline_transformations/src/compress_quantize_weigths.cpp`, snapshot `08dda206`,
//! `compute_scale_and_zero_point_internal`): `scale = (oh − ol)/(L−1)`,
//! `zp = scale ≠ 0 ? n − ol/scale : 0`, each step an f32 operation.

use crate::broadcast::BroadcastIndex;
use crate::fq::fake_quantize_scalar;
use conform_ir::ElementType;

/// A constant operand: data and its own shape (broadcast numpy-style against the weights).
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    /// The values, row-major.
    pub data: Vec<f32>,
    /// The shape.
    pub shape: Vec<usize>,
}

impl Operand {
    /// A scalar.
    pub fn scalar(v: f32) -> Operand {
        Operand { data: vec![v], shape: Vec::new() }
    }

    /// The index map from the weights' flat index to this operand's, or `None` when the operand
    /// does not broadcast to `data_shape`.
    pub fn index(&self, data_shape: &[usize]) -> Option<BroadcastIndex> {
        BroadcastIndex::new(&self.shape, data_shape)
    }

    /// The value used at flat weight index `i` through `map`.
    pub fn at(&self, map: &BroadcastIndex, i: usize) -> f32 {
        // The map was built from this operand's shape, so the index is in range.
        self.data.get(map.map(i)).copied().unwrap_or(f32::NAN)
    }
}

/// The integer grid of a compressed tensor: levels `L` stored as `n ..= n+L−1` in `element_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// FakeQuantize levels.
    pub levels: u64,
    /// The integer stored for level 0.
    pub low: i64,
    /// The storage type (i8, u8, i4, u4).
    pub element_type: ElementType,
}

impl Grid {
    /// The integer stored for the top level.
    pub fn high(&self) -> i64 {
        self.low + self.levels as i64 - 1
    }
}

/// The representable range of a storage type.
pub fn type_range(et: ElementType) -> Option<(i64, i64)> {
    match et {
        ElementType::I8 => Some((-128, 127)),
        ElementType::U8 => Some((0, 255)),
        ElementType::I4 => Some((-8, 7)),
        ElementType::U4 => Some((0, 15)),
        _ => None,
    }
}

/// `−(L/2)` with integer division: the signed grid's low end (OpenVINO and Model Optimizer
/// 2021.3+ alike: 256 → −128, 255 → −127, 16 → −8).
pub fn signed_low(levels: u64) -> i64 {
    -((levels / 2) as i64)
}

/// OpenVINO's scale and zero point for one pair `(ol, oh)` (f32 steps).
pub fn scale_zero_point(ol: f32, oh: f32, levels: u64, new_low: i64) -> (f32, f32) {
    let input_range = (levels - 1) as f32;
    let output_range = oh - ol;
    let scale = output_range / input_range;
    let zp = if scale != 0.0 { new_low as f32 - ol / scale } else { 0.0 };
    (scale, zp)
}

/// Scale and zero point tensors over the broadcast of the ol and oh shapes, and whether every
/// zero point is below `FLT_EPSILON` in magnitude (then OpenVINO drops the Subtract).
pub fn scale_zero_point_tensors(
    ol: &Operand,
    oh: &Operand,
    levels: u64,
    new_low: i64,
) -> Option<(Operand, Operand, bool)> {
    let shape = crate::broadcast::broadcast_shapes(&ol.shape, &oh.shape)?;
    let n = conform_ir::element_count(&shape)?;
    let (bl, bh) = (ol.index(&shape)?, oh.index(&shape)?);
    let mut scale = Vec::with_capacity(n);
    let mut zp = Vec::with_capacity(n);
    let mut zero = true;
    for i in 0..n {
        let (s, z) = scale_zero_point(ol.at(&bl, i), oh.at(&bh, i), levels, new_low);
        zero &= z.abs() < f32::EPSILON;
        scale.push(s);
        zp.push(z);
    }
    Some((Operand { data: scale, shape: shape.clone() }, Operand { data: zp, shape }, zero))
}

/// The integer OpenVINO stores for weight `w`: `nearbyint(quantize(w, il, ih, n, n+L−1, L−1))`.
/// `None` for NaN or a result outside the grid (an inverted input range can give one).
pub fn quantize_weight(w: f32, il: f32, ih: f32, grid: &Grid) -> Option<i64> {
    let y = fake_quantize_scalar(w, il, ih, grid.low as f32, grid.high() as f32, grid.levels).round_ties_even();
    if !y.is_finite() {
        return None;
    }
    let q = y as i64;
    (grid.low..=grid.high()).contains(&q).then_some(q)
}

/// OpenVINO's zero-point fusion test for one element: `q − zp` must convert to the storage type
/// and back within 1e-4 (`compress_quantized_weights_internal`). For i4, OpenVINO works on the
/// low nibble (`convert_to_int4` masks with `0x0f`): it tests `(q & 0xf) − zp`, keeps the nibble,
/// and the i4 Convert sign-extends it. We accept exactly what OpenVINO accepts, except where its
/// nibble arithmetic would store a wrong value (`q − zp` = 8 stored as −8): there we keep the
/// Subtract.
pub fn fused_value(q: i64, zp: f32, et: ElementType) -> Option<i64> {
    if et == ElementType::I4 {
        let v = q.rem_euclid(16) as f32 - zp;
        let r = v.round_ties_even();
        if !(0.0..=15.0).contains(&r) || (r - v).abs() >= 1e-4 {
            return None;
        }
        let c = r as i64;
        let stored = if c >= 8 { c - 16 } else { c };
        let exact = (q as f32 - zp).round_ties_even();
        return (exact == stored as f32).then_some(stored);
    }
    let v = q as f32 - zp;
    let r = v.round_ties_even();
    if !r.is_finite() {
        return None;
    }
    let c = r as i64;
    let (lo, hi) = type_range(et)?;
    ((lo..=hi).contains(&c) && ((c as f32) - v).abs() < 1e-4).then_some(c)
}

/// The compressed-dq value of one element in f32: `(q − zp)·scale`, or `q·scale`.
pub fn dq_value(q: i64, zp: Option<f32>, scale: f32) -> f32 {
    match zp {
        Some(z) => (q as f32 - z) * scale,
        None => q as f32 * scale,
    }
}

/// The unit in the last place of `|x|` as an f32 (the spacing of f32 values at `|x|`); the
/// smallest subnormal for 0 and subnormals.
pub fn ulp_f32(x: f32) -> f64 {
    let a = x.abs();
    if !a.is_finite() {
        return f64::INFINITY;
    }
    let exp = ((a.to_bits() >> 23) & 0xff) as i32;
    if exp == 0 {
        return 2f64.powi(-149);
    }
    2f64.powi(exp - 127 - 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulp_of_one_and_of_zero() {
        assert_eq!(ulp_f32(1.0), 2f64.powi(-23));
        assert_eq!(ulp_f32(1.5), 2f64.powi(-23));
        assert_eq!(ulp_f32(2.0), 2f64.powi(-22));
        assert_eq!(ulp_f32(0.0), 2f64.powi(-149));
    }

    #[test]
    fn signed_low_is_integer_division() {
        assert_eq!(signed_low(256), -128);
        assert_eq!(signed_low(255), -127);
        assert_eq!(signed_low(16), -8);
        assert_eq!(signed_low(3), -1);
    }

    #[test]
    fn fusion_follows_openvinos_nibble_test_for_i4() {
        // A tiny zero point (OpenVINO's own output for levels 16 has 2^-20) fuses away, negative
        // i4 values included: OpenVINO tests (q & 0xf) - zp = 13 - 2^-20 for q = -3.
        assert_eq!(fused_value(-3, 2f32.powi(-20), ElementType::I4), Some(-3));
        assert_eq!(fused_value(3, -1.0, ElementType::I4), Some(4));
        // q = 7, zp = -1: OpenVINO would store nibble 8, i.e. -8; we refuse.
        assert_eq!(fused_value(7, -1.0, ElementType::I4), None);
        // q = -1, zp = -1: (15 + 1) does not fit a nibble, OpenVINO refuses too.
        assert_eq!(fused_value(-1, -1.0, ElementType::I4), None);
    }

    #[test]
    fn fusion_needs_an_integer_in_the_type() {
        assert_eq!(fused_value(127, -1.0, ElementType::I8), None);
        assert_eq!(fused_value(5, -0.5, ElementType::I8), None);
        assert_eq!(fused_value(-5, 2.0, ElementType::I8), Some(-7));
        assert_eq!(fused_value(5, 7.6293945e-6, ElementType::I8), Some(5));
        assert_eq!(fused_value(0, 1.0, ElementType::U8), None);
    }
}
