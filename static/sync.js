// Placeholder: the sync page's live progress script.
