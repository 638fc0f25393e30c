//! Documented resource limits of the IR reader.
//!
//! Every number the reader takes from a file is checked against the file's own size or against one
//! of these limits before anything is allocated from it, so a hostile or corrupt IR cannot make the
//! reader exhaust memory or the stack. Exceeding a limit gives [`crate::IrError::Limit`].
//!
//! The defaults are far above what OpenVINO writes for real models (the largest corpus IR has about
//! 1,200 layers, rank 4, attributes under 2 KiB and an element depth of 7) and far below what would
//! hurt the machine.

/// The limits the reader enforces. [`Limits::default`] gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `.xml` accepted, in bytes.
    pub max_xml_bytes: u64,
    /// Deepest element nesting (`<net>` is depth 1; a port's `<dim>` is depth 6).
    pub max_depth: usize,
    /// Longest attribute value or text content, in bytes (after unescaping).
    pub max_attr_len: usize,
    /// Most attributes on one element.
    pub max_attrs_per_element: usize,
    /// Most XML elements in the whole file.
    pub max_elements: usize,
    /// Largest estimated memory of the parsed XML tree, in bytes. The tree costs more than the
    /// text it comes from (about 7 times for a real IR, over 30 times for a file of empty
    /// elements such as `<a/><a/>…`), so the file-size limit alone would let a 1 GiB file take
    /// tens of GiB. The estimate counts each element's struct twice (its slot in the parent's
    /// growing list), each attribute's pair of strings twice, and every name, value and text byte.
    pub max_tree_bytes: u64,
    /// Most `<layer>` elements.
    pub max_layers: usize,
    /// Most ports (inputs plus outputs) on one layer.
    pub max_ports_per_layer: usize,
    /// Largest rank (number of `<dim>`s of a port, or of a Const `shape`).
    pub max_rank: usize,
    /// Largest value of one static dimension.
    pub max_dim: u64,
}

impl Limits {
    /// The documented defaults.
    pub const DEFAULT: Limits = Limits {
        max_xml_bytes: 1 << 30,
        max_depth: 128,
        max_attr_len: 4 << 20,
        max_attrs_per_element: 4096,
        max_elements: 1 << 25,
        max_tree_bytes: 1 << 30,
        max_layers: 1 << 20,
        max_ports_per_layer: 1 << 16,
        max_rank: 64,
        max_dim: 1 << 48,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
