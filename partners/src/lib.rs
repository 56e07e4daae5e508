//! Trading-partner identity (issue 3).
