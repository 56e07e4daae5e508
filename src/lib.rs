//! dscsa-exchange server library.
