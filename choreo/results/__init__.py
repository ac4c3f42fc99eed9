"""Run records and summaries: what a run did, kept in the store so it survives restarts."""
