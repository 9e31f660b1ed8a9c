"""The Realtime protocol: events, the conversation state machine, the connection."""
