"""Assessment runs: computing, recording and comparing them; snapshots for the engines."""
