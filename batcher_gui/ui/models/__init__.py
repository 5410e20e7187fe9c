"""Qt table models over the read façade: runs, batches and the prompts table."""
