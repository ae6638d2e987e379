"""The operator's features beyond the sweep: search, report and send-bulk."""
