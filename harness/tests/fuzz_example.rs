//! The kernel author's property test of README.md `## Fuzzing a new kernel`, kept compiling and
//! passing here: the public generators and oracles, on one ISA variant.

use harness::fuzz::oracle::{self, OracleConfig};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn my_kernel_matches_the_reference(spec in harness::gen::case_spec()) {
        let case = harness::gen::build(&spec).map_err(TestCaseError::fail)?;
        let cfg = OracleConfig {
            isas: vec!["scalar".into()], // your variant's name, as `conform isa --json` lists it
            int8_vs_fp32: false,
            determinism_every: 1,
            compression_every: 0,
            case_timeout: None,
            memory: true,
        };
        let out = oracle::run(&case, &cfg, 0);
        prop_assert!(out.confirmed().is_none(), "{}: {:?}", case.descriptor, out.confirmed());
    }
}
