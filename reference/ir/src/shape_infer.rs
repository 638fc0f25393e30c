//! Static shape inference for the ops of the corpus, following each op's OpenVINO specification
//! (`docs/articles_en/documentation/openvino-ir-format/operation-sets/operation-specs/...`):
//! element-wise ops with numpy broadcasting, Convolution, GroupConvolution,
//! ConvolutionBackpropData, MaxPool/AvgPool, MatMul, Concat, Reshape, Transpose, Gather, Pad,
//! ReduceMean, Squeeze, Slice, VariadicSplit, Interpolate, LSTMSequence, BatchNormInference, ...
//!
//! Shape-like inputs (Reshape's target, Transpose's order, Gather's axis, Pad's pads, ...) must
//! come from Const layers; otherwise, and for ops this module does not know, the output shape is
//! `None` (unknown), never guessed. Inconsistent inputs (shapes that do not broadcast, channel
//! mismatches) are errors that name the layer.

use crate::error::IrError;
use crate::model::{Model, Node};
use crate::shape::Dim;

/// The static shape of every output of every node: `shapes[node][output]`, `None` when unknown
/// (dynamic input, non-constant shape input, or an op this module does not know).
pub type Shapes = Vec<Vec<Option<Vec<usize>>>>;

/// Infers static output shapes in topological order, starting from the Parameters' and Consts'
/// declared shapes.
pub fn infer_shapes(model: &Model) -> Result<Shapes, IrError> {
    let mut shapes: Shapes = model.nodes().iter().map(|n| vec![None; n.outputs.len()]).collect();
    for &i in model.topo_order() {
        let node = model.node(i);
        let inputs: Vec<Option<Vec<usize>>> =
            model.sources_of(i).iter().map(|&(p, o)| shapes[p].get(o).cloned().flatten()).collect();
        let cx = Ctx { model, node, index: i };
        let out = cx.infer(&inputs).map_err(|message| IrError::Layer {
            path: model.source().map(|p| p.to_path_buf()).unwrap_or_default(),
            layer: node.layer_ref(),
            message: format!("shape inference: {message}"),
        })?;
        for (slot, s) in shapes[i].iter_mut().zip(out) {
            *slot = s;
        }
    }
    Ok(shapes)
}

type R<T> = Result<T, String>;

struct Ctx<'a> {
    model: &'a Model,
    node: &'a Node,
    index: usize,
}

/// Normalizes a possibly negative axis against a rank.
fn axis(a: i64, rank: usize) -> R<usize> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if (0..r).contains(&v) {
        Ok(v as usize)
    } else {
        Err(format!("axis {a} is out of range for rank {rank}"))
    }
}

/// Numpy broadcasting of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for k in 0..n {
        let da = if k + a.len() >= n { a[k + a.len() - n] } else { 1 };
        let db = if k + b.len() >= n { b[k + b.len() - n] } else { 1 };
        out[k] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Ceiling division for a positive divisor, in i128 so that no attribute value can overflow it.
fn ceil_div(a: i128, b: i128) -> i128 {
    (a + b - 1).div_euclid(b)
}

