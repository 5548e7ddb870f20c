//! CommitLog (being written by a helper).
