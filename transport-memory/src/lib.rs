//! Placeholder: this adapter is being built (see the issues).
