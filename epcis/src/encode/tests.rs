//! Unit tests of the encoders.
