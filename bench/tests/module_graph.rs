//! Issue 13's rule for the bench crate: no two modules import each other, and no module reaches
//! up into the crate root for shared items (they live in `common`, one level down). Read from
//! the sources' `crate::NAME` paths.

use std::collections::{BTreeMap, BTreeSet};

fn crate_refs(src: &str) -> BTreeSet<String> {
    // doc links are not imports
    let code: String = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        // `crate::{a, b}` would hide names from this check; the crate does not use it
        let rest = &code[i + "crate::".len()..];
        assert!(
            !rest.starts_with('{'),
            "use crate::{{..}} hides the module graph"
        );
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.insert(name);
    }
    out
}

#[test]
fn no_two_bench_modules_import_each_other() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        graph.insert(name, crate_refs(&src));
    }
    for (module, refs) in &graph {
        for r in refs {
            assert!(
                graph.contains_key(r),
                "{module}.rs names crate::{r}, which is not a module (shared items go in common.rs)"
            );
            if r != module {
                assert!(
                    !graph[r].contains(module),
                    "{module}.rs and {r}.rs import each other"
                );
            }
        }
    }
    assert!(
        graph["common"].is_empty(),
        "common.rs imports nothing of the crate"
    );
}
