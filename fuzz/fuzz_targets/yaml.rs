//! Arbitrary text through `kompile::yaml::parse`; every document that parses is converted
//! to JSON, then to kompile's own value type, and written back out with
//! `kompile::yaml::to_yaml`. Must not panic. The text is also read cut in two at every entry
//! of a top-level `services:` mapping, as large files are: each cut must be refused or read
//! the same tree.
#![no_main]

use kompile::compose::config::to_json;
use kompile::value::Value;
use kompile::yaml::{every_cut_agrees, parse, to_yaml, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    every_cut_agrees(text, "services");
    let Ok(docs) = parse(text, 0, Limits::default()) else {
        return;
    };
    for doc in &docs {
        let json = to_json(doc);
        let value = Value::from_serialize(&json).expect("JSON values have string keys");
        let _ = to_yaml(&value, 2);
    }
});
