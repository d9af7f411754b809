//! The published test vectors, from the repository's own copy (`vectors/`), so that a clone alone
//! passes every test; a test keeps the copy identical to `../shared/vectors/` when that is present.

use serde_json::Value;

pub fn signatures() -> Value {
    serde_json::from_str(include_str!("../../vectors/signatures.json")).expect("vectors parse")
}

#[test]
fn the_copy_matches_the_published_vectors_when_they_are_beside_the_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let published = root.join("../shared/vectors");
    let Ok(entries) = std::fs::read_dir(&published) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let ours = std::fs::read(root.join("vectors").join(&name)).unwrap_or_else(|_| {
            panic!("vectors/{name:?} is missing: copy it from ../shared/vectors")
        });
        assert_eq!(
            ours,
            std::fs::read(&path).unwrap(),
            "vectors/{name:?} differs from ../shared/vectors: copy it again"
        );
    }
}
