"""The dashboard's web face: the HTTP API, the page, and the Socket.IO events, one module each."""
