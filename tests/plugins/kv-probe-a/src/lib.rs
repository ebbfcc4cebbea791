//! Test fixture: proves key-value isolation. Tags each appeal with what it read under the key
//! `probe` in its own namespace; the `-a` build also writes the appeal text there.

/// The probe itself.
pub mod probe;
