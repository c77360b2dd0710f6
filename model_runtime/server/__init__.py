"""The runtime server: socket, handshake, job queue, dispatch to engines."""