impl Ctx<'_> {
    fn attr_list(&self, name: &str) -> R<Vec<i64>> {
        self.node.attr_i64_list(name).map_err(|e| e.to_string())
    }

    fn attr_list_or(&self, name: &str, n: usize, default: i64) -> R<Vec<i64>> {
        match self.node.attr(name) {
            None => Ok(vec![default; n]),
            Some(_) => self.attr_list(name),
        }
    }

    /// The values of input `k` when it comes from a Const.
    fn const_i64(&self, k: usize) -> Option<Vec<i64>> {
        let (p, _) = *self.model.sources_of(self.index).get(k)?;
        if !self.model.node(p).is_const() {
            return None;
        }
        self.model.const_tensor(p).ok().map(|t| t.to_i64_vec())
    }

    fn const_f32(&self, k: usize) -> Option<Vec<f32>> {
        let (p, _) = *self.model.sources_of(self.index).get(k)?;
        if !self.model.node(p).is_const() {
            return None;
        }
        self.model.const_tensor(p).ok().map(|t| t.to_f32_vec())
    }

    fn declared(&self, output: usize) -> Option<Vec<usize>> {
        self.node.outputs.get(output).and_then(|p| p.shape.to_static())
    }

    fn infer(&self, ins: &[Option<Vec<usize>>]) -> R<Vec<Option<Vec<usize>>>> {
        let n_out = self.node.outputs.len();
        let one = |s: Option<Vec<usize>>| Ok(vec![s]);
        match self.node.op_type.as_str() {
            // Sources: their declared shapes define them.
            "Parameter" => {
                let from_attr = self.node.attr("shape").and_then(|s| {
                    if s.trim().is_empty() {
                        return Some(Vec::new());
                    }
                    s.split(',').map(|d| Dim::parse(d).and_then(Dim::as_static).map(|v| v as usize)).collect()
                });
                one(from_attr.or_else(|| self.declared(0)))
            }
            "Const" => one(self.declared(0)),
            "Result" => Ok(Vec::new()),
            _ if ins.iter().any(Option::is_none) => Ok(vec![None; n_out]),
            _ => {
                let ins: Vec<Vec<usize>> = ins.iter().map(|s| s.clone().unwrap_or_default()).collect();
                self.infer_static(&ins)
            }
        }
    }

    fn infer_static(&self, ins: &[Vec<usize>]) -> R<Vec<Option<Vec<usize>>>> {
        let need = |k: usize| -> R<&Vec<usize>> { ins.get(k).ok_or_else(|| format!("input {k} is missing")) };
        let one = |s: Vec<usize>| Ok(vec![Some(s)]);
        let op = self.node.op_type.as_str();
        match op {
            "ReLU" | "Sigmoid" | "Sqrt" | "HSwish" | "Clamp" | "Convert" | "SoftMax" | "Swish" | "HardSigmoid"
            | "Abs" | "Exp" | "Log" | "Tanh" | "Elu" | "Gelu" | "Floor" | "Ceiling" | "Negative" | "Erf" | "Mish"
            | "SoftPlus" | "LogSoftmax" | "PRelu" | "MVN" | "NormalizeL2" => one(need(0)?.clone()),
            "Add" | "Subtract" | "Multiply" | "Divide" | "Maximum" | "Minimum" | "Power" | "SquaredDifference"
            | "Equal" | "Less" | "Greater" | "LessEqual" | "GreaterEqual" | "NotEqual" | "FloorMod" | "Mod"
            | "LogicalAnd" | "LogicalOr" => {
                let (a, b) = (need(0)?, need(1)?);
                if self.node.attr("auto_broadcast").is_some_and(|v| v.trim() == "none") {
                    return if a == b { one(a.clone()) } else { Err(format!("shapes {a:?} and {b:?} differ")) };
                }
                broadcast(a, b).map(|s| vec![Some(s)]).ok_or_else(|| format!("shapes {a:?} and {b:?} do not broadcast"))
            }
            "FakeQuantize" | "Select" => {
                let mut s = need(0)?.clone();
                for r in &ins[1..] {
                    s = broadcast(&s, r).ok_or_else(|| format!("input shapes {ins:?} do not broadcast"))?;
                }
                one(s)
            }
            "BatchNormInference" => {
                // opset1 takes (gamma, beta, data, mean, variance); opset5 takes data first.
                let data = if self.node.version == "opset1" { 2 } else { 0 };
                one(need(data)?.clone())
            }
            "Convolution" | "GroupConvolution" => {
                self.convolution(need(0)?, need(1)?, op == "GroupConvolution").map(|s| vec![Some(s)])
            }
            "ConvolutionBackpropData" => self.deconvolution(ins).map(|s| vec![s]),
            "MaxPool" | "AvgPool" => {
                let s = self.pooling(need(0)?)?;
                Ok(vec![Some(s); self.node.outputs.len().max(1)])
            }
            "MatMul" => self.matmul(need(0)?, need(1)?).map(|s| vec![Some(s)]),
            "Concat" => {
                let first = need(0)?;
                let ax = axis(self.node.attr_i64("axis").map_err(|e| e.to_string())?, first.len())?;
                let mut out = first.clone();
                out[ax] = 0;
                for s in ins {
                    if s.len() != first.len() || s.iter().zip(first).enumerate().any(|(k, (a, b))| k != ax && a != b) {
                        return Err(format!("input shapes {ins:?} do not concatenate on axis {ax}"));
                    }
                    out[ax] = out[ax].checked_add(s[ax]).ok_or("the concatenated dimension overflows")?;
                }
                one(out)
            }
            "Reshape" => match self.const_i64(1) {
                Some(t) => self.reshape(need(0)?, &t).map(|s| vec![Some(s)]),
                None => Ok(vec![None]),
            },
            "Transpose" => match self.const_i64(1) {
                Some(p) => {
                    let s = need(0)?;
                    let perm: Vec<usize> = if p.is_empty() {
                        (0..s.len()).rev().collect()
                    } else {
                        p.iter().map(|&a| axis(a, s.len())).collect::<R<_>>()?
                    };
                    if perm.len() != s.len() {
                        return Err(format!("order {p:?} does not match rank {}", s.len()));
                    }
                    one(perm.iter().map(|&a| s[a]).collect())
                }
                None => Ok(vec![None]),
            },
            "Gather" => match (self.const_i64(2), ins.get(1)) {
                (Some(ax), Some(idx)) => {
                    let data = need(0)?;
                    let ax = axis(*ax.first().ok_or("empty axis")?, data.len())?;
                    let bd =
                        self.node.attr_parse_or::<i64>("batch_dims", 0, "an integer").map_err(|e| e.to_string())?;
                    let bd = if bd < 0 { bd + idx.len() as i64 } else { bd } as usize;
                    let mut out = data[..ax].to_vec();
                    out.extend_from_slice(idx.get(bd..).unwrap_or(&[]));
                    out.extend_from_slice(&data[ax + 1..]);
                    one(out)
                }
                _ => Ok(vec![None]),
            },
            "Pad" => match (self.const_i64(1), self.const_i64(2)) {
                (Some(b), Some(e)) => {
                    let s = need(0)?;
                    if b.len() != s.len() || e.len() != s.len() {
                        return Err(format!("pads {b:?} {e:?} do not match rank {}", s.len()));
                    }
                    let out: R<Vec<usize>> = (0..s.len())
                        .map(|k| {
                            let v = s[k] as i128 + i128::from(b[k]) + i128::from(e[k]);
                            usize::try_from(v).map_err(|_| format!("padded dimension {k} is negative"))
                        })
                        .collect();
                    one(out?)
                }
                _ => Ok(vec![None]),
            },
            "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL2" => {
                match self.const_i64(1) {
                    Some(axes) => {
                        let s = need(0)?;
                        let keep = self.node.attr_bool_or("keep_dims", false).map_err(|e| e.to_string())?;
                        let axes: Vec<usize> = axes.iter().map(|&a| axis(a, s.len())).collect::<R<_>>()?;
                        let out = s
                            .iter()
                            .enumerate()
                            .filter_map(|(k, &d)| if axes.contains(&k) { keep.then_some(1) } else { Some(d) })
                            .collect();
                        one(out)
                    }
                    None => Ok(vec![None]),
                }
            }
            "Squeeze" => {
                let s = need(0)?;
                let axes: Vec<usize> = match self.node.inputs.len() {
                    1 => (0..s.len()).filter(|&k| s[k] == 1).collect(),
                    _ => match self.const_i64(1) {
                        Some(a) => a.iter().map(|&x| axis(x, s.len())).collect::<R<_>>()?,
                        None => return Ok(vec![None]),
                    },
                };
                one(s.iter().enumerate().filter(|(k, &d)| !(axes.contains(k) && d == 1)).map(|(_, &d)| d).collect())
            }
            "Unsqueeze" => match self.const_i64(1) {
                Some(a) => {
                    let s = need(0)?;
                    let r = s.len() + a.len();
                    let mut axes: Vec<usize> = a.iter().map(|&x| axis(x, r)).collect::<R<_>>()?;
                    axes.sort_unstable();
                    let mut it = s.iter();
                    one((0..r).map(|k| if axes.contains(&k) { 1 } else { it.next().copied().unwrap_or(1) }).collect())
                }
                None => Ok(vec![None]),
            },
            "Slice" => self.slice(need(0)?),
            "VariadicSplit" => match (self.const_i64(1), self.const_i64(2)) {
                (Some(ax), Some(lens)) => {
                    let s = need(0)?;
                    let ax = axis(*ax.first().ok_or("empty axis")?, s.len())?;
                    let known: i128 = lens.iter().filter(|&&l| l >= 0).map(|&l| i128::from(l)).sum();
                    let rest = s[ax] as i128 - known;
                    if rest < 0 || lens.iter().filter(|&&l| l < 0).count() > 1 {
                        return Err(format!("split lengths {lens:?} do not fit dimension {}", s[ax]));
                    }
                    Ok(lens
                        .iter()
                        .map(|&l| {
                            let mut o = s.clone();
                            o[ax] = if l < 0 { rest as usize } else { l as usize };
                            Some(o)
                        })
                        .collect())
                }
                _ => Ok(vec![None; self.node.outputs.len()]),
            },
            "Interpolate" => self.interpolate(need(0)?),
            "LSTMSequence" => {
                // X [B, T, I], H0 [B, D, H]: Y [B, D, T, H], Ho and Co [B, D, H].
                let (x, h0) = (need(0)?, need(1)?);
                if x.len() != 3 || h0.len() != 3 {
                    return Err(format!("X {x:?} and H0 {h0:?} must be of rank 3"));
                }
                let y = vec![x[0], h0[1], x[1], h0[2]];
                Ok(vec![Some(y), Some(h0.clone()), Some(h0.clone())])
            }
            _ => Ok(vec![None; self.node.outputs.len()]),
        }
    }

    fn convolution(&self, x: &[usize], w: &[usize], group: bool) -> R<Vec<usize>> {
        // Filters: OIHW (Convolution) or GOIHW (GroupConvolution).
        let spatial = x.len().checked_sub(2).ok_or("data rank below 2")?;
        let (out_c, in_c, k) = if group {
            if w.len() != spatial + 3 {
                return Err(format!("filters {w:?} do not match data {x:?}"));
            }
            let mul = |a: usize, b: usize| a.checked_mul(b).ok_or("the channel count overflows");
            (mul(w[0], w[1])?, mul(w[0], w[2])?, &w[3..])
        } else {
            if w.len() != spatial + 2 {
                return Err(format!("filters {w:?} do not match data {x:?}"));
            }
            (w[0], w[1], &w[2..])
        };
        if in_c != x[1] {
            return Err(format!("data has {} channels, filters {w:?} expect {in_c}", x[1]));
        }
        let mut out = vec![x[0], out_c];
        out.extend(self.windows(&x[2..], k, false)?);
        Ok(out)
    }

    /// Output spatial sizes of a sliding window (convolution, pooling).
    fn windows(&self, input: &[usize], k: &[usize], ceil: bool) -> R<Vec<usize>> {
        let n = input.len();
        let s = self.attr_list_or("strides", n, 1)?;
        let d = self.attr_list_or("dilations", n, 1)?;
        let pb = self.attr_list_or("pads_begin", n, 0)?;
        let pe = self.attr_list_or("pads_end", n, 0)?;
        if [s.len(), d.len(), pb.len(), pe.len(), k.len()].iter().any(|&l| l != n) {
            return Err("strides, dilations, pads and kernel must have one value per spatial axis".into());
        }
        let auto_pad = self.node.attr("auto_pad").map(str::trim).unwrap_or("explicit");
        (0..n)
            .map(|a| {
                let (i, st) = (input[a] as i128, i128::from(s[a]));
                if st <= 0 {
                    return Err(format!("stride {st} must be positive"));
                }
                let dk = (k[a] as i128 - 1) * i128::from(d[a]) + 1;
                let v = match auto_pad {
                    "same_upper" | "same_lower" => ceil_div(i, st),
                    "valid" => ceil_div(i - dk + 1, st),
                    _ => {
                        let span = i + i128::from(pb[a]) + i128::from(pe[a]) - dk;
                        if ceil {
                            ceil_div(span, st) + 1
                        } else {
                            span.div_euclid(st) + 1
                        }
                    }
                };
                usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| format!("spatial axis {a} has no output"))
            })
            .collect()
    }

    fn pooling(&self, x: &[usize]) -> R<Vec<usize>> {
        let k: Vec<usize> = self.node.attr_usize_list("kernel").map_err(|e| e.to_string())?;
        let ceil = matches!(self.node.attr("rounding_type").map(str::trim), Some("ceil") | Some("ceil_torch"));
        let mut out = x.get(..2).ok_or("data rank below 2")?.to_vec();
        out.extend(self.windows(&x[2..], &k, ceil)?);
        Ok(out)
    }

    fn deconvolution(&self, ins: &[Vec<usize>]) -> R<Option<Vec<usize>>> {
        let (x, w) = (ins.first().ok_or("data missing")?, ins.get(1).ok_or("filters missing")?);
        let n = x.len().checked_sub(2).ok_or("data rank below 2")?;
        if w.len() != n + 2 || w[0] != x[1] {
            return Err(format!("filters {w:?} do not match data {x:?}"));
        }
        let mut out = vec![x[0], w[1]];
        if self.node.inputs.len() > 2 {
            return Ok(self.const_i64(2).map(|sp| {
                out.extend(sp.iter().map(|&v| v.max(0) as usize));
                out
            }));
        }
        let s = self.attr_list_or("strides", n, 1)?;
        let d = self.attr_list_or("dilations", n, 1)?;
        let pb = self.attr_list_or("pads_begin", n, 0)?;
        let pe = self.attr_list_or("pads_end", n, 0)?;
        let op = self.attr_list_or("output_padding", n, 0)?;
        if [s.len(), d.len(), pb.len(), pe.len(), op.len()].iter().any(|&l| l != n) {
            return Err("strides, dilations, pads and output_padding must have one value per spatial axis".into());
        }
        let auto_pad = self.node.attr("auto_pad").map(str::trim).unwrap_or("explicit");
        for a in 0..n {
            let (s, d, op) = (i128::from(s[a]), i128::from(d[a]), i128::from(op[a]));
            let v = if matches!(auto_pad, "same_upper" | "same_lower") {
                x[2 + a] as i128 * s
            } else {
                let (pb, pe) = if auto_pad == "valid" { (0, 0) } else { (i128::from(pb[a]), i128::from(pe[a])) };
                s * (x[2 + a] as i128 - 1) + d * (w[2 + a] as i128 - 1) + 1 - pb - pe + op
            };
            out.push(usize::try_from(v).map_err(|_| format!("spatial axis {a} has negative size"))?);
        }
        Ok(Some(out))
    }

    fn matmul(&self, a: &[usize], b: &[usize]) -> R<Vec<usize>> {
        let ta = self.node.attr_bool_or("transpose_a", false).map_err(|e| e.to_string())?;
        let tb = self.node.attr_bool_or("transpose_b", false).map_err(|e| e.to_string())?;
        if a.is_empty() || b.is_empty() {
            return Err("MatMul operands must not be scalars".into());
        }
        // Rank-1 operands are promoted (a: [1, K], b: [K, 1]) and the added axis removed after.
        let (mut a2, mut b2) = (a.to_vec(), b.to_vec());
        if a.len() == 1 {
            a2 = vec![1, a[0]];
        } else if ta {
            let r = a2.len();
            a2.swap(r - 1, r - 2);
        }
        if b.len() == 1 {
            b2 = vec![b[0], 1];
        } else if tb {
            let r = b2.len();
            b2.swap(r - 1, r - 2);
        }
        if a2.len() < 2 || b2.len() < 2 {
            return Err("MatMul operands must not be scalars".into());
        }
        let (m, ka) = (a2[a2.len() - 2], a2[a2.len() - 1]);
        let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
        if ka != kb {
            return Err(format!("inner dimensions differ: {a:?} x {b:?}"));
        }
        let batch = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])
            .ok_or_else(|| format!("batch dimensions of {a:?} and {b:?} do not broadcast"))?;
        let mut out = batch;
        if a.len() != 1 {
            out.push(m);
        }
        if b.len() != 1 {
            out.push(n);
        }
        Ok(out)
    }

    fn reshape(&self, s: &[usize], target: &[i64]) -> R<Vec<usize>> {
        let special_zero = self.node.attr_bool_or("special_zero", false).map_err(|e| e.to_string())?;
        let total = s.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or("the element count overflows")?;
        let mut out: Vec<Option<usize>> = Vec::with_capacity(target.len());
        for (k, &t) in target.iter().enumerate() {
            out.push(match t {
                -1 => None,
                0 if special_zero => Some(*s.get(k).ok_or_else(|| format!("special zero at {k} beyond rank"))?),
                t if t >= 0 => Some(t as usize),
                t => return Err(format!("target dimension {t} is invalid")),
            });
        }
        let known = out
            .iter()
            .flatten()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or("the target element count overflows")?;
        let unknown = out.iter().filter(|d| d.is_none()).count();
        match unknown {
            0 if known == total => Ok(out.into_iter().flatten().collect()),
            1 if known > 0 && total % known == 0 => Ok(out.into_iter().map(|d| d.unwrap_or(total / known)).collect()),
            _ => Err(format!("cannot reshape {s:?} to {target:?}")),
        }
    }

    fn slice(&self, s: &[usize]) -> R<Vec<Option<Vec<usize>>>> {
        let (Some(start), Some(stop), Some(step)) = (self.const_i64(1), self.const_i64(2), self.const_i64(3)) else {
            return Ok(vec![None]);
        };
        let axes: Vec<usize> = match self.node.inputs.len() {
            5 => match self.const_i64(4) {
                Some(a) => a.iter().map(|&x| axis(x, s.len())).collect::<R<_>>()?,
                None => return Ok(vec![None]),
            },
            _ => (0..start.len()).collect(),
        };
        if start.len() != axes.len() || stop.len() != axes.len() || step.len() != axes.len() {
            return Err("start, stop, step and axes differ in length".into());
        }
        let mut out = s.to_vec();
        for (k, &ax) in axes.iter().enumerate() {
            let dim = *s.get(ax).ok_or("axis beyond rank")? as i128;
            let st = i128::from(step[k]);
            if st == 0 {
                return Err("step 0".into());
            }
            // Numpy slicing: negative indices count from the end, then clamp.
            let norm = |v: i64, lo: i128, hi: i128| {
                let v = i128::from(v);
                (if v < 0 { v + dim } else { v }).clamp(lo, hi)
            };
            let len = if st > 0 {
                let (b, e) = (norm(start[k], 0, dim), norm(stop[k], 0, dim));
                if e > b {
                    ceil_div(e - b, st)
                } else {
                    0
                }
            } else {
                let (b, e) = (norm(start[k], -1, dim - 1), norm(stop[k], -1, dim - 1));
                if b > e {
                    ceil_div(b - e, -st)
                } else {
                    0
                }
            };
            out[ax] = len as usize;
        }
        Ok(vec![Some(out)])
    }

    fn interpolate(&self, x: &[usize]) -> R<Vec<Option<Vec<usize>>>> {
        let mode = self.node.attr("shape_calculation_mode").map(str::trim).unwrap_or("sizes");
        // opset4: (data, sizes, scales[, axes]); opset11: (data, sizes_or_scales[, axes]).
        let (values_input, axes_input) =
            if self.node.version == "opset4" { (if mode == "scales" { 2 } else { 1 }, 3) } else { (1, 2) };
        let axes: Vec<usize> = if self.node.inputs.len() > axes_input {
            match self.const_i64(axes_input) {
                Some(a) => a.iter().map(|&v| axis(v, x.len())).collect::<R<_>>()?,
                None => return Ok(vec![None]),
            }
        } else {
            (0..x.len()).collect()
        };
        let pb = self.attr_list_or("pads_begin", x.len(), 0)?;
        let pe = self.attr_list_or("pads_end", x.len(), 0)?;
        let mut out: Vec<usize> = (0..x.len())
            .map(|k| {
                let v = x[k] as i128
                    + i128::from(pb.get(k).copied().unwrap_or(0))
                    + i128::from(pe.get(k).copied().unwrap_or(0));
                usize::try_from(v.max(0)).unwrap_or(usize::MAX)
            })
            .collect();
        if mode == "scales" {
            let Some(scales) = self.const_f32(values_input) else { return Ok(vec![None]) };
            for (&a, &sc) in axes.iter().zip(&scales) {
                // Interpolate-4/11 specification: floor(padded_len * scale + 1e-5) in f32.
                out[a] = (out[a] as f32 * sc + 1.0e-5).floor().max(0.0) as usize;
            }
        } else {
            let Some(sizes) = self.const_i64(values_input) else { return Ok(vec![None]) };
            for (&a, &sz) in axes.iter().zip(&sizes) {
                out[a] = sz.max(0) as usize;
            }
        }
        Ok(vec![Some(out)])
    }
}

