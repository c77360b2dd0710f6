"""The worker process: protocol, server, engines (flow, vivid) and the trainer."""
