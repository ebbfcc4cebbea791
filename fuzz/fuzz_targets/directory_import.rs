//! Routing directory import (`PUT /api/directory`): arbitrary JSON is refused with its
//! problems or accepted; an accepted directory survives its own export and re-import unchanged.
#![no_main]

use clienthub::directory::Directory;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(directory) = serde_json::from_slice::<Directory>(data) else { return };
    let Ok(accepted) = directory.validated() else { return };
    let exported = serde_json::to_vec(&accepted).expect("a directory serialises");
    let again: Directory = serde_json::from_slice(&exported).expect("the export parses");
    let again = again.validated().expect("the export is valid");
    assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&accepted).unwrap());
});