/// Checks the declared port dims against inference and against each other: every static output
/// port must equal its inferred shape, and every static input port must equal its producer's
/// output. OpenVINO's reader re-infers shapes and ignores declared dims, so a mismatch means a
/// corrupt or hand-edited IR; the error names the layer and both shapes.
pub fn check_declared_shapes(model: &Model, shapes: &Shapes) -> Result<(), IrError> {
    let err = |node: &Node, message: String| IrError::Layer {
        path: model.source().map(|p| p.to_path_buf()).unwrap_or_default(),
        layer: node.layer_ref(),
        message,
    };
    for (i, node) in model.nodes().iter().enumerate() {
        for (o, port) in node.outputs.iter().enumerate() {
            if let (Some(declared), Some(Some(inferred))) =
                (port.shape.to_static(), shapes.get(i).and_then(|s| s.get(o)))
            {
                if &declared != inferred {
                    return Err(err(
                        node,
                        format!(
                            "output port {} declares {} but shape inference gives {:?}",
                            port.id, port.shape, inferred
                        ),
                    ));
                }
            }
        }
        for (k, port) in node.inputs.iter().enumerate() {
            let (p, o) = model.source_of(i, k);
            let src = &model.node(p).outputs[o].shape;
            if let (Some(a), Some(b)) = (port.shape.to_static(), src.to_static()) {
                if a != b {
                    return Err(err(
                        node,
                        format!(
                            "input port {} declares {} but its producer (layer {}) gives {}",
                            port.id,
                            port.shape,
                            model.node(p).id,
                            src
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}
